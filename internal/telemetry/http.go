package telemetry

import (
	"net/http"
	"slices"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// Handler traces every request h serves, but those to the untraced paths
// (probes, metrics), as a server span named by the route's pattern
// ("POST /v1/checkout/payments"). The ingress is an edge open to the
// internet: each request starts a trace of its own, and a caller's
// traceparent is kept as a link, not taken as the parent, so no caller
// chooses the connector's trace ids or what it samples.
func Handler(h http.Handler, untraced ...string) http.Handler {
	return otelhttp.NewHandler(h, "ingress",
		otelhttp.WithFilter(func(r *http.Request) bool { return Enabled() && !slices.Contains(untraced, r.URL.Path) }),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
	)
}

// Transport traces each round trip to service (cleeng, adyen, ...) as a
// client span, a child of the span in the request's context (the operation
// that makes the call), and sends the trace context along.
func Transport(service string, next http.RoundTripper) http.RoundTripper {
	return transport{next: next, traced: otelhttp.NewTransport(next,
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return service + " " + r.Method }),
		otelhttp.WithSpanOptions(trace.WithAttributes(AttrPeerService.String(service))),
	)}
}

// transport goes through otelhttp only while tracing is on. Its filter
// would skip the span too, but otelhttp's frame (about 700 bytes) would
// stay on the stack of every call held by a slow gateway.
type transport struct{ next, traced http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !Enabled() {
		return t.next.RoundTrip(r)
	}
	return t.traced.RoundTrip(r)
}
