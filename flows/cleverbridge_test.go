package flows_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// cleverbridgeSubscription seeds a subscription whose payment details are a
// Cleverbridge subscription (the token), routed to Cleverbridge.
func (e *e2e) cleverbridgeSubscription(token string) cleengsandbox.Subscription {
	e.t.Helper()
	sub, err := e.dev.Cleeng.SeedSubscription(cleengsandbox.SubscriptionSeed{
		CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID, Country: "DE",
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: stack.DevPaymentMethodCleverbridge, Token: token},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

// renewalInDoubt seeds a Cleverbridge subscription of token and has its
// capture-only renewal of date charged with the answer lost and the
// purchase notification held: in doubt, waiting for the notification.
func (e *e2e) renewalInDoubt(token, date string) cleengsandbox.Subscription {
	e.t.Helper()
	sub := e.cleverbridgeSubscription(token)
	e.dev.Cleverbridge.SetNotifyTarget("", "", "") // hold the purchase notification
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: date})
	store := ops.NewStore(e.dev.Broker.Ops)
	testkit.Eventually(e.t, time.Minute, "the renewal charged and waiting for its notification", func() bool {
		rec, err := ops.Get[struct{}](context.Background(), store, ops.Key("charge", sub.SubscriptionID.String(), date))
		return err == nil && rec.Step == "awaiting-notification" && len(e.processCartCalls(token)) == 1
	})
	return sub
}

func (e *e2e) captureOnly(sub cleeng.ID) cleengsandbox.DunningResult {
	e.t.Helper()
	res, err := e.dev.Cleeng.RunDunning(context.Background(), sub, cleengsandbox.DunningOptions{Attempts: 1, NoTermination: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *e2e) processCartCalls(token string) []cbsandbox.Call {
	var out []cbsandbox.Call
	for _, c := range e.dev.Cleverbridge.Calls() {
		if c.SubscriptionID() == token {
			out = append(out, c)
		}
	}
	return out
}

func TestCleverbridge_RenewalCapturedWithThePurchaseID(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	if res := e.captureOnly(sub.SubscriptionID); !res.Renewed {
		t.Fatalf("dunning %+v, want renewed", res)
	}
	calls := e.processCartCalls("S1000001")
	if len(calls) != 1 || calls[0].PurchaseID == "" {
		t.Fatalf("Process Cart calls %+v, want one paid", calls)
	}
	p := e.payments(sub.SubscriptionID)
	if len(p) != 1 || p[0].Status != cleeng.StatusCaptured || p[0].ExternalPaymentID != calls[0].PurchaseID || p[0].Amount.String() != "9.99" {
		t.Errorf("Cleeng payments %+v, want one captured 9.99 with externalPaymentId %s", p, calls[0].PurchaseID)
	}
}

func TestCleverbridge_EachPaymentErrorCodeEndsRejectedWithItsReason(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	for _, r := range cbsandbox.Refusals {
		sub := e.cleverbridgeSubscription(r.SubscriptionID)
		e.captureOnly(sub.SubscriptionID)
		p := e.payments(sub.SubscriptionID)
		if len(p) != 1 || p[0].Status != cleeng.StatusRejected || !strings.Contains(p[0].RejectedReason, r.Reason) {
			t.Errorf("%s: Cleeng payments %+v, want rejected with %q", r.Code, p, r.Reason)
		}
	}
}

func TestCleverbridge_SameCaptureWebhookThreeTimesCallsProcessCartOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, Copies: 3})
	testkit.Eventually(t, time.Minute, "renewal captured", func() bool {
		p := e.payments(sub.SubscriptionID)
		return len(p) == 1 && p[0].Status == cleeng.StatusCaptured
	})
	if n := len(e.processCartCalls("S1000001")); n != 1 {
		t.Errorf("%d Process Cart calls, want 1", n)
	}
}

func TestCleverbridge_DroppedAnswerIsNotRepeatedAndCompletesFromTheNotification(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	if res := e.captureOnly(sub.SubscriptionID); !res.Renewed {
		t.Fatalf("dunning %+v, want renewed from the purchase notification", res)
	}
	calls := e.processCartCalls("S1000001")
	if len(calls) != 1 {
		t.Fatalf("%d Process Cart calls, want 1: a lost answer is never repeated", len(calls))
	}
	if p := e.payments(sub.SubscriptionID); len(p) != 1 || p[0].ExternalPaymentID != calls[0].PurchaseID {
		t.Errorf("Cleeng payments %+v, want one with the purchase id %s", p, calls[0].PurchaseID)
	}
}

