package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/stack"
	"github.com/cleeng-connector/connector/internal/testkit"
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
	e.assertOnePaymentPerExternalID()
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
		dead, charges := e.deadLetters(), len(e.renewalCharges())
		authorisation := e.dunningWebhook(cleeng.TopicPaymentAuthorisation, sub.SubscriptionID, attemptDate)
		e.deliverCopies(concurrentCopies, authorisation)
		e.assertOneRenewal(sub, cleeng.StatusAuthorized)
		e.deliverCopies(1, authorisation)
		renewal := e.assertOneRenewal(sub, cleeng.StatusAuthorized)
		e.assertRenewalCharges(charges, 1)

		capture := e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate)
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, capture)
			if p := e.assertOneRenewal(sub, cleeng.StatusCaptured); p.ID != renewal.ID {
				t.Fatalf("captured payment %s, want the authorised %s", p.ID, renewal.ID)
			}
			charge, _ := e.dev.Adyen.Payment(renewal.ExternalPaymentID)
			if n := e.adyenEvents("CAPTURE", renewal.ExternalPaymentID); n != 1 || charge.Captured != charge.Amount {
				t.Fatalf("%d captures at Adyen, %d of %d captured: want one capture of it all", n, charge.Captured, charge.Amount)
			}
		}
		e.assertRenewalCharges(charges, 1)
		e.assertDeadLetters(dead, 0)
	})

	t.Run("capture-only at Adyen", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		dead, charges := e.deadLetters(), len(e.renewalCharges())
		capture := e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate)
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, capture)
			e.assertOneRenewal(sub, cleeng.StatusCaptured)
			e.assertRenewalCharges(charges, 1)
		}
		e.assertDeadLetters(dead, 0)
	})

	t.Run("capture-only at Cleverbridge", func(t *testing.T) {
		e := shared.in(t)
		const token = "S1000021"
		sub := e.cleverbridgeSubscription(token)
		dead := e.deadLetters()
		capture := e.dunningWebhook(cleeng.TopicPaymentCapture, sub.SubscriptionID, dueDate)
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, capture)
			p := e.assertOneRenewal(sub, cleeng.StatusCaptured)
			if calls := e.processCartCalls(token); len(calls) != 1 || calls[0].PurchaseID != p.ExternalPaymentID {
				t.Fatalf("Process Cart calls %+v, want one, paid as Cleeng payment %s", calls, p.ExternalPaymentID)
			}
		}
		e.assertDeadLetters(dead, 0)
	})

	t.Run("authorisation at Cleverbridge is dead-lettered once", func(t *testing.T) {
		e := shared.in(t)
		const token = "S1000022"
		sub := e.cleverbridgeSubscription(token)
		dead := e.deadLetters()
		authorisation := e.dunningWebhook(cleeng.TopicPaymentAuthorisation, sub.SubscriptionID, attemptDate)
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, authorisation)
			e.assertDeadLetters(dead, 1)
			if n := len(e.processCartCalls(token)); n != 0 {
				t.Fatalf("%d Process Cart calls for an authorisation, want 0", n)
			}
		}
	})
}

// TestDuplicates_SubscriptionWebhooksPastTheWindowActOnce: copies of the
// termination, deactivation (under both spellings of its topic) and refund
// webhooks, concurrent and after the operation finished past the duplicate
// window, change Cleeng and the gateway once.
func TestDuplicates_SubscriptionWebhooksPastTheWindowActOnce(t *testing.T) {
	shared := newDupE2E(t, func(o *stack.DevOptions) { o.Flows.DeleteDeactivatedDetails = true })

	t.Run("termination", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		dead := e.deadLetters()
		termination := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: sub.SubscriptionID}}
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, termination)
			if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.Status != cleeng.SubscriptionTerminated {
				t.Fatalf("subscription %s, want terminated", s.Status)
			}
		}
		e.assertDeadLetters(dead, 0)
	})

	t.Run("refund", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		initial := e.payments(sub.SubscriptionID)[0]
		dead := e.deadLetters()
		refund := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"}}
		for _, copies := range []int{concurrentCopies, 1} {
			e.deliverCopies(copies, refund)
			testkit.Eventually(t, 10*time.Second, "Cleeng payment refunded", func() bool {
				p, _ := e.dev.Cleeng.State().Payment(initial.ID)
				return p.Status == cleeng.StatusRefunded
			})
			charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID)
			if n := e.adyenEvents("REFUND", initial.ExternalPaymentID); n != 1 || charge.Refunded != 999 {
				t.Fatalf("%d refunds at Adyen, %d refunded: want one of 999", n, charge.Refunded)
			}
			if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.RefundedAmount == nil || p.RefundedAmount.String() != "9.99" {
				t.Fatalf("Cleeng payment %+v, want 9.99 refunded", p)
			}
		}
		e.assertDeadLetters(dead, 0)
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
		details := e.detailsOf(sub)
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
		var authorised cleeng.Payment
		testkit.Eventually(t, 10*time.Second, "renewal authorised", func() bool {
			r := e.renewals(sub)
			if len(r) == 1 && r[0].Status == cleeng.StatusAuthorized {
				authorised = r[0]
				return true
			}
			return false
		})
		dead := e.deadLetters()
		canonical := string(cleeng.TopicPaymentDetailsDeactivated)
		deactivation := &cleengWebhook{e: e, req: cleengsandbox.EmitRequest{Topic: canonical, PaymentDetailsID: details.ID}}
		for _, phase := range []struct {
			copies int
			topics []string
		}{{concurrentCopies, []string{canonical, seedSpelling}}, {1, []string{canonical}}, {1, []string{seedSpelling}}} {
			deactivation.topics = phase.topics
			e.deliverCopies(phase.copies, deactivation)
			if p, _ := e.dev.Cleeng.State().Payment(authorised.ID); p.Status != cleeng.StatusCancelled {
				t.Fatalf("Cleeng payment %s, want cancelled", p.Status)
			}
			charge, _ := e.dev.Adyen.Payment(authorised.ExternalPaymentID)
			if n := e.adyenEvents("CANCELLATION", authorised.ExternalPaymentID); n != 1 || charge.Status != adyensandbox.StatusCancelled {
				t.Fatalf("%d cancellations at Adyen, payment %s: want one, cancelled", n, charge.Status)
			}
			if tokens := e.dev.Adyen.Tokens(string(stack.DemoCustomer.ID)); len(tokens) != 0 {
				t.Fatalf("Adyen tokens %v, want the deactivated one deleted", tokens)
			}
			if d := e.detailsOf(sub); !d.Deleted {
				t.Fatalf("Cleeng payment details %+v, want deleted", d)
			}
		}
		e.assertDeadLetters(dead, 0)
	})
}
