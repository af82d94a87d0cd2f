package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"net/http"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/testkit"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
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
		HoldResponse: true, Count: 1})
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

// TestRefund_UndoneAfterCleengWasToldIsDeadLetteredForAnOperator: Adyen may
// report a refund failed, or its funds returned, after it reported the
// refund successful and Cleeng was told the payment is refunded. The
// shopper got nothing back; the late event is never acknowledged unread.
func TestRefund_UndoneAfterCleengWasToldIsDeadLetteredForAnOperator(t *testing.T) {
	for _, event := range []string{adyensandbox.EventRefundFailed, adyensandbox.EventRefundedReversed} {
		t.Run(event, func(t *testing.T) {
			e := newE2E(t)
			sub := e.subscribe("DE")
			initial := e.payments(sub.SubscriptionID)[0]
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
			testkit.Eventually(t, 10*time.Second, "Cleeng payment refunded", func() bool {
				p, _ := e.dev.Cleeng.State().Payment(initial.ID)
				return p.Status == cleeng.StatusRefunded
			})
			if !e.dev.Adyen.UndoRefund(initial.ExternalPaymentID, event) {
				t.Fatal("the sandbox found no refund to undo")
			}
			reason := e.waitDeadLetter("gateway-events")
			if !strings.Contains(reason, initial.ID.String()) || !strings.Contains(reason, "no money back") {
				t.Errorf("dead-letter reason %q does not say the shopper of payment %s got no money back", reason, initial.ID)
			}
		})
	}
}

// TestCleverbridge_PaidNotificationAfterTheLostAnswerTimeoutIsDeadLettered:
// the renewal gave up waiting for the purchase notification (dead-lettered,
// Cleeng not told). When the notification finally says "paid", the shopper
// was charged and Cleeng must learn it: the notification is dead-lettered
// with what to record, never acknowledged unread.
func TestCleverbridge_PaidNotificationAfterTheLostAnswerTimeoutIsDeadLettered(t *testing.T) {
	e := newE2E(t, func(o *stack.DevOptions) { o.Flows.NotificationTimeout = time.Second })
	sub := e.cleverbridgeSubscription("S1000001")
	e.dev.Cleverbridge.SetNotifyTarget("", "", "") // hold the purchase notification
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID})
	e.waitDeadLetter("capture")

	e.dev.Cleverbridge.SetNotifyTarget(e.dev.IngressURL+"/webhooks/cleverbridge", stack.DevCleverbridgeUser, stack.DevCleverbridgePassword)
	calls := e.processCartCalls("S1000001")
	reason := e.waitDeadLetter("gateway-events")
	if !strings.Contains(reason, calls[0].PurchaseID) || !strings.Contains(reason, "Cleeng was never told") {
		t.Errorf("dead-letter reason %q does not say purchase %s was paid without Cleeng knowing", reason, calls[0].PurchaseID)
	}
}

// TestRenewal_PendingAtAdyenSettledByTheAuthorisationNotification: Adyen
// may answer a renewal Pending; its AUTHORISATION notification carries the
// outcome. The renewal waits for it and reports it to Cleeng, whichever of
// the answer and the notification comes first.
func TestRenewal_PendingAtAdyenSettledByTheAuthorisationNotification(t *testing.T) {
	for _, authorizedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("authorizedFirst=%v", authorizedFirst), func(t *testing.T) {
			e := newE2E(t)
			o := e.order("DE", stack.DemoOffer.ID)
			e.post("/v1/checkout/payments", map[string]any{"orderId": json.Number(o.ID),
				"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderPending), "returnUrl": e.dev.IngressURL + "/return"})
			var sub cleeng.ID
			testkit.Eventually(t, 10*time.Second, "the pending purchase settled into a subscription", func() bool {
				for _, p := range e.dev.Cleeng.State().Payments {
					if p.OrderID == o.ID && p.Status == cleeng.StatusCaptured && p.SubscriptionID != "" {
						sub = p.SubscriptionID
						return true
					}
				}
				return false
			})
			res, err := e.dev.Cleeng.RunDunning(context.Background(), sub, cleengsandbox.DunningOptions{AuthorizedFirst: authorizedFirst, Attempts: 1, NoTermination: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Renewed {
				t.Fatalf("dunning %+v, want renewed once the notification settled the pending renewal", res)
			}
			if n := len(e.renewalCharges()); n != 1 {
				t.Errorf("%d renewal charges, want 1", n)
			}
		})
	}
}
