package flows_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// subscribeWith buys the demo offer in Germany with a card and returns the
// subscription, once the purchase is settled (a PENDING holder's by its
// AUTHORISATION notification). Adyen keeps one token per card number and
// shopper, so a card number bought first with a trigger holder name keeps
// its behaviour for the renewals charged with the token.
func (e *e2e) subscribeWith(number, holder string) cleengsandbox.Subscription {
	e.t.Helper()
	o := e.order("DE", stack.DemoOffer.ID)
	e.frontEndCall("/v1/checkout/payments", messages.SubjectCheckoutPayment, map[string]any{"orderId": json.Number(o.ID),
		"paymentMethod": adyensandbox.CardMethod(number, holder), "returnUrl": e.dev.IngressURL + "/return"}).send()
	settled := e.waitCheckout(o.ID, "captured")
	p, _ := e.dev.Cleeng.State().Payment(settled.PaymentID)
	sub, ok := e.dev.Cleeng.State().Subscription(p.SubscriptionID)
	if !ok {
		e.t.Fatalf("purchase %+v made no subscription", p)
	}
	return sub
}

// authorisedRenewal has the connector authorise a renewal of sub and
// returns its Cleeng payment.
func (e *e2e) authorisedRenewal(sub cleengsandbox.Subscription) cleeng.Payment {
	e.t.Helper()
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
	var p cleeng.Payment
	testkit.Eventually(e.t, 15*time.Second, "renewal authorised", func() bool {
		r := e.renewals(sub)
		if len(r) == 1 && r[0].Status == cleeng.StatusAuthorized {
			p = r[0]
			return true
		}
		return false
	})
	return p
}

// waitPaymentStatus waits until Cleeng payment id has status.
func (e *e2e) waitPaymentStatus(id cleeng.ID, status cleeng.PaymentStatus) {
	e.t.Helper()
	testkit.Eventually(e.t, 15*time.Second, "Cleeng payment "+id.String()+" "+string(status), func() bool {
		p, _ := e.dev.Cleeng.State().Payment(id)
		return p.Status.Normalize() == status
	})
}

// assertPaymentStatus checks Cleeng payment id has status.
func (e *e2e) assertPaymentStatus(id cleeng.ID, status cleeng.PaymentStatus) {
	e.t.Helper()
	if p, _ := e.dev.Cleeng.State().Payment(id); p.Status.Normalize() != status {
		e.t.Fatalf("Cleeng payment %s is %s, want %s", id, p.Status, status)
	}
}

// assertAdyenEvents checks the sandbox made want eventCode about psp.
func (e *e2e) assertAdyenEvents(eventCode, psp string, want int) {
	e.t.Helper()
	if n := e.adyenEvents(eventCode, psp); n != want {
		e.t.Fatalf("%d %s at Adyen for %s, want %d", n, eventCode, psp, want)
	}
}

