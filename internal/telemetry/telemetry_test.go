package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cleeng-connector/connector/internal/telemetry"
)

// otelVars are every variable Setup decides on; each test sets its own.
var otelVars = []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}

func withEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, name := range otelVars {
		t.Setenv(name, env[name]) // restored when the test ends
		if env[name] == "" {
			os.Unsetenv(name)
		}
	}
	t.Cleanup(func() { telemetry.Use(nil) })
}

// collector is an OTLP/HTTP receiver: it keeps the bodies posted to /v1/traces.
type collector struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			c.mu.Lock()
			c.bodies = append(c.bodies, body)
			c.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) received() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodies
}

// traced serves one request through Handler, whose handler calls echo
// through Transport and stores a message's headers with Inject: it returns
// the headers echo received and the message's.
func traced(t *testing.T) (outbound http.Header, message nats.Header) {
	t.Helper()
	var got http.Header
	echo := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer echo.Close()
	client := &http.Client{Transport: telemetry.Transport("cleeng", http.DefaultTransport)}
	message = nats.Header{}
	ingress := httptest.NewServer(telemetry.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, echo.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		telemetry.Inject(r.Context(), message)
	})))
	defer ingress.Close()
	resp, err := http.Post(ingress.URL+"/v1/checkout/payments", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return got, message
}

// TestSetup_WithoutOTELVariablesNothingIsTracedOrExported: no endpoint, no
// tracing: the global provider is the no-op one, the wrappers pass through
// (no span, no traceparent sent on or stored), and the collector a
// misconfigured SDK could reach gets nothing.
func TestSetup_WithoutOTELVariablesNothingIsTracedOrExported(t *testing.T) {
	withEnv(t, map[string]string{"OTEL_SERVICE_NAME": "untraced"})
	c := newCollector(t)
	shutdown, err := telemetry.Setup(t.Context(), "connector-test", func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if telemetry.Enabled() {
		t.Fatal("tracing on without an endpoint")
	}
	if _, ok := otel.GetTracerProvider().(noop.TracerProvider); !ok {
		t.Errorf("global tracer provider %T, want the no-op one", otel.GetTracerProvider())
	}
	outbound, message := traced(t)
	if tp := outbound.Get("traceparent"); tp != "" {
		t.Errorf("untraced call sent traceparent %q", tp)
	}
	if len(message) != 0 {
		t.Errorf("untraced request stored headers %v", message)
	}
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(c.received()); n != 0 {
		t.Errorf("%d exports without an endpoint", n)
	}
}

// TestSetup_ExportsTheSpansToTheOTLPEndpoint: with OTEL_EXPORTER_OTLP_ENDPOINT
// set, the spans of a request (server, and the client call inside it, with
// the trace context sent on and stored) reach the collector over OTLP/HTTP
// under OTEL_SERVICE_NAME once shutdown flushes them.
func TestSetup_ExportsTheSpansToTheOTLPEndpoint(t *testing.T) {
	c := newCollector(t)
	withEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.srv.URL, "OTEL_SERVICE_NAME": "connector-under-test"})
	shutdown, err := telemetry.Setup(t.Context(), "connector-test", func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if !telemetry.Enabled() {
		t.Fatal("tracing off with an endpoint")
	}
	outbound, message := traced(t)
	sent, stored := outbound.Get("traceparent"), message.Get("traceparent")
	if sent == "" || stored == "" || sent[:35] != stored[:35] { // version and trace id
		t.Errorf("traceparent sent %q, stored %q: want one trace", sent, stored)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	bodies := c.received()
	if len(bodies) == 0 {
		t.Fatal("nothing exported")
	}
	all := bytes.Join(bodies, nil)
	for _, want := range []string{"connector-under-test", "POST", "cleeng GET"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("export lacks %q", want)
		}
	}
	if telemetry.Enabled() {
		t.Error("tracing still on after shutdown")
	}
}

// TestSetup_RefusesWhatItCannotHonour: a value the SDK would only log and
// replace by its default stops the process with the variable's name.
func TestSetup_RefusesWhatItCannotHonour(t *testing.T) {
	const endpoint = "http://127.0.0.1:4318"
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10%"}, "OTEL_TRACES_SAMPLER_ARG"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SDK_DISABLED": "yes please"}, "OTEL_SDK_DISABLED"},
	} {
		withEnv(t, tc.env)
		_, err := telemetry.Setup(t.Context(), "connector-test", func(error) {})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.env, err, tc.want)
		}
		if telemetry.Enabled() {
			t.Errorf("%v: tracing on after a refusal", tc.env)
		}
	}
}

// TestSetup_OffSwitches: an endpoint alone does not turn tracing on when
// OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none say no.
func TestSetup_OffSwitches(t *testing.T) {
	for _, env := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
	} {
		withEnv(t, env)
		if _, err := telemetry.Setup(t.Context(), "connector-test", func(error) {}); err != nil {
			t.Fatal(err)
		}
		if telemetry.Enabled() {
			t.Errorf("%v: tracing on", env)
		}
	}
}