func TestCleverbridge_LostAnswerWithoutNotificationIsDeadLetteredAfterTheTimeout(t *testing.T) {
	t.Parallel()
	e := newE2E(t, func(o *stack.DevOptions) { o.Flows.NotificationTimeout = time.Second })
	sub := e.cleverbridgeSubscription("S1000001")
	e.dev.Cleverbridge.SetNotifyTarget("http://127.0.0.1:1/nowhere", "", "")
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID})
	reason := e.waitDeadLetter("capture")
	if !strings.Contains(reason, "check order") {
		t.Errorf("dead-letter reason %q does not tell the operator what to check", reason)
	}
	if n := len(e.processCartCalls("S1000001")); n != 1 {
		t.Errorf("%d Process Cart calls, want 1", n)
	}
	if p := e.payments(sub.SubscriptionID); len(p) != 0 {
		t.Errorf("Cleeng payments %+v, want none: nobody knows the outcome", p)
	}
}

func TestCleverbridge_AuthorisationWebhookIsDeadLetteredWithAdvice(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID})
	if reason := e.waitDeadLetter("authorise"); !strings.Contains(reason, "authorizedFirst off") {
		t.Errorf("dead-letter reason %q does not say to turn authorizedFirst off", reason)
	}
	if n := len(e.processCartCalls("S1000001")); n != 0 {
		t.Errorf("%d Process Cart calls for an authorisation, want 0", n)
	}
}

func TestCleverbridge_RefundIsDeadLetteredWithWhereToRefund(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription("S1000001")
	e.captureOnly(sub.SubscriptionID)
	p := e.payments(sub.SubscriptionID)[0]
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: p.ID})
	if reason := e.waitDeadLetter("refund"); !strings.Contains(reason, "Commerce Assistant") {
		t.Errorf("dead-letter reason %q does not say where to refund", reason)
	}
}

// TestCleverbridge_NoSecondChargeWhileAnEarlierOneIsInDoubt: Process Cart
// has no idempotency key, so while one renewal's outcome is unknown a later
// dunning attempt of the same subscription must not charge.
func TestCleverbridge_NoSecondChargeWhileAnEarlierOneIsInDoubt(t *testing.T) {
	t.Parallel()
	// The second attempt looks again about every twentieth of the timeout
	// while the first waits for its notification.
	e := newE2E(t, func(o *stack.DevOptions) { o.Flows.NotificationTimeout = 40 * time.Second })
	first, second := "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"
	sub := e.renewalInDoubt("S1000001", first)
	store := ops.NewStore(e.dev.Broker.Ops)

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: second})
	secondKey := ops.Key("charge", sub.SubscriptionID.String(), second)
	testkit.Eventually(t, time.Minute, "the second renewal held before its charge", func() bool {
		rec, err := ops.Get[struct{}](context.Background(), store, secondKey)
		// Its attempt ended (claim released) at the order step: it did not charge.
		return err == nil && rec.Step == "order" && rec.LeaseUntil.IsZero()
	})
	if n := len(e.processCartCalls("S1000001")); n != 1 {
		t.Fatalf("%d Process Cart calls while the first outcome was unknown, want 1", n)
	}

	e.dev.Cleverbridge.SetNotifyTarget(e.dev.IngressURL+"/webhooks/cleverbridge", stack.DevCleverbridgeUser, stack.DevCleverbridgePassword)
	testkit.Eventually(t, time.Minute, "both renewals captured once the first settled", func() bool {
		p := e.payments(sub.SubscriptionID)
		return len(p) == 2 && p[0].Status == cleeng.StatusCaptured && p[1].Status == cleeng.StatusCaptured
	})
	if n := len(e.processCartCalls("S1000001")); n != 2 {
		t.Errorf("%d Process Cart calls, want 2: one per dunning attempt", n)
	}
}

// TestCleverbridge_PaidAfterReportedRejectedIsDeadLetteredForAnOperator: a
// charge Cleverbridge retried on its own and then collected disagrees with
// the rejection Cleeng holds; an operator must reconcile it.
func TestCleverbridge_PaidAfterReportedRejectedIsDeadLetteredForAnOperator(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.cleverbridgeSubscription(cbsandbox.SubscriptionRetryScheduled)
	e.captureOnly(sub.SubscriptionID)
	p := e.payments(sub.SubscriptionID)
	calls := e.processCartCalls(cbsandbox.SubscriptionRetryScheduled)
	if len(p) != 1 || p[0].Status != cleeng.StatusRejected || len(calls) != 1 {
		t.Fatalf("payments %+v, calls %d: want one rejected renewal", p, len(calls))
	}
	if _, err := e.dev.Cleverbridge.Settle(calls[0].PurchaseID, cbsandbox.Settlement{Paid: true}); err != nil {
		t.Fatal(err)
	}
	if reason := e.waitDeadLetter("gateway-events"); !strings.Contains(reason, "reported rejected") {
		t.Errorf("dead-letter reason %q does not say Cleeng holds a rejection", reason)
	}
}

