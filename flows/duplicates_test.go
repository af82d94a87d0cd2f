package flows_test

import (
	"context"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// Dunning attempt dates of the duplicate tests: the authorisation's, and the
// due date the capture webhook comes at.
const (
	attemptDate = "2026-12-01T00:00:00Z"
	dueDate     = "2026-12-04T00:00:00Z"
)

// dunningWebhook is a dunning webhook of sub for the attempt at date.
func (e *e2e) dunningWebhook(topic cleeng.Topic, sub cleeng.ID, date string) *cleengWebhook {
	return &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: string(topic), SubscriptionID: sub, DunningAttemptDate: date}}
}

// renewals returns the renewal payments of sub in Cleeng (all but the
// initial one of a subscription bought through the connector).
func (e *e2e) renewals(sub cleengsandbox.Subscription) []cleeng.Payment {
	var out []cleeng.Payment
	for _, p := range e.payments(sub.SubscriptionID) {
		if p.PaymentOperation == cleeng.OperationRecurringPayment {
			out = append(out, p)
		}
	}
	return out
}

// assertOneRenewal checks that Cleeng holds one renewal payment of sub, with
// status, and returns it.
func (e *e2e) assertOneRenewal(sub cleengsandbox.Subscription, status cleeng.PaymentStatus) cleeng.Payment {
	e.t.Helper()
	r := e.renewals(sub)
	if len(r) != 1 || r[0].Status.Normalize() != status {
		e.t.Fatalf("Cleeng renewal payments %+v, want one %s", r, status)
	}
	e.assertOnePaymentPerExternalID(0)
	return r[0]
}

// assertRenewalCharges checks the gateway made want renewal charges since
// the count was before.
func (e *e2e) assertRenewalCharges(before, want int) {
	e.t.Helper()
	if got := len(e.renewalCharges()) - before; got != want {
		e.t.Errorf("%d renewal charges at Adyen, want %d", got, want)
	}
}

// TestDuplicates_RenewalWebhooksPastTheWindowChargeOnce: Cleeng re-sends a
// dunning webhook it got no answer to, also after the inbox's duplicate
// window. Concurrent copies and a copy re-sent after the renewal finished
// still make one charge per dunning attempt and one Cleeng payment.
func TestDuplicates_RenewalWebhooksPastTheWindowChargeOnce(t *testing.T) {
	shared := newDupE2E(t)

	t.Run("authorisation then capture at Adyen", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		charges := len(e.renewalCharges())
		var renewal cleeng.Payment
		e.actsOnce(e.dunningWebhook(cleeng.TopicPaymentAuthorisation, sub.SubscriptionID, attemptDate), 0, func() {
			renewal = e.assertOneRenewal(sub, cleeng.StatusAuthorized)
			e.assertRenewalCharges(charges, 1)
		})
		e.actsOnce(e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate), 0, func() {
			if p := e.assertOneRenewal(sub, cleeng.StatusCaptured); p.ID != renewal.ID {
				t.Fatalf("captured payment %s, want the authorised %s", p.ID, renewal.ID)
			}
			e.assertRenewalCharges(charges, 1)
			e.assertAdyenEvents("CAPTURE", renewal.ExternalPaymentID, 1)
			if charge, _ := e.dev.Adyen.Payment(renewal.ExternalPaymentID); charge.Captured != charge.Amount {
				t.Fatalf("Adyen captured %d of %d, want it all", charge.Captured, charge.Amount)
			}
		})
	})

	t.Run("capture-only at Adyen", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		charges := len(e.renewalCharges())
		e.actsOnce(e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate), 0, func() {
			e.assertOneRenewal(sub, cleeng.StatusCaptured)
			e.assertRenewalCharges(charges, 1)
		})
	})

	t.Run("capture-only at Cleverbridge", func(t *testing.T) {
		e := shared.in(t)
		const token = "S1000021"
		sub := e.cleverbridgeSubscription(token)
		e.actsOnce(e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate), 0, func() {
			e.assertCleverbridgeRenewal(sub, token, cleeng.StatusCaptured)
		})
	})

	t.Run("authorisation at Cleverbridge is dead-lettered once", func(t *testing.T) {
		e := shared.in(t)
		const token = "S1000022"
		sub := e.cleverbridgeSubscription(token)
		e.actsOnce(e.dunningWebhook(cleeng.TopicPaymentAuthorisation, sub.SubscriptionID, attemptDate), 1, func() {
			if n := len(e.processCartCalls(token)); n != 0 {
				t.Fatalf("%d Process Cart calls for an authorisation, want 0", n)
			}
		})
	})
}

