package gatewaytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// Harness is one gateway wired to its sandbox.
type Harness struct {
	// Gateway under test, pointed at its sandbox.
	Gateway gateways.Gateway
	// GoodPaymentMethod is front-end payment data that authorises. Empty:
	// the gateway takes no first payments here; Token is used instead.
	GoodPaymentMethod json.RawMessage
	// Token is a stored token that authorises (used when GoodPaymentMethod is empty).
	Token string
	// ShopperReference owns Token, and is used for first payments.
	ShopperReference string
	// Refusals: payment data (or tokens) that refuse, with the reason expected.
	Refusals []Refusal
	// Events receives the events of the sandbox's notifications. Nil: the
	// gateway confirms captures synchronously (Outcome Captured) and has no
	// refunds or cancels.
	Events *Recorder
	// Payments counts the payments the sandbox holds for a merchant reference.
	Payments func(reference string) int
	// Amount charged by the suite. Default 10.00 EUR.
	Amount money.Amount
	// EventTimeout bounds each wait for a notification. Default 10s.
	EventTimeout time.Duration
}

// Refusal is payment data that the sandbox refuses with Reason.
type Refusal struct {
	Name          string
	PaymentMethod json.RawMessage // front-end data, or
	Token         string          // a stored token that refuses
	Reason        string
}

// RunConformance runs the suite, skipping what Capabilities exclude.
func RunConformance(t *testing.T, h Harness) {
	h.defaults()
	caps := h.Gateway.Capabilities()

	t.Run("Pay_ChargesAndReturnsReference", func(t *testing.T) {
		res := h.mustPay(t, h.payRequest(t, false))
		if res.Outcome != gateways.Captured {
			t.Fatalf("outcome = %s, want captured", res.Outcome)
		}
		if res.PaymentReference == "" {
			t.Fatal("no payment reference")
		}
	})

	t.Run("Pay_FirstPaymentStoresTokenForRenewal", func(t *testing.T) {
		if len(h.GoodPaymentMethod) == 0 {
			t.Skip("no first payments for this gateway")
		}
		first := h.mustPay(t, h.payRequest(t, false))
		if first.Token == "" {
			t.Fatal("first payment with StoreToken returned no token")
		}
		renewal := h.payRequest(t, false)
		renewal.PaymentMethod, renewal.StoreToken, renewal.Token = nil, false, first.Token
		res := h.mustPay(t, renewal)
		if res.Outcome != gateways.Captured || res.PaymentReference == first.PaymentReference {
			t.Fatalf("renewal = %+v", res)
		}
	})

	t.Run("Pay_IdempotentReplayChargesOnce", func(t *testing.T) {
		if !caps.IdempotencyKeys {
			t.Skip("no idempotency keys")
		}
		req := h.payRequest(t, false)
		a := h.mustPay(t, req)
		b := h.mustPay(t, req)
		if a.PaymentReference != b.PaymentReference || a.Outcome != b.Outcome {
			t.Fatalf("replay differs: %+v vs %+v", a, b)
		}
		if n := h.Payments(req.Reference); n != 1 {
			t.Fatalf("sandbox holds %d payments for %s, want 1", n, req.Reference)
		}
	})

	t.Run("Pay_RefusalsCarryReason", func(t *testing.T) {
		if len(h.Refusals) == 0 {
			t.Skip("no refusal data")
		}
		for _, r := range h.Refusals {
			t.Run(r.Name, func(t *testing.T) {
				req := h.payRequest(t, false)
				if r.Token != "" {
					req.PaymentMethod, req.StoreToken, req.Token = nil, false, r.Token
				} else {
					req.PaymentMethod = r.PaymentMethod
				}
				res := h.mustPay(t, req)
				if res.Outcome != gateways.Refused || res.RefusalReason != r.Reason {
					t.Fatalf("got %s %q, want refused %q", res.Outcome, res.RefusalReason, r.Reason)
				}
			})
		}
	})

	t.Run("ZeroAmountAuth_StoresTokenWithoutCharge", func(t *testing.T) {
		if !caps.ZeroAmountAuth || len(h.GoodPaymentMethod) == 0 {
			t.Skip("no zero-amount authorisation")
		}
		req := h.payRequest(t, false)
		req.Amount, _ = money.New("0", h.Amount.Currency)
		res := h.mustPay(t, req)
		if res.Outcome != gateways.Authorised || res.Token == "" {
			t.Fatalf("zero-amount authorisation = %+v, want authorised with a token", res)
		}
	})

	t.Run("AuthoriseThenCapture", func(t *testing.T) {
		if !caps.SeparateCapture {
			t.Skip("no separate capture")
		}
		auth := h.mustPay(t, h.payRequest(t, true))
		if auth.Outcome != gateways.Authorised {
			t.Fatalf("outcome = %s, want authorised", auth.Outcome)
		}
		res, err := h.Gateway.Capture(ctx(t), h.modify(t, auth.PaymentReference))
		if err != nil {
			t.Fatal(err)
		}
		h.confirmed(t, res, gateways.EventCapture, auth.PaymentReference)
	})

	t.Run("Refund", func(t *testing.T) {
		if !caps.Refund {
			t.Skip("no refunds")
		}
		paid := h.mustPay(t, h.payRequest(t, false))
		res, err := h.Gateway.Refund(ctx(t), h.modify(t, paid.PaymentReference))
		if err != nil {
			t.Fatal(err)
		}
		h.confirmed(t, res, gateways.EventRefund, paid.PaymentReference)
	})

	t.Run("CancelAuthorisation", func(t *testing.T) {
		if !caps.Cancel || !caps.SeparateCapture {
			t.Skip("no cancel")
		}
		auth := h.mustPay(t, h.payRequest(t, true))
		res, err := h.Gateway.Cancel(ctx(t), h.modify(t, auth.PaymentReference))
		if err != nil {
			t.Fatal(err)
		}
		h.confirmed(t, res, gateways.EventCancellation, auth.PaymentReference)
	})

	t.Run("DeleteToken_TokenNoLongerCharges", func(t *testing.T) {
		if !caps.DeleteToken || len(h.GoodPaymentMethod) == 0 {
			t.Skip("no token deletion")
		}
		first := h.mustPay(t, h.payRequest(t, false))
		tr := gateways.TokenRequest{ShopperReference: h.ShopperReference, Token: first.Token}
		if err := h.Gateway.DeleteToken(ctx(t), tr); err != nil {
			t.Fatal(err)
		}
		if err := h.Gateway.DeleteToken(ctx(t), tr); err != nil {
			t.Fatalf("deleting again (a retry after a lost answer) failed: %v", err)
		}
		renewal := h.payRequest(t, false)
		renewal.PaymentMethod, renewal.StoreToken, renewal.Token = nil, false, first.Token
		res, err := h.Gateway.Pay(ctx(t), renewal)
		if err == nil && res.Outcome != gateways.Refused {
			t.Fatalf("deleted token charged: %+v", res)
		}
		if err != nil && failure.ClassOf(err) != failure.ClassPermanent {
			t.Fatalf("deleted token: %v (class %s), want a permanent error or a refusal", err, failure.ClassOf(err))
		}
	})
}

