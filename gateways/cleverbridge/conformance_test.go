package cleverbridge_test

import (
	"testing"

	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/gateways/gatewaytest"
)

func TestCleverbridge_Conformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := gatewaytest.Harness{
		Gateway:          e.gw,
		Token:            sandbox.SubscriptionPaid,
		ShopperReference: "927751142",
		Events:           e.events,
		Payments:         func(ref string) int { return len(e.purchasesFor(ref)) },
	}
	for _, r := range sandbox.Refusals {
		h.Refusals = append(h.Refusals, gatewaytest.Refusal{Name: r.Code, Token: r.SubscriptionID, Reason: r.Reason})
	}
	gatewaytest.RunConformance(t, h)
}
