package adyen_test

import (
	"testing"

	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/gatewaytest"
)

func TestAdyen_Conformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := gatewaytest.Harness{
		Gateway:           e.gw,
		GoodPaymentMethod: sandbox.EncryptedCardMethod(sandbox.CardVisa, "Jane Smith"),
		ShopperReference:  shopper,
		Events:            e.events,
		Payments:          func(ref string) int { return len(e.sb.PaymentsFor(ref)) },
	}
	for _, r := range sandbox.Refusals {
		h.Refusals = append(h.Refusals, gatewaytest.Refusal{
			Name:          r.HolderName,
			PaymentMethod: sandbox.EncryptedCardMethod(sandbox.CardVisa, r.HolderName),
			Reason:        r.Reason,
		})
	}
	gatewaytest.RunConformance(t, h)
}