// TestDuplicates_AdyenNotificationsPastTheWindowActOnce: Adyen delivers
// every notification at least once and re-sends one it had no answer to,
// also after the inbox's duplicate window. For every event code the
// connector acts on, the original and its copies processed at once, and a
// copy after the first was handled, change Cleeng once and dead-letter only
// what needs an operator, once.
func TestDuplicates_AdyenNotificationsPastTheWindowActOnce(t *testing.T) {
	shared := newDupE2E(t)
	// Cards: Visa for ordinary purchases, Mastercard for pending ones, Amex
	// for a failing capture (each card number is one token of the shopper).

	t.Run("AUTHORISATION of a purchase answered at once", func(t *testing.T) {
		e := shared.in(t)
		e.holdAdyenNotifications()
		o := e.order("DE", stack.DemoOffer.ID)
		settled := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
		e.actsOnce(e.heldAdyenNotification("AUTHORISATION", settled.ExternalPaymentID), 0, func() { e.assertOneCharge(o.ID, settled) })
	})

	t.Run("AUTHORISATION of a pending purchase", func(t *testing.T) {
		e := shared.in(t)
		e.holdAdyenNotifications()
		o := e.order("DE", stack.DemoOffer.ID)
		checkout := e.frontEndCall("/v1/checkout/payments", messages.SubjectCheckoutPayment, map[string]any{"orderId": json.Number(o.ID),
			"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardMastercard, adyensandbox.HolderPending), "returnUrl": e.dev.IngressURL + "/return"})
		// The shopper's call waits for the outcome (SyncWait) while the
		// notification is held: sent aside, its answer is not the point.
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			if resp, err := e.do(http.MethodPost, checkout.path, checkout.body); err == nil {
				resp.Body.Close()
			}
		}()
		e.waitStep(e.initialKey(o.ID), "awaiting-notification")
		charges := e.dev.Adyen.PaymentsFor(o.ID.String())
		if len(charges) != 1 {
			t.Fatalf("Adyen payments of order %s %+v, want one", o.ID, charges)
		}
		e.actsOnce(e.heldAdyenNotification("AUTHORISATION", charges[0].PSPReference), 0, func() {
			e.assertOneCharge(o.ID, e.waitCheckout(o.ID, "captured"))
		})
		<-answered
	})

	for _, renewal := range []struct {
		name   string
		topic  cleeng.Topic
		flow   string // of the operation that waits for the notification
		status cleeng.PaymentStatus
	}{
		{"AUTHORISATION of a pending renewal authorisation", cleeng.TopicPaymentAuthorisation, "authorise", cleeng.StatusAuthorized},
		{"AUTHORISATION of a pending direct charge", cleeng.TopicPaymentCapture, "charge", cleeng.StatusCaptured},
	} {
		t.Run(renewal.name, func(t *testing.T) {
			e := shared.in(t)
			sub := e.subscribeWith(adyensandbox.CardMastercard, adyensandbox.HolderPending)
			charges := len(e.renewalCharges())
			e.holdAdyenNotifications()
			e.emit(cleengsandbox.EmitRequest{Topic: string(renewal.topic), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
			e.waitStep(ops.Key(renewal.flow, sub.SubscriptionID.String(), attemptDate), "awaiting-notification")
			pending := e.renewalCharges()[charges]
			e.actsOnce(e.heldAdyenNotification("AUTHORISATION", pending.PSPReference), 0, func() {
				testkit.Eventually(t, 15*time.Second, "renewal reported", func() bool { return len(e.renewals(sub)) > 0 })
				if p := e.assertOneRenewal(sub, renewal.status); p.ExternalPaymentID != pending.PSPReference {
					t.Fatalf("Cleeng renewal %+v, want externalPaymentId %s", p, pending.PSPReference)
				}
				e.assertRenewalCharges(charges, 1)
			})
		})
	}

	t.Run("AUTHORISATION refused for a renewal reported rejected", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		token := e.detailsOf(sub).Token
		if !e.dev.Adyen.RefuseToken(token, adyensandbox.HolderNotEnoughBalance) {
			t.Fatal("cannot make the token refuse")
		}
		t.Cleanup(func() { e.dev.Adyen.RefuseToken(token, "") })
		charges := len(e.renewalCharges())
		e.holdAdyenNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: attemptDate})
		testkit.Eventually(t, 15*time.Second, "renewal reported rejected", func() bool { return len(e.renewals(sub)) == 1 })
		e.actsOnce(e.heldAdyenNotification("AUTHORISATION", e.renewalCharges()[charges].PSPReference), 0, func() {
			e.assertOneRenewal(sub, cleeng.StatusRejected)
			e.assertRenewalCharges(charges, 1)
		})
	})

	// captured has a renewal of sub authorised, then captured with the
	// notifications held, and returns it.
	captured := func(e *e2e, sub cleengsandbox.Subscription) cleeng.Payment {
		renewal := e.authorisedRenewal(sub)
		e.holdAdyenNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: dueDate})
		e.waitStep(ops.Key("capture", sub.SubscriptionID.String(), dueDate), "done")
		return renewal
	}

	t.Run("CAPTURE", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		renewal := captured(e, sub)
		e.actsOnce(e.heldAdyenNotification("CAPTURE", renewal.ExternalPaymentID), 0, func() {
			e.assertOneRenewal(sub, cleeng.StatusCaptured)
			e.assertAdyenEvents("CAPTURE", renewal.ExternalPaymentID, 1)
		})
	})

	t.Run("CAPTURE_FAILED", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribeWith(adyensandbox.CardAmex, adyensandbox.HolderCaptureFailed)
		renewal := captured(e, sub)
		e.actsOnce(e.heldAdyenNotification("CAPTURE_FAILED", renewal.ExternalPaymentID), 0, func() {
			e.assertOneRenewal(sub, cleeng.StatusRejected)
			e.assertAdyenEvents("CAPTURE_FAILED", renewal.ExternalPaymentID, 1)
		})
	})

	// refunding asks for a refund of Cleeng payment p with the notifications
	// held, and waits until the refund waits for Adyen's confirmation.
	refunding := func(e *e2e, p cleeng.ID) {
		e.holdAdyenNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: p, Reason: "customer asked"})
		e.waitStep(ops.Key("refund", p.String()), "awaiting-confirmation")
	}

	t.Run("REFUND", func(t *testing.T) {
		e := shared.in(t)
		initial := e.payments(e.subscribe("DE").SubscriptionID)[0]
		refunding(e, initial.ID)
		e.actsOnce(e.heldAdyenNotification("REFUND", initial.ExternalPaymentID), 0, func() {
			e.waitPaymentStatus(initial.ID, cleeng.StatusRefunded)
			e.assertAdyenEvents("REFUND", initial.ExternalPaymentID, 1)
		})
	})

	t.Run("REFUND_FAILED while the refund waits", func(t *testing.T) {
		e := shared.in(t)
		paid := e.pay(e.order("DE", stack.DemoOffer.ID).ID, adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderRefundFailed))
		refunding(e, paid.PaymentID)
		// One letter: the operator must refund another way.
		e.actsOnce(e.heldAdyenNotification("REFUND_FAILED", paid.ExternalPaymentID), 1, func() {
			e.assertPaymentStatus(paid.PaymentID, cleeng.StatusCaptured)
		})
	})

	for _, undo := range []string{adyensandbox.EventRefundFailed, adyensandbox.EventRefundedReversed} {
		t.Run(undo+" after REFUND", func(t *testing.T) {
			e := shared.in(t)
			initial := e.payments(e.subscribe("DE").SubscriptionID)[0]
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
			e.waitPaymentStatus(initial.ID, cleeng.StatusRefunded)
			e.holdAdyenNotifications()
			if !e.dev.Adyen.UndoRefund(initial.ExternalPaymentID, undo) {
				t.Fatal("the sandbox found no refund to undo")
			}
			// One letter: the shopper got no money back.
			e.actsOnce(e.heldAdyenNotification(undo, initial.ExternalPaymentID), 1, func() {
				e.assertPaymentStatus(initial.ID, cleeng.StatusRefunded)
			})
		})
	}

	t.Run("CANCELLATION", func(t *testing.T) {
		e := shared.in(t)
		sub := e.subscribe("DE")
		renewal := e.authorisedRenewal(sub)
		e.holdAdyenNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentDetailsDeactivated), PaymentDetailsID: sub.PaymentDetailsID})
		e.waitPaymentStatus(renewal.ID, cleeng.StatusCancelled)
		e.actsOnce(e.heldAdyenNotification("CANCELLATION", renewal.ExternalPaymentID), 0, func() {
			e.assertPaymentStatus(renewal.ID, cleeng.StatusCancelled)
			e.assertAdyenEvents("CANCELLATION", renewal.ExternalPaymentID, 1)
		})
	})
}