// TestCleverbridge_TwoAttemptsAtOnceChargeOnce: two dunning attempts of one
// subscription, their orders answered at the same moment, race to Process
// Cart; neither has recorded its intent when the other looks, so only the
// subscription's charge lock stops the second call while the first is in
// flight. Several subscriptions race at once, so a check-then-act race
// shows in at least one of them.
func TestCleverbridge_TwoAttemptsAtOnceChargeOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	orders, processCart := faultinject.NewGate(), faultinject.NewGate()
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/orders", Hold: orders})
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", Hold: processCart})
	defer orders.Open()
	defer processCart.Open()
	tokens := []string{"S1000001", "S1000002", "S1000003", "S1000004"}
	dates := []string{"2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"}
	subs := make([]cleeng.ID, len(tokens))
	for i, token := range tokens {
		subs[i] = e.cleverbridgeSubscription(token).SubscriptionID
		for _, date := range dates {
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: subs[i], DunningAttemptDate: date})
		}
	}
	testkit.Eventually(t, time.Minute, "every attempt creating its order", func() bool {
		return orders.Arrived() == len(tokens)*len(dates)
	})
	orders.Open()

	store := ops.NewStore(e.dev.Broker.Ops)
	testkit.Eventually(t, time.Minute, "one attempt of each subscription calling Process Cart, the other held before it", func() bool {
		if n := processCart.Arrived(); n > len(tokens) {
			t.Fatalf("%d Process Cart calls for %d subscriptions while every first call is in flight: a subscription is charged twice", n, len(tokens))
		}
		for _, sub := range subs {
			held := 0
			for _, date := range dates {
				rec, err := ops.Get[struct{}](context.Background(), store, ops.Key("charge", sub.String(), date))
				if err == nil && rec.Step == "order" && rec.LeaseUntil.IsZero() {
					held++
				}
			}
			if held != 1 {
				return false
			}
		}
		return processCart.Arrived() == len(tokens)
	})

	processCart.Open()
	for i, sub := range subs {
		testkit.Eventually(t, time.Minute, "both attempts captured", func() bool {
			p := e.payments(sub)
			return len(p) == 2 && p[0].Status == cleeng.StatusCaptured && p[1].Status == cleeng.StatusCaptured
		})
		if n := len(e.processCartCalls(tokens[i])); n != 2 {
			t.Errorf("%s: %d Process Cart calls, want 2: one per dunning attempt", tokens[i], n)
		}
	}
}

// TestCleverbridge_AttemptAfterOneGivenUpChargesAgain: a renewal whose lost
// answer was given up on (dead-lettered for an operator) no longer holds its
// subscription's charge lock: the next dunning attempt charges.
func TestCleverbridge_AttemptAfterOneGivenUpChargesAgain(t *testing.T) {
	t.Parallel()
	e := newE2E(t, func(o *stack.DevOptions) { o.Flows.NotificationTimeout = time.Second })
	sub := e.cleverbridgeSubscription("S1000001")
	e.dev.Cleverbridge.SetNotifyTarget("", "", "") // hold the purchase notification
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart", DropResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: "2026-12-01T00:00:00Z"})
	e.waitDeadLetter("capture")

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: "2026-12-02T00:00:00Z"})
	testkit.Eventually(t, time.Minute, "the next attempt captured", func() bool {
		p := e.payments(sub.SubscriptionID)
		return len(p) == 1 && p[0].Status == cleeng.StatusCaptured
	})
	if n := len(e.processCartCalls("S1000001")); n != 2 {
		t.Errorf("%d Process Cart calls, want 2: the given-up one and the next attempt's", n)
	}
}

// TestCleverbridge_AttemptWaitingForTheChargeLockTakesItOnceFreed: a
// renewal told again and again that its subscription's charge lock is held
// looks again as often as the holder waits, not on the runtime's schedule,
// whose delays grow with every "not yet" (1 s, 5 s, 30 s, 2 min, ...): with
// the production schedule, the next attempt charges soon after the attempt
// in doubt is given up, not half a minute or hours later.
func TestCleverbridge_AttemptWaitingForTheChargeLockTakesItOnceFreed(t *testing.T) {
	t.Parallel()
	const timeout = 4 * time.Second
	e := newE2E(t, func(o *stack.DevOptions) {
		o.Flows.NotificationTimeout = timeout
		o.Runtime.Schedule = workers.DefaultSchedule
	})
	sub := e.renewalInDoubt("S1000001", "2026-12-01T00:00:00Z")
	second := "2026-12-02T00:00:00Z"
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: second})

	e.waitDeadLetter("capture") // the first given up after the timeout
	// On the schedule, the waiting attempt's third "not yet" asks for 30 s
	// more; 20 s after the first was given up it must have charged.
	testkit.Eventually(t, 20*time.Second, "the waiting attempt captured once the lock was free", func() bool {
		p := e.payments(sub.SubscriptionID)
		return len(p) == 1 && p[0].Status == cleeng.StatusCaptured
	})
	if n := len(e.processCartCalls("S1000001")); n != 2 {
		t.Errorf("%d Process Cart calls, want 2: the given-up one and the waiting attempt's", n)
	}
}
