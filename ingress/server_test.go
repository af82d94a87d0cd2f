package ingress_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// env is an ingress on a real JetStream whose server the test can stop and restart.
type env struct {
	t      *testing.T
	dir    string
	port   int
	broker *broker.Broker
	srv    *httptest.Server
	ing    *ingress.Server
	// customers issues the tokens; token is customer 7's.
	customers *customers
	token     string
}

// testCustomer is the customer the env's token names.
const testCustomer cleeng.ID = "7"

func newEnv(t *testing.T, tweak ...func(*ingress.CheckoutConfig)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	ns, err := broker.StartEmbedded(e.dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	e.port = ns.Addr().(*net.TCPAddr).Port
	b, err := broker.Open(context.Background(), broker.Options{URL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	b.Server = ns // closed with the broker
	e.broker = b
	e.customers = newCustomers(t, testCustomer)
	e.token = e.customers.token(t, testCustomer)
	e.ing = ingress.New(ingress.Config{MaxBodyBytes: 1024, PublishTimeout: time.Second}, b.JS, b.Ready)
	checkout := ingress.CheckoutConfig{Customers: e.customers.verifier}
	for _, f := range tweak {
		f(&checkout)
	}
	e.ing.MountCheckout(checkout)
	e.srv = httptest.NewServer(e.ing.Handler())
	t.Cleanup(func() {
		e.srv.Close()
		e.broker.Close()
	})
	return e
}

// post sends a front-end call as the env's customer.
func (e *env) post(path, body string) *http.Response {
	e.t.Helper()
	resp, err := e.do(http.MethodPost, path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// do sends a front-end call as the env's customer, answered or not.
func (e *env) do(method, path, body string) (*http.Response, error) {
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(frontEnd(req, e.token))
}

// stored is how many messages the inbox holds.
func (e *env) stored() uint64 {
	e.t.Helper()
	return testkit.StreamMsgs(e.t, e.broker.JS, broker.InboxStream)
}

const validPayment = `{"orderId": 42, "paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_4111111111111111"}}`

func TestIngress_HealthAndReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
}

// Not parallel: NATS restarts on the port it had, which a server of a
// parallel test could take in between.
func TestIngress_StoreUnavailableAnswers503ThenRecovers(t *testing.T) {
	e := newEnv(t)
	if got := e.post("/v1/checkout/payments", validPayment).StatusCode; got != http.StatusAccepted {
		t.Fatalf("with NATS up: %d, want 202", got)
	}

	e.broker.Server.Shutdown()
	e.broker.Server.WaitForShutdown()
	if got := e.post("/v1/checkout/payments", `{"orderId": 43, "paymentMethod": {"type": "scheme"}}`).StatusCode; got != http.StatusServiceUnavailable {
		t.Fatalf("with NATS stopped: %d, want 503", got)
	}
	resp, err := http.Get(e.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with NATS stopped: %d, want 503", resp.StatusCode)
	}

	ns, err := broker.StartEmbedded(e.dir, e.port)
	if err != nil {
		t.Fatal(err)
	}
	e.broker.Server = ns
	testkit.Eventually(t, 15*time.Second, "ingress stores again after NATS restarts", func() bool {
		return e.post("/v1/checkout/payments", `{"orderId": 44, "paymentMethod": {"type": "scheme"}}`).StatusCode == http.StatusAccepted
	})
	// 42 and 44 are stored; 43 was refused with 503 (a copy the client
	// buffered may have landed after all: the sender re-sends and the id de-duplicates).
	if got := e.stored(); got < 2 || got > 3 {
		t.Errorf("stored %d messages, want 2 or 3", got)
	}
}

func TestIngress_RejectedRequestsPublishNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, body string
		status     int
	}{
		{"bad JSON", `{"orderId": 42,`, http.StatusBadRequest},
		{"wrong type", `{"orderId": "x", "paymentMethod": {}}`, http.StatusBadRequest},
		{"missing orderId", `{"paymentMethod": {"type": "scheme"}}`, http.StatusBadRequest},
		{"missing paymentMethod", `{"orderId": 42}`, http.StatusBadRequest},
		{"unknown field", `{"orderId": 42, "paymentMethod": {"type":"scheme"}, "cardNumber": "4111"}`, http.StatusBadRequest},
		{"too large", `{"orderId": 42, "paymentMethod": {"type": "scheme", "pad": "` + strings.Repeat("x", 2048) + `"}}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.do(http.MethodPost, "/v1/checkout/payments", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want JSON error", ct)
			}
		})
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("rejected requests stored %d messages, want 0", got)
	}
}

func TestCheckout_InvalidFieldAnswers400NamingIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		path, body, field, msg string
	}{
		{"/v1/checkout/payments", `{"orderId": 0, "paymentMethod": {"type": "scheme"}}`, "orderId", "orderId: required, a positive integer"},
		{"/v1/checkout/payments", `{"orderId": 42, "paymentMethod": []}`, "paymentMethod", "paymentMethod: required, the gateway's payment method object"},
		{"/v1/checkout/payments/details", `{"orderId": -1, "details": {"a": 1}}`, "orderId", "orderId: required, a positive integer"},
		{"/v1/checkout/payments/details", `{"orderId": 42}`, "details", "details: required, the gateway's action result object"},
		{"/v1/payment-details", `{"customerId": 7, "paymentMethod": {"type": "scheme"}}`, "paymentMethodId", "paymentMethodId: required, a positive integer"},
		{"/v1/payment-details", `{"customerId": 7, "paymentMethodId": 1}`, "paymentMethod", "paymentMethod: required, the gateway's payment method object"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.field, func(t *testing.T) {
			resp, err := e.do(http.MethodPost, tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct{ Error, Field string }
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || got.Field != tt.field || got.Error != tt.msg {
				t.Fatalf("%d %+v, want 400 naming %s: %q", resp.StatusCode, got, tt.field, tt.msg)
			}
		})
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("rejected requests stored %d messages, want 0", got)
	}
}

func TestIngress_SameOrderStoredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range 3 {
		if got := e.post("/v1/checkout/payments", validPayment).StatusCode; got != http.StatusAccepted {
			t.Fatalf("status %d, want 202", got)
		}
	}
	if got := e.stored(); got != 1 {
		t.Fatalf("stored %d, want 1", got)
	}
}
