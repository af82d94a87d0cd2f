// Package telemetry traces the connector with OpenTelemetry: one trace per
// business operation, from the HTTP request at the ingress, through the
// JetStream message (W3C trace context in its headers), to every call to
// Cleeng and the gateways.
//
// Setup configures it the OpenTelemetry way, from the OTEL_* variables the
// SDK reads itself (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
// OTEL_TRACES_SAMPLER, ...). Without an OTLP endpoint tracing is off: the
// global provider is a no-op one and every wrapper here passes straight
// through, so an untraced connector pays one atomic load per request.
package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cleeng-connector/connector/internal/failure"
)

// Scope names the connector's own spans (the consume and operation spans).
const Scope = "github.com/cleeng-connector/connector"

// The connector's span attributes.
const (
	AttrOperationKey    = attribute.Key("connector.operation.key")
	AttrFlow            = attribute.Key("connector.flow")
	AttrStep            = attribute.Key("connector.step")
	AttrOperationStatus = attribute.Key("connector.operation.status")
	AttrAttempt         = attribute.Key("connector.delivery.attempt")
	AttrOutcome         = attribute.Key("connector.outcome")
	// AttrPeerService names the system a client span calls: cleeng, adyen, cleverbridge.
	AttrPeerService = attribute.Key("peer.service")
)

// propagator is W3C trace context only: baggage from a caller is never
// carried into stored messages or on to Cleeng and the gateways.
var propagator = propagation.TraceContext{}

// enabled is read by every wrapper on every request: off, they pass through.
var enabled atomic.Bool

// Enabled reports whether spans are being recorded.
func Enabled() bool { return enabled.Load() }

// Use makes tp the process's tracer provider and turns the instrumentation
// on; nil turns it off and installs the no-op provider. Setup calls it; a
// test calls it with a provider exporting to memory (sdk/trace/tracetest).
func Use(tp trace.TracerProvider) {
	if tp == nil {
		enabled.Store(false)
		otel.SetTracerProvider(noop.NewTracerProvider())
		return
	}
	otel.SetTracerProvider(tp)
	enabled.Store(true)
}

// The variables Setup decides on; the SDK reads these and the others
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*, OTEL_SPAN_*_LIMIT) itself.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envExporter       = "OTEL_TRACES_EXPORTER"
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envSampler        = "OTEL_TRACES_SAMPLER"
	envSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
)

// Setup turns tracing on when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, unless OTEL_SDK_DISABLED is
// true or OTEL_TRACES_EXPORTER is none: spans are batched and sent over
// OTLP/HTTP, sampled as OTEL_TRACES_SAMPLER says (default: every trace),
// under service (unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name
// one). Otherwise it installs the no-op provider. onError receives what the
// SDK cannot do later (an export that failed). shutdown flushes the spans
// still buffered: call it before the process exits.
func Setup(ctx context.Context, service string, onError func(error)) (shutdown func(context.Context) error, err error) {
	off := func(context.Context) error { return nil }
	on, err := configured()
	if err != nil || !on {
		Use(nil)
		return off, err
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return off, fmt.Errorf("OpenTelemetry exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return off, fmt.Errorf("OpenTelemetry resource (OTEL_RESOURCE_ATTRIBUTES?): %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(onError))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	Use(tp)
	return func(ctx context.Context) error {
		Use(nil)
		return tp.Shutdown(ctx)
	}, nil
}

// configured reads the variables that decide whether tracing is on, and
// refuses values the connector cannot honour with the variable's name
// (the SDK would only log them and carry on with its defaults).
func configured() (bool, error) {
	if disabled, ok := os.LookupEnv(envSDKDisabled); ok && disabled != "" {
		off, err := strconv.ParseBool(disabled)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not true or false", envSDKDisabled, disabled)
		}
		if off {
			return false, nil
		}
	}
	switch exp := os.Getenv(envExporter); exp {
	case "none":
		return false, nil
	case "", "otlp":
	default:
		return false, fmt.Errorf("%s: %q is not supported: the connector exports traces with otlp (or none)", envExporter, exp)
	}
	endpoint := cmp.Or(os.Getenv(envTracesEndpoint), os.Getenv(envEndpoint))
	if endpoint == "" {
		return false, nil
	}
	for _, name := range []string{envTracesEndpoint, envEndpoint} {
		if v := os.Getenv(name); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return false, fmt.Errorf("%s: not an http(s) URL with a host, e.g. http://collector:4318", name)
			}
		}
	}
	for _, name := range []string{envTracesProtocol, envProtocol} {
		if p := os.Getenv(name); p != "" && p != "http/protobuf" {
			return false, fmt.Errorf("%s: %q is not supported: the connector sends OTLP over HTTP (http/protobuf, port 4318)", name, p)
		}
	}
	return true, checkSampler()
}

// checkSampler refuses a sampler the Go SDK does not know, or a ratio that
// is not one, which the SDK would replace by sampling everything.
func checkSampler() error {
	name := strings.ToLower(strings.TrimSpace(os.Getenv(envSampler)))
	switch name {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
		arg := strings.TrimSpace(os.Getenv(envSamplerArg))
		if arg == "" {
			return nil // the SDK's default ratio, 1
		}
		if r, err := strconv.ParseFloat(arg, 64); err != nil || r < 0 || r > 1 {
			return fmt.Errorf("%s: %q is not a ratio between 0 and 1", envSamplerArg, arg)
		}
		return nil
	default:
		return fmt.Errorf("%s: %q is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio", envSampler, name)
	}
}

// noSpan is what the Start functions return while tracing is off: a
// no-op span, never the caller's, so ending it ends nothing.
var noSpan = trace.SpanFromContext(context.Background())

// tracer is the connector's own tracer, looked up per span so a provider
// installed later (or replaced by a test) is the one used.
func tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(Scope) }

// End ends span with err as its status. A "not yet" (the operation waits
// for something) is no failure: the span only records it as an event.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		if failure.Is(err, failure.ClassNotYet) {
			span.AddEvent("not yet", trace.WithAttributes(attribute.String("reason", err.Error())))
		} else {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}
