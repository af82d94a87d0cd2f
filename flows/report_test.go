package flows

import (
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

func TestCleengStatus(t *testing.T) {
	const notFinal cleeng.PaymentStatus = "not yet"
	refused := gateways.Result{Outcome: gateways.Refused, RefusalReason: "Not enough balance"}
	tests := []struct {
		what    reporting
		outcome gateways.Outcome
		status  cleeng.PaymentStatus
		reason  string
	}{
		{reportInitial, gateways.Authorised, cleeng.StatusCaptured, ""},
		{reportInitial, gateways.Captured, cleeng.StatusCaptured, ""},
		{reportInitial, gateways.Refused, cleeng.StatusRejected, refused.RefusalReason},
		{reportInitial, gateways.ActionRequired, notFinal, ""},
		{reportInitial, gateways.Pending, notFinal, ""},
		{reportInitial, gateways.Received, notFinal, ""},

		{reportAuthorise, gateways.Authorised, cleeng.StatusAuthorized, ""},
		{reportAuthorise, gateways.Captured, cleeng.StatusCaptured, ""},
		{reportAuthorise, gateways.Refused, cleeng.StatusRejected, refused.RefusalReason},
		{reportAuthorise, gateways.ActionRequired, cleeng.StatusRejected, renewalAuthenticationReason},
		{reportAuthorise, gateways.Pending, notFinal, ""},
		{reportAuthorise, gateways.Received, notFinal, ""},

		{reportCharge, gateways.Authorised, cleeng.StatusCaptured, ""},
		{reportCharge, gateways.Captured, cleeng.StatusCaptured, ""},
		{reportCharge, gateways.Refused, cleeng.StatusRejected, refused.RefusalReason},
		{reportCharge, gateways.ActionRequired, cleeng.StatusRejected, renewalAuthenticationReason},
		{reportCharge, gateways.Pending, notFinal, ""},
		{reportCharge, gateways.Received, notFinal, ""},

		{reportCapture, gateways.Captured, cleeng.StatusCaptured, ""},
		{reportCapture, gateways.Received, cleeng.StatusCaptured, ""},
		{reportCapture, gateways.Refused, cleeng.StatusRejected, refused.RefusalReason},
		{reportCapture, gateways.Authorised, notFinal, ""},
		{reportCapture, gateways.ActionRequired, notFinal, ""},
		{reportCapture, gateways.Pending, notFinal, ""},
	}
	for _, tt := range tests {
		res := gateways.Result{Outcome: tt.outcome}
		if tt.outcome == gateways.Refused {
			res = refused
		}
		status, reason, err := cleengStatus(tt.what, res)
		if err != nil {
			if !failure.Is(err, failure.ClassNotYet) {
				t.Errorf("%s, %s: error %v is not \"not yet\"", tt.what, tt.outcome, err)
			}
			status = notFinal
		}
		if status != tt.status || reason != tt.reason {
			t.Errorf("%s, %s: reported %q (%q), want %q (%q)", tt.what, tt.outcome, status, reason, tt.status, tt.reason)
		}
	}
}
