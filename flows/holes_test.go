package flows_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
)

// TestRenewal_AuthorisationCleengRefusedBlocksCaptureOnlyOfTheSameAttempt:
// Adyen authorised the dunning attempt, Cleeng refused the payment report
// for good, so Cleeng holds no authorised payment. The capture webhook of
// the same attempt must not charge the token again (a held authorisation
// plus a captured charge); it is dead-lettered for an operator, naming the
// authorisation.
func TestRenewal_AuthorisationCleengRefusedBlocksCaptureOnlyOfTheSameAttempt(t *testing.T) {
	e := newE2E(t)
	sub := e.subscribe("DE")
	const attempt = "2026-12-01T00:00:00Z"
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments",
		ErrorRate: 1, ErrorStatus: http.StatusUnprocessableEntity, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attempt})
	e.waitDeadLetter("authorise")
	charges := e.renewalCharges()
	if len(charges) != 1 {
		t.Fatalf("%d renewal charges after the authorisation, want 1", len(charges))
	}

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attempt})
	reason := e.waitDeadLetter("capture")
	if !strings.Contains(reason, charges[0].PSPReference) {
		t.Errorf("dead-letter reason %q does not name the authorisation %s", reason, charges[0].PSPReference)
	}
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges for one dunning attempt, want 1", n)
	}
}