// TestDuplicates_SubscriptionWebhooksPastTheWindowActOnce: copies of the
// termination, refund and deactivation (under both spellings of its topic)
// webhooks, concurrent and after the operation finished past the duplicate
// window, change Cleeng and the gateway once.
func TestDuplicates_SubscriptionWebhooksPastTheWindowActOnce(t *testing.T) {
	shared := newDupE2E(t, func(o *stack.DevOptions) { o.Flows.DeleteDeactivatedDetails = true })

	t.Run("termination", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		termination := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: sub.SubscriptionID}}
		e.actsOnce(termination, 0, func() {
			if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.Status != cleeng.SubscriptionTerminated {
				t.Fatalf("subscription %s, want terminated", s.Status)
			}
		})
	})

	t.Run("refund", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		initial := e.payments(sub.SubscriptionID)[0]
		refund := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"}}
		e.actsOnce(refund, 0, func() {
			e.waitPaymentStatus(initial.ID, cleeng.StatusRefunded)
			e.assertAdyenEvents("REFUND", initial.ExternalPaymentID, 1)
			if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); charge.Refunded != 999 {
				t.Fatalf("Adyen refunded %d, want 999", charge.Refunded)
			}
			if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.RefundedAmount == nil || p.RefundedAmount.String() != "9.99" {
				t.Fatalf("Cleeng payment %+v, want 9.99 refunded", p)
			}
		})
	})

	// Last: deleting the token at Adyen deletes the shopper's token shared by
	// the subscriptions above.
	t.Run("deactivation under both spellings", func(t *testing.T) {
		e := shared.in(t)
		const seedSpelling = "PaymentDetailsDeactivated" // Cleeng's checklist writes it so
		if _, err := e.cleeng.PutWebhookSubscription(context.Background(), seedSpelling,
			[]cleeng.WebhookEndpoint{{URL: e.dev.IngressURL + "/webhooks/cleeng"}}); err != nil {
			t.Fatal(err)
		}
		sub := e.subscribe("DE")
		renewal := e.authorisedRenewal(sub)
		canonical := string(cleeng.TopicPaymentDetailsDeactivated)
		// The copies alternate the spellings; the one after is sent under each.
		deactivation := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: canonical, PaymentDetailsID: sub.PaymentDetailsID},
			topics: []string{canonical, seedSpelling}}
		cancelledAndDeleted := func() {
			e.assertPaymentStatus(renewal.ID, cleeng.StatusCancelled)
			e.assertAdyenEvents("CANCELLATION", renewal.ExternalPaymentID, 1)
			if charge, _ := e.dev.Adyen.Payment(renewal.ExternalPaymentID); charge.Status != adyensandbox.StatusCancelled {
				t.Fatalf("Adyen payment %s, want cancelled", charge.Status)
			}
			if tokens := e.dev.Adyen.Tokens(string(stack.DemoCustomer.ID)); len(tokens) != 0 {
				t.Fatalf("Adyen tokens %v, want the deactivated one deleted", tokens)
			}
			if d := e.detailsOf(sub); !d.Deleted {
				t.Fatalf("Cleeng payment details %+v, want deleted", d)
			}
		}
		dead := e.deadLetters()
		e.actsOnce(deactivation, 0, cancelledAndDeleted)
		deactivation.topics = []string{seedSpelling}
		e.deliverCopies(1, deactivation)
		cancelledAndDeleted()
		e.assertDeadLetters(dead, 0)
	})
}
