package adyen_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// A redirect (3-D Secure on the issuer's page when the front-end asks for
// it, or a redirect method such as iDEAL) comes back through
// /payments/details with the returnUrl's redirectResult; the approved one
// pays and stores a token, the other is refused.
func TestPay_RedirectCompletedThroughDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name     string
		method   json.RawMessage
		approved bool
		want     gateways.Outcome
	}{
		{"3-D Secure redirect approved", sandbox.EncryptedCardMethod(sandbox.CardVisa3DS, "Jane Smith"), true, gateways.Captured},
		{"3-D Secure redirect not authenticated", sandbox.EncryptedCardMethod(sandbox.CardMC3DS, "Jane Smith"), false, gateways.Refused},
		{"iDEAL approved", sandbox.IdealMethod("1121"), true, gateways.Captured},
		{"iDEAL refused by the bank", sandbox.IdealMethod("1160"), true, gateways.Refused},
		{"iDEAL abandoned", sandbox.IdealMethod("1121"), false, gateways.Refused},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := firstPayment(t, "order-redirect-"+c.name, amount(t, "20.00", "EUR"), c.method)
			req.RedirectThreeDS = true
			res := pay(t, e.gw, req)
			var action struct{ Type, Method, URL string }
			if err := json.Unmarshal(res.Action, &action); res.Outcome != gateways.ActionRequired || err != nil || action.Type != "redirect" || action.URL == "" {
				t.Fatalf("first answer = %+v, want a redirect action", res)
			}
			details, err := sandbox.RedirectResult(res.Action, c.approved)
			if err != nil {
				t.Fatal(err)
			}
			done, err := e.gw.CompleteAction(context.Background(), gateways.ActionRequest{IdempotencyKey: "details." + req.Reference, Details: details})
			if err != nil {
				t.Fatal(err)
			}
			if done.Outcome != c.want || done.PaymentReference != res.PaymentReference {
				t.Fatalf("after details = %+v, want %s", done, c.want)
			}
			if c.want == gateways.Captured && done.Token == "" {
				t.Fatal("no token after an approved first payment")
			}
		})
	}
}
