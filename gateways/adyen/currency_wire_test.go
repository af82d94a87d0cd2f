package adyen_test

import (
	"context"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
)

// The sandbox keeps the values exactly as Adyen receives them, so what it
// holds is compared with Adyen's documented values, not with the gateway's
// own conversion; each notification the sandbox sends back is decoded by
// the gateway and must give the order's decimal amount again.
func TestAmounts_InAdyensMinorUnitsBothWays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range adyen.AdyenAmounts {
		t.Run(c.Currency, func(t *testing.T) {
			ref := "order-amount-" + c.Currency
			order := amount(t, c.Decimal, c.Currency)
			req := firstPayment(t, ref, order, sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
			req.AuthoriseOnly = true
			auth := pay(t, e.gw, req)
			if p, _ := e.sb.Payment(auth.PaymentReference); p.Amount != c.Value || p.Currency != c.Currency {
				t.Fatalf("Adyen received %d %s, want value %d for %s %s", p.Amount, p.Currency, c.Value, c.Decimal, c.Currency)
			}
			modify := gateways.ModifyRequest{PaymentReference: auth.PaymentReference, Reference: ref, Amount: order}
			modify.IdempotencyKey = "capture." + ref
			if res, err := e.gw.Capture(ctx, modify); err != nil || res.Outcome != gateways.Received {
				t.Fatalf("capture = %+v, %v", res, err)
			}
			modify.IdempotencyKey = "refund." + ref
			if res, err := e.gw.Refund(ctx, modify); err != nil || res.Outcome != gateways.Received {
				t.Fatalf("refund = %+v, %v", res, err)
			}
			for _, kind := range []gateways.EventKind{gateways.EventAuthorisation, gateways.EventCapture, gateways.EventRefund} {
				ev := e.events.Wait(t, 10*time.Second, string(kind), func(ev gateways.Event) bool {
					return ev.Kind == kind && (ev.PaymentReference == auth.PaymentReference || ev.OriginalReference == auth.PaymentReference)
				})
				if !ev.Success || !ev.Amount.Value.Equal(order.Value) || ev.Amount.Currency != c.Currency {
					t.Fatalf("%s notification read as %s (success %t), want %s", kind, ev.Amount, ev.Success, order)
				}
			}
			if p, _ := e.sb.Payment(auth.PaymentReference); p.Captured != c.Value || p.Refunded != c.Value {
				t.Fatalf("Adyen captured %d and refunded %d, want value %d for both", p.Captured, p.Refunded, c.Value)
			}
		})
	}
	for _, c := range adyen.FinerThanAdyensUnit {
		t.Run(c.Decimal+" "+c.Currency, func(t *testing.T) {
			ref := "order-finer-" + c.Currency
			_, err := e.gw.Pay(ctx, firstPayment(t, ref, amount(t, c.Decimal, c.Currency), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
			if n := len(e.sb.PaymentsFor(ref)); n != 0 {
				t.Fatalf("an amount Adyen cannot take reached it (%d payments)", n)
			}
		})
	}
}
