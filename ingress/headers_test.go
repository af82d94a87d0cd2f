package ingress_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/workers"
)

// TestIngress_ClientHeadersNeverBecomeMessageHeaders: a flow re-opens a
// failed operation only for a message marked Connector-Replay, which only
// the dead-letter replay sets. A client sending that header (or any other)
// must not get it onto the stored message, nor its traceparent: a traced
// ingress starts a trace of its own (linked to the caller's) and stores that.
func TestIngress_ClientHeadersNeverBecomeMessageHeaders(t *testing.T) {
	e := newEnv(t)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/checkout/payments", strings.NewReader(validPayment))
	if err != nil {
		t.Fatal(err)
	}
	frontEnd(req, e.token)
	req.Header.Set(workers.HeaderReplay, "dead letter 1 of 2025-01-02T03:04:05Z")
	req.Header.Set(workers.HeaderFlow, "initial-purchase")
	req.Header.Set("Nats-Msg-Id", "chosen-by-the-client")
	const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req.Header.Set("traceparent", traceparent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	inbox, err := e.broker.JS.Stream(t.Context(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := inbox.GetLastMsgForSubject(t.Context(), messages.SubjectCheckoutPayment)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{workers.HeaderReplay, workers.HeaderFlow} {
		if v := m.Header.Get(h); v != "" {
			t.Errorf("stored message carries the client's %s: %q", h, v)
		}
	}
	if m.Header.Get("traceparent") == traceparent {
		t.Error("the client chose the stored message's trace context")
	}
	if id := m.Header.Get("Nats-Msg-Id"); id == "chosen-by-the-client" {
		t.Error("the client chose the message's de-duplication id")
	}
	if m.Header.Get(ingress.HeaderReceived) == "" {
		t.Errorf("stored headers %v: want the receive time", m.Header)
	}
}
