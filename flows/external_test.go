package flows_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// mirrored is what Cleeng holds of an externally-managed subscription.
type mirrored struct {
	sub      cleengsandbox.Subscription
	payments []cleeng.Payment
}

// mirrorOf reads Cleeng's subscription of Cleverbridge subscription
// external and its payments; ok is false before it exists.
func (e *e2e) mirrorOf(external string) (m mirrored, ok bool) {
	st := e.dev.Cleeng.State()
	for _, sub := range st.Subscriptions {
		if sub.ExternalSubscriptionID == external {
			m.sub, ok = sub, true
		}
	}
	for _, p := range st.Payments {
		if ok && p.SubscriptionID == m.sub.SubscriptionID {
			m.payments = append(m.payments, p)
		}
	}
	return m, ok
}

// waitMirror waits until Cleeng's mirror of external satisfies cond.
func (e *e2e) waitMirror(external, what string, cond func(mirrored) bool) mirrored {
	e.t.Helper()
	var m mirrored
	testkit.Eventually(e.t, 15*time.Second, what, func() bool {
		var ok bool
		m, ok = e.mirrorOf(external)
		return ok && cond(m)
	})
	return m
}

// paymentIs tells whether m holds a payment externalPaymentId with status.
func paymentIs(m mirrored, externalPaymentID string, status cleeng.PaymentStatus) bool {
	for _, p := range m.payments {
		if p.ExternalPaymentID == externalPaymentID {
			return p.Status == status
		}
	}
	return false
}

// selfBilledStart is Cleverbridge's start of a subscription of the demo
// offer in Germany whose x-parameters name the externally-managed method.
func selfBilledStart() cbsandbox.Billing {
	price := stack.DemoOffer.Prices["DE"]
	return cbsandbox.Billing{Amount: price.Amount.Decimal, Currency: price.Currency,
		Extra: cleverbridge.ExtraParametersFrom(map[string]string{
			"paymentMethodId": stack.DevPaymentMethodCleverbridge, "customerId": stack.DemoCustomer.ID.String(),
			"offerId": stack.DemoOffer.ID, "country": "DE",
		})}
}

func externallyManagedCleverbridge(o *stack.DevOptions) {
	o.Flows.ExternallyManagedMethods = []string{stack.DevPaymentMethodCleverbridge}
}

// TestExternallyManaged_TwoEventsAtOnceCreateOneSubscription: a new
// subscription's paid and cancelled events, processed at once by two worker
// runtimes, create one Cleeng subscription (the index entry is claimed
// before Cleeng is asked), which ends cancelled with its payment captured.
func TestExternallyManaged_TwoEventsAtOnceCreateOneSubscription(t *testing.T) {
	t.Parallel()
	e := newE2E(t, externallyManagedCleverbridge)
	cb := e.dev.Cleverbridge
	e.dev.StopWorkers()
	first, err := cb.Bill(selfBilledStart())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Cancel(first.SubscriptionID); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "both notifications stored", func() bool {
		for _, d := range cb.Notifications() {
			if !d.Delivered {
				return false
			}
		}
		return len(cb.Notifications()) == 2
	})
	if err := e.dev.StartWorkers(copyRuntimes); err != nil {
		t.Fatal(err)
	}
	m := e.waitMirror(first.SubscriptionID, "cancelled with its payment captured", func(m mirrored) bool {
		return m.sub.Status == cleeng.SubscriptionCancelled && paymentIs(m, first.ID, cleeng.StatusCaptured)
	})
	var n int
	for _, sub := range e.dev.Cleeng.State().Subscriptions {
		if sub.ExternalSubscriptionID == first.SubscriptionID {
			n++
		}
	}
	if n != 1 || len(m.payments) != 1 {
		t.Errorf("%d Cleeng subscriptions and %d payments for one Cleverbridge subscription, want 1 and 1", n, len(m.payments))
	}
}