// TestDuplicates_CleverbridgeNotificationsPastTheWindowActOnce: Cleverbridge
// re-sends a purchase notification until answered 200, also after the
// inbox's duplicate window. Copies of each event type change Cleeng once and
// dead-letter only what needs an operator, once.
func TestDuplicates_CleverbridgeNotificationsPastTheWindowActOnce(t *testing.T) {
	shared := newDupE2E(t)

	// renewing sends the capture webhook of sub with the notifications held,
	// and returns the purchase Process Cart made once reported has held.
	renewing := func(e *e2e, sub cleengsandbox.Subscription, token string, reported func() bool) string {
		e.holdCleverbridgeNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: dueDate})
		testkit.Eventually(e.t, 15*time.Second, "renewal answered", reported)
		return e.processCartCalls(token)[0].PurchaseID
	}
	waiting := func(e *e2e, sub cleengsandbox.Subscription) func() bool {
		return e.atStep(ops.Key("charge", sub.SubscriptionID.String(), dueDate), "awaiting-notification")
	}
	reported := func(e *e2e, sub cleengsandbox.Subscription) func() bool {
		return func() bool { return len(e.renewals(sub)) > 0 }
	}
	renewed := func(e *e2e, sub cleengsandbox.Subscription, token string, status cleeng.PaymentStatus) func() {
		return func() {
			testkit.Eventually(e.t, 15*time.Second, "renewal reported", reported(e, sub))
			e.assertCleverbridgeRenewal(sub, token, status)
		}
	}

	t.Run("PurchasePaid settling a lost answer", func(t *testing.T) {
		e := shared.in(t)
		const token = "S1000031"
		sub := e.cleverbridgeSubscription(token)
		e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
		purchase := renewing(e, sub, token, waiting(e, sub))
		e.actsOnce(e.heldCleverbridgeNotification(cleverbridge.EventPurchasePaid, purchase), 0, renewed(e, sub, token, cleeng.StatusCaptured))
	})

	t.Run("PurchaseAwaitingPayment then PurchasePaid of an offline payment", func(t *testing.T) {
		e := shared.in(t)
		const token = cbsandbox.SubscriptionWaitingForOffline
		sub := e.cleverbridgeSubscription(token)
		purchase := renewing(e, sub, token, waiting(e, sub))
		e.actsOnce(e.heldCleverbridgeNotification(cleverbridge.EventPurchaseAwaitingPayment, purchase), 0, func() {
			if r := e.renewals(sub); len(r) != 0 {
				t.Fatalf("Cleeng renewal payments %+v before the shopper paid, want none", r)
			}
		})
		e.holdCleverbridgeNotifications()
		if _, err := e.dev.Cleverbridge.Settle(purchase, cbsandbox.Settlement{Paid: true}); err != nil {
			t.Fatal(err)
		}
		e.actsOnce(e.heldCleverbridgeNotification(cleverbridge.EventPurchasePaid, purchase), 0, renewed(e, sub, token, cleeng.StatusCaptured))
	})

	for _, answered := range []struct {
		name, token, event string
		settle             bool   // the sandbox settles the purchase as paid after the answer
		letters            uint64 // for an operator
		status             cleeng.PaymentStatus
	}{
		{"PurchasePaid of a renewal answered paid", "S1000032", cleverbridge.EventPurchasePaid, false, 0, cleeng.StatusCaptured},
		{"PurchaseDeclined of a renewal answered declined", cbsandbox.Refusals[0].SubscriptionID, cleverbridge.EventPurchaseDeclined, false, 0, cleeng.StatusRejected},
		// One letter: Cleeng holds a rejection the gateway contradicts.
		{"PurchasePaid after the renewal was reported rejected", cbsandbox.SubscriptionRetryScheduled, cleverbridge.EventPurchasePaid, true, 1, cleeng.StatusRejected},
	} {
		t.Run(answered.name, func(t *testing.T) {
			e := shared.in(t)
			sub := e.cleverbridgeSubscription(answered.token)
			purchase := renewing(e, sub, answered.token, reported(e, sub))
			if answered.settle {
				if _, err := e.dev.Cleverbridge.Settle(purchase, cbsandbox.Settlement{Paid: true}); err != nil {
					t.Fatal(err)
				}
			}
			e.actsOnce(e.heldCleverbridgeNotification(answered.event, purchase), answered.letters, renewed(e, sub, answered.token, answered.status))
		})
	}
}

