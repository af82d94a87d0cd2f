package telemetry

import (
	"context"
	"maps"
	"slices"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Inject writes the trace context of ctx into the headers of a message
// about to be stored (traceparent, and tracestate when there is one).
// Nothing is written when ctx carries no span, as when tracing is off.
func Inject(ctx context.Context, h nats.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, headerCarrier(h))
}

// StartConsume starts the span of one delivery of a stored message to flow:
// a consumer span whose parent is the span that stored it (the ingress
// request), read from the message's headers, so the worker's work joins
// the request's trace across the queue.
func StartConsume(ctx context.Context, flow, subject string, h nats.Header, attempt uint64) (context.Context, trace.Span) {
	if !Enabled() {
		return ctx, noSpan
	}
	ctx = propagator.Extract(ctx, headerCarrier(h))
	return tracer().Start(ctx, "process "+subject, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", subject),
		attribute.String("messaging.consumer.group.name", flow),
		AttrFlow.String(flow),
		AttrAttempt.Int64(int64(attempt)),
	))
}

// Verdict records on a delivery's span what the runtime did with the
// message (acked, retried, dead_lettered, ...) and the handler's error.
func Verdict(span trace.Span, outcome string, err error) {
	if !span.IsRecording() {
		return // tracing off: building the attribute would cost an allocation a message
	}
	span.SetAttributes(AttrOutcome.String(outcome))
	End(span, err)
}

// headerCarrier lets the propagator read and write NATS headers, which,
// unlike HTTP's, are case-sensitive: the W3C keys are kept as written.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }

func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

func (c headerCarrier) Keys() []string { return slices.Collect(maps.Keys(c)) }
