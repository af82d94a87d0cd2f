package flows_test

import (
	"time"

	"github.com/cleeng-connector/connector/internal/testkit"
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

// TestCleverbridge_AttemptCutAfterProcessCartIsNeverRepeated: Process Cart
// has no idempotency key. A drain that cuts the worker after the cart was
// processed (its answer held past the drain timeout) must leave a record
// that says the call was made: the next worker waits for the purchase
// notification instead of calling Process Cart again, and the notification
// completes the renewal.
func TestCleverbridge_AttemptCutAfterProcessCartIsNeverRepeated(t *testing.T) {
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart",
		HoldResponse: faultinject.Duration(time.Hour), Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID})
	testkit.Eventually(t, 10*time.Second, "Process Cart applied", func() bool { return len(e.processCartCalls("S1000001")) == 1 })
	e.dev.StopWorkers() // the drain times out while the answer is held
	if err := e.dev.StartWorkers(1); err != nil {
		t.Fatal(err)
	}
	calls := e.processCartCalls("S1000001")
	testkit.Eventually(t, 15*time.Second, "renewal captured from the purchase notification", func() bool {
		p := e.payments(sub.SubscriptionID)
		return len(p) == 1 && p[0].Status == cleeng.StatusCaptured
	})
	if n := len(e.processCartCalls("S1000001")); n != 1 {
		t.Errorf("%d Process Cart calls, want 1: a call cut off after it was made is never repeated", n)
	}
	if p := e.payments(sub.SubscriptionID); p[0].ExternalPaymentID != calls[0].PurchaseID {
		t.Errorf("Cleeng payment %+v, want externalPaymentId %s", p[0], calls[0].PurchaseID)
	}
}