// TestDuplicates_CleverbridgePaidAfterTheRenewalGaveUpIsDeadLetteredOnce: a
// renewal whose Process Cart answer was lost gave up waiting for the
// purchase notification; when the notification says "paid" after all, it is
// dead-lettered for an operator once, however often it comes.
func TestDuplicates_CleverbridgePaidAfterTheRenewalGaveUpIsDeadLetteredOnce(t *testing.T) {
	e := newDupE2E(t, func(o *stack.DevOptions) { o.Flows.NotificationTimeout = time.Second })
	const token = "S1000041"
	sub := e.cleverbridgeSubscription(token)
	e.holdCleverbridgeNotifications()
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: dueDate})
	e.waitDeadLetter("capture")
	// One letter: the shopper paid and Cleeng was never told.
	e.actsOnce(e.heldCleverbridgeNotification(cleverbridge.EventPurchasePaid, e.processCartCalls(token)[0].PurchaseID), 1, func() {
		if r := e.renewals(sub); len(r) != 0 {
			t.Fatalf("Cleeng renewal payments %+v, want none: the renewal gave up", r)
		}
	})
}

// assertCleverbridgeRenewal checks Cleeng holds one renewal of sub with
// status, and Process Cart was called once for it.
func (e *e2e) assertCleverbridgeRenewal(sub cleengsandbox.Subscription, token string, status cleeng.PaymentStatus) {
	e.t.Helper()
	p := e.assertOneRenewal(sub, status)
	if calls := e.processCartCalls(token); len(calls) != 1 || calls[0].PurchaseID != p.ExternalPaymentID {
		e.t.Fatalf("Process Cart calls %+v, want one, reported as Cleeng payment %s", calls, p.ExternalPaymentID)
	}
}