// TestExternallyManaged_WholeLifeMirroredFromCleverbridgeEventsAlone: a
// subscription Cleverbridge bills by itself (its payment method is
// externally managed) is created, renewed twice, declined once, refunded
// once and cancelled, by Cleverbridge alone; Cleeng's subscription and
// payments follow from the notifications, and each notification stored
// again past the inbox's duplicate window changes nothing.
func TestExternallyManaged_WholeLifeMirroredFromCleverbridgeEventsAlone(t *testing.T) {
	e := newDupE2E(t, externallyManagedCleverbridge)
	cb := e.dev.Cleverbridge
	price := stack.DemoOffer.Prices["DE"]
	bill := func(b cbsandbox.Billing) cbsandbox.Purchase {
		t.Helper()
		p, err := cb.Bill(b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	first := bill(selfBilledStart())
	subID := first.SubscriptionID
	created := e.waitMirror(subID, "subscription created with its first payment captured", func(m mirrored) bool {
		return paymentIs(m, first.ID, cleeng.StatusCaptured)
	})
	if s := created.sub; s.Status != cleeng.SubscriptionActive || s.CustomerID != stack.DemoCustomer.ID || s.OfferID != stack.DemoOffer.ID ||
		s.PaymentMethodID != stack.DevPaymentMethodCleverbridge {
		t.Fatalf("created subscription %+v", s)
	}
	if p := created.payments[0]; !p.Amount.Equal(price.Amount.Decimal) || p.Currency != price.Currency {
		t.Errorf("first payment %s %s, want %s %s", p.Amount, p.Currency, price.Amount, price.Currency)
	}

	expiry := created.sub.ExpiresAt
	var renewals []cbsandbox.Purchase
	for range 2 {
		r := bill(cbsandbox.Billing{SubscriptionID: subID})
		renewals = append(renewals, r)
		m := e.waitMirror(subID, "renewal "+r.ID+" captured", func(m mirrored) bool { return paymentIs(m, r.ID, cleeng.StatusCaptured) })
		if m.sub.ExpiresAt <= expiry {
			t.Errorf("renewal %s: expiry %s did not move past %s", r.ID, m.sub.ExpiresAt, expiry)
		}
		expiry = m.sub.ExpiresAt
	}

	declined := bill(cbsandbox.Billing{SubscriptionID: subID, ErrorCode: "PAY_CEX"})
	m := e.waitMirror(subID, "declined renewal rejected", func(m mirrored) bool {
		return paymentIs(m, declined.ID+"-declined", cleeng.StatusRejected)
	})
	if m.sub.ExpiresAt != expiry {
		t.Errorf("a declined renewal moved the expiry from %s to %s", expiry, m.sub.ExpiresAt)
	}

	if _, err := cb.Refund(renewals[1].ID); err != nil {
		t.Fatal(err)
	}
	e.waitMirror(subID, "refunded renewal", func(m mirrored) bool { return paymentIs(m, renewals[1].ID, cleeng.StatusRefunded) })

	if _, err := cb.Cancel(subID); err != nil {
		t.Fatal(err)
	}
	final := e.waitMirror(subID, "subscription cancelled", func(m mirrored) bool { return m.sub.Status == cleeng.SubscriptionCancelled })

	count := map[cleeng.PaymentStatus]int{}
	for _, p := range final.payments {
		count[p.Status]++
	}
	if want := map[cleeng.PaymentStatus]int{cleeng.StatusCaptured: 2, cleeng.StatusRefunded: 1, cleeng.StatusRejected: 1}; !reflect.DeepEqual(count, want) {
		t.Errorf("payments by status %v, want %v (three captured, one of them refunded, one rejected)", count, want)
	}

	// Every notification again, each stored past the duplicate window.
	before := e.deadLetters()
	for i, d := range cb.Notifications() {
		e.deliverCopies(1, &notification{e: e, what: "Cleverbridge notification " + d.Notification.EventType, id: cleverbridge.DedupID(d.Notification),
			released: true, resend: func() bool { return cb.Resend(i) },
			delivery: func() (int, bool) {
				d := cb.Notifications()[i]
				return d.Attempts, d.Delivered
			}})
	}
	e.assertDeadLetters(before, 0)
	if again, _ := e.mirrorOf(subID); !reflect.DeepEqual(again, final) {
		t.Errorf("copies past the duplicate window changed Cleeng:\nbefore %+v\nafter  %+v", final, again)
	}
}

// TestCleverbridge_RefundAndCancellationInCleverbridgeOfAConnectorBilledSubscription:
// for a subscription the connector bills (its method is not externally
// managed), a refund made in Cleverbridge refunds the Cleeng payment of the
// purchase (found in the payment index), and Cleverbridge's
// SubscriptionDeactivated changes nothing: Cleeng's dunning ends it.
func TestCleverbridge_RefundAndCancellationInCleverbridgeOfAConnectorBilledSubscription(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000077")
	if res := e.captureOnly(sub.SubscriptionID); !res.Renewed {
		t.Fatalf("dunning %+v, want renewed", res)
	}
	paid := e.payments(sub.SubscriptionID)[0]
	if _, err := e.dev.Cleverbridge.Refund(paid.ExternalPaymentID); err != nil {
		t.Fatal(err)
	}
	e.waitPaymentStatus(paid.ID, cleeng.StatusRefunded)
	if p, _ := e.dev.Cleeng.State().Payment(paid.ID); p.RefundType != cleeng.RefundTypeRefund || !p.RefundedAmount.Equal(paid.Amount.Decimal) {
		t.Errorf("refund %s %v, want refund of %s", p.RefundType, p.RefundedAmount, paid.Amount)
	}
	if _, err := e.dev.Cleverbridge.Cancel("S1000077"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "SubscriptionDeactivated delivered and processed", func() bool {
		n := e.dev.Cleverbridge.Notifications()
		return n[len(n)-1].Delivered && e.inboxEmpty()
	})
	if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.Status != cleeng.SubscriptionActive {
		t.Errorf("a connector-billed subscription is %s after Cleverbridge's SubscriptionDeactivated, want active", s.Status)
	}
	if st := e.dev.Cleeng.State(); len(st.Subscriptions) != 1 {
		t.Errorf("%d Cleeng subscriptions, want the seeded one only", len(st.Subscriptions))
	}
}

// TestExternallyManaged_DeclinedFirstPurchaseStartsNoSubscription: a
// subscription Cleverbridge could not charge from the start was never
// bought: Cleeng gets no subscription for it, and nothing is dead-lettered.
func TestExternallyManaged_DeclinedFirstPurchaseStartsNoSubscription(t *testing.T) {
	t.Parallel()
	e := newE2E(t, externallyManagedCleverbridge)
	cb := e.dev.Cleverbridge
	start := selfBilledStart()
	start.ErrorCode = "PAY_CEX"
	declined, err := cb.Bill(start)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "the declined purchase's notification handled", func() bool {
		for _, d := range cb.Notifications() {
			if !d.Delivered {
				return false
			}
		}
		return len(cb.Notifications()) == 1 && e.inboxEmpty()
	})
	if m, ok := e.mirrorOf(declined.SubscriptionID); ok {
		t.Fatalf("Cleeng holds %+v for a subscription never paid, want nothing", m.sub)
	}
	if n := testkit.StreamMsgs(t, e.dev.Broker.JS, broker.DLQStream); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}
