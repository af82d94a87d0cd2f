package ingress_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
)

// lastPayment is the payment command the inbox stored last (no worker
// consumes it here).
func (e *env) lastPayment() (messages.PaymentCommand, http.Header) {
	e.t.Helper()
	inbox, err := e.broker.JS.Stream(context.Background(), broker.InboxStream)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := inbox.GetLastMsgForSubject(context.Background(), messages.SubjectCheckoutPayment)
	if err != nil {
		e.t.Fatal(err)
	}
	var cmd messages.PaymentCommand
	if err := json.Unmarshal(m.Data, &cmd); err != nil {
		e.t.Fatal(err)
	}
	return cmd, http.Header(m.Header)
}

// TestCheckout_RotatedKeyAcceptedOnceTheJWKSIsFetchedAgain: a token signed
// with a key the cached JWKS lacks makes the verifier fetch it again.
func TestCheckout_RotatedKeyAcceptedOnceTheJWKSIsFetchedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.customers.sandbox.RotateSigningKey()
	e.token = e.customers.token(t, testCustomer)
	if got := e.post("/v1/checkout/payments", validPayment).StatusCode; got != http.StatusAccepted {
		t.Fatalf("token of the new key: %d, want 202", got)
	}
	cmd, _ := e.lastPayment()
	if cmd.CustomerID != 7 {
		t.Errorf("stored customer %d, want the token's 7", cmd.CustomerID)
	}
}

// TestCheckout_ShopperIPFromTheConnectionOrATrustedProxy: X-Forwarded-For
// names the shopper only when a trusted proxy sent it, and then its
// right-most address that is not a trusted proxy.
func TestCheckout_ShopperIPFromTheConnectionOrATrustedProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, tt := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"untrusted peer", nil, "127.0.0.1"},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.9"},
	} {
		ing := ingress.New(ingress.Config{}, e.broker.JS, e.broker.Ready)
		ing.MountCheckout(ingress.CheckoutConfig{Customers: e.customers.verifier, TrustedProxies: tt.trusted})
		srv := httptest.NewServer(ing.Handler())
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/checkout/payments",
			strings.NewReader(`{"orderId": `+strconv.Itoa(100+i)+`, "paymentMethod": {"type": "scheme"}}`))
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.2.3")
		resp, err := http.DefaultClient.Do(frontEnd(req, e.token))
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cmd, _ := e.lastPayment(); cmd.ShopperIP != tt.want {
			t.Errorf("%s: shopperIP %q, want %q", tt.name, cmd.ShopperIP, tt.want)
		}
	}
}