func (h *Harness) defaults() {
	if h.Amount.Currency == "" {
		h.Amount, _ = money.New("10.00", "EUR")
	}
	if h.EventTimeout <= 0 {
		h.EventTimeout = 10 * time.Second
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// unique returns a reference no other run uses.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func (h *Harness) payRequest(t *testing.T, authoriseOnly bool) gateways.PayRequest {
	ref := unique("order")
	req := gateways.PayRequest{
		IdempotencyKey:   "pay-" + ref,
		Reference:        ref,
		Amount:           h.Amount,
		ShopperReference: h.ShopperReference,
		AuthoriseOnly:    authoriseOnly,
		Metadata:         map[string]string{"orderId": ref},
	}
	if len(h.GoodPaymentMethod) > 0 {
		req.PaymentMethod, req.StoreToken = h.GoodPaymentMethod, true
	} else {
		req.Token = h.Token
	}
	return req
}

func (h *Harness) mustPay(t *testing.T, req gateways.PayRequest) gateways.Result {
	t.Helper()
	res, err := h.Gateway.Pay(ctx(t), req)
	if err != nil {
		t.Fatalf("pay %s: %v", req.Reference, err)
	}
	return res
}

func (h *Harness) modify(t *testing.T, paymentRef string) gateways.ModifyRequest {
	ref := unique("mod")
	return gateways.ModifyRequest{IdempotencyKey: "mod-" + ref, PaymentReference: paymentRef, Reference: ref, Amount: h.Amount}
}

// confirmed checks a modification's outcome: accepted now and confirmed by
// a successful event of its kind. Only a capture may instead be confirmed in
// its answer (Captured, with the capture's reference): a refund or a cancel
// has no synchronous outcome that says it happened.
func (h *Harness) confirmed(t *testing.T, res gateways.Result, kind gateways.EventKind, paymentRef string) {
	t.Helper()
	switch {
	case res.Outcome == gateways.Captured && kind == gateways.EventCapture:
		if res.PaymentReference == "" {
			t.Fatal("captured without a reference")
		}
		return
	case res.Outcome != gateways.Received:
		t.Fatalf("%s answered %s, want received (confirmed by an event)", kind, res.Outcome)
	}
	if res.PaymentReference == "" {
		t.Fatal("received without the modification's reference")
	}
	if h.Events == nil {
		t.Fatal("outcome received, but the harness observes no events")
	}
	ev := h.Events.Wait(t, h.EventTimeout, string(kind), func(ev gateways.Event) bool {
		return ev.Kind == kind && ev.OriginalReference == paymentRef
	})
	if !ev.Success || ev.PaymentReference != res.PaymentReference {
		t.Fatalf("%s event = %+v, want success for %s", kind, ev, res.PaymentReference)
	}
}
