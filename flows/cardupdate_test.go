package flows_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// updateCard replaces the demo customer's card through the connector and
// returns the new payment details; Cleeng then deactivates the old ones.
func (e *e2e) updateCard() cleengsandbox.PaymentDetails {
	e.t.Helper()
	code, out := e.postCardUpdate()
	if code != http.StatusOK || out.Status != "active" {
		e.t.Fatalf("card update: %d %+v", code, out)
	}
	return e.details(out.PaymentDetailsID)
}

// The shopper updates the card between the authorisation and the capture
// of a dunning attempt, and the capture webhook comes before the
// deactivation of the old details has looked at their authorisations: it
// names the new details, under which Cleeng holds nothing authorised, while
// the attempt's authorisation is held on the old card. The capture takes
// that authorisation, once: no direct charge on top, and no dead letter
// saying the authorisation reached Adyen but Cleeng holds none (found by
// make chaos).
func TestCapture_CardUpdatedSinceTheAuthorisationCapturesIt(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	old := e.detailsOf(sub)
	authorised := e.authorisedRenewal(sub)
	deactivation := faultinject.NewGate()
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodGet, PathPrefix: "/3.1/payment_details/" + old.ID.String() + "/authorised_payments",
		Hold: deactivation, Count: 1})
	e.updateCard()
	testkit.Eventually(t, time.Minute, "the deactivation of the old details held at Cleeng", func() bool { return deactivation.Arrived() > 0 })

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
	testkit.Eventually(t, time.Minute, "the authorisation captured, or the capture dead-lettered", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(authorised.ID)
		return p.Status == cleeng.StatusCaptured || e.deadLetters() > 0
	})
	if e.deadLetters() > 0 {
		t.Fatalf("capture dead-lettered: %s", e.waitDeadLetter("capture"))
	}
	deactivation.Open()
	testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if a, _ := e.dev.Adyen.Payment(authorised.ExternalPaymentID); a.Status != adyensandbox.StatusCaptured {
		t.Errorf("authorisation %s at Adyen, want captured", a.Status)
	}
	if p, _ := e.dev.Cleeng.State().Payment(authorised.ID); p.Status != cleeng.StatusCaptured {
		t.Errorf("renewal %s in Cleeng, want captured (the deactivation left it to the capture)", p.Status)
	}
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges at Adyen for one dunning attempt, want 1", n)
	}
}

// The shopper updates the card between the authorisation and the capture
// of a dunning attempt, and the deactivation of the old details takes the
// attempt's authorisation to cancel it before the capture webhook comes.
// Cancelled, it holds no money: the capture waits for the cancel, then
// charges the new card directly, as Cleeng means a card update to end,
// instead of dead-lettering because an authorisation once reached Adyen
// (found by make chaos).
func TestCapture_AuthorisationCancelledByACardUpdateChargesTheNewCard(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newE2E(t, func(o *stack.DevOptions) { o.Registry = reg })
	sub := e.subscribe("DE")
	authorised := e.authorisedRenewal(sub)
	cancel := faultinject.NewGate()
	e.dev.Adyen.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments/" + authorised.ExternalPaymentID + "/cancels",
		Hold: cancel, Count: 1})
	fresh := e.updateCard()
	testkit.Eventually(t, time.Minute, "the deactivation's cancel held at Adyen", func() bool { return cancel.Arrived() > 0 })

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
	testkit.Eventually(t, time.Minute, "the capture waiting for the cancel, or dead-lettered", func() bool {
		return sumOf(t, reg, "connector_worker_messages_total", map[string]string{"flow": "capture", "outcome": "not_yet"}) > 0 || e.deadLetters() > 0
	})
	if e.deadLetters() > 0 {
		t.Fatalf("capture dead-lettered: %s", e.waitDeadLetter("capture"))
	}
	cancel.Open()
	testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
	if n := e.deadLetters(); n != 0 {
		t.Fatalf("%d dead letters, want none: %s", n, e.waitDeadLetter("capture"))
	}
	if p, _ := e.dev.Cleeng.State().Payment(authorised.ID); p.Status != cleeng.StatusCancelled {
		t.Errorf("authorisation %s in Cleeng, want cancelled", p.Status)
	}
	var charged []adyensandbox.Payment
	for _, c := range e.renewalCharges() {
		if c.PSPReference != authorised.ExternalPaymentID {
			charged = append(charged, c)
		}
	}
	if len(charged) != 1 || charged[0].Status != adyensandbox.StatusCaptured || charged[0].Token != fresh.Token {
		t.Fatalf("direct charges %+v, want one captured with the new card's token", charged)
	}
	var reported []cleeng.Payment
	for _, p := range e.renewals(sub) {
		if p.ExternalPaymentID == charged[0].PSPReference {
			reported = append(reported, p)
		}
	}
	if len(reported) != 1 || reported[0].Status != cleeng.StatusCaptured {
		t.Errorf("Cleeng payments of the direct charge %+v, want one captured", reported)
	}
}
