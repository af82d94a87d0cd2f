package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// StartOperation starts the span of one attempt at the business operation
// key of flow, a child of the delivery that runs it; End ends it. The
// steps the attempt records show on it through StepSaved.
func StartOperation(ctx context.Context, flow, key string) (context.Context, trace.Span) {
	if !Enabled() {
		return ctx, noSpan
	}
	return tracer().Start(ctx, "operation "+flow, trace.WithAttributes(AttrOperationKey.String(key), AttrFlow.String(flow)))
}

// StepSaved records on the operation's span the step and status its record
// now holds: the attribute says where the attempt got to, an event per
// save says when.
func StepSaved(ctx context.Context, step, status string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(AttrStep.String(step), AttrOperationStatus.String(status))
	span.AddEvent("step "+step, trace.WithAttributes(AttrOperationStatus.String(status)))
}
