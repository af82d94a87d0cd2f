package ingress

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// errorCode is the stable code of an error answer, by its status: callers
// branch on it, the message beside it is for people.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "busy"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}

// traceparent is the request's W3C trace context, parsed and written anew
// by OpenTelemetry's propagator (version, ids and flags checked; 55
// characters), or "" when it has none or an invalid one: the W3C rule is to
// ignore a traceparent that does not parse, so a bad header costs the trace,
// never the request, and nothing unchecked is stored.
func traceparent(h http.Header) string {
	tc := propagation.TraceContext{}
	sc := trace.SpanContextFromContext(tc.Extract(context.Background(), propagation.HeaderCarrier(h)))
	if !sc.IsValid() {
		return ""
	}
	out := http.Header{}
	tc.Inject(trace.ContextWithRemoteSpanContext(context.Background(), sc), propagation.HeaderCarrier(out))
	return out.Get(HeaderTraceparent)
}
