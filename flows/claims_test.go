package flows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// TestRenewal_SlowGatewayCallKeepsItsClaimBeyondTheLease holds Adyen's
// answer to a renewal's charge for several leases (a worst-case call is
// 4 × 30 s, the handler may run 5 min) while a re-sent copy of the webhook,
// past the inbox's duplicate window, asks for the same operation. The live
// holder's claim must be renewed, not taken over: the copy waits, and the
// operation is finished once, by the holder.
func TestRenewal_SlowGatewayCallKeepsItsClaimBeyondTheLease(t *testing.T) {
	const ackWait = 2 * time.Second // the claim's lease
	e := newE2E(t, func(o *stack.DevOptions) {
		o.Broker.DuplicateWindow = 100 * time.Millisecond
		o.Runtime.AckWait = ackWait
	})
	sub := e.subscribe("DE").SubscriptionID
	key := ops.Key("authorise", sub.String(), authoriseDate)
	webhook := cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub, DunningAttemptDate: authoriseDate}
	faults := e.dev.Adyen.Faults()
	faults.Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments", HoldResponse: true, Count: 1})
	e.emit(webhook)
	testkit.Eventually(t, 15*time.Second, "the charge applied and its answer held", func() bool { return faults.Held() == 1 })
	holder := e.record(key).Owner

	testkit.Eventually(t, 15*time.Second, "a copy past the inbox's duplicate window delivered", func() bool {
		e.emit(webhook)
		return e.deliveries("authorise") >= 2
	})
	testkit.Eventually(t, 15*time.Second, "the copy answered and delivered again, and the record written two leases after its claim", func() bool {
		rec := e.record(key)
		return e.deliveries("authorise") >= 3 &&
			(rec.Updated.Sub(rec.Created) > 2*ackWait || rec.Owner != holder || rec.Status != ops.StatusInProgress)
	})
	if rec := e.record(key); rec.Owner != holder || rec.Status != ops.StatusInProgress || faults.Held() != 1 {
		t.Fatalf("while the holder waits for Adyen: owner %s (holder %s), status %s, %d answers held; want the holder's claim",
			rec.Owner, holder, rec.Status, faults.Held())
	}
	if e.renewalReported(sub, cleeng.StatusAuthorized) {
		t.Fatal("the renewal was reported while its holder still waited for Adyen: another worker took the operation over")
	}

	faults.Release()
	testkit.Eventually(t, 15*time.Second, "the renewal reported", func() bool {
		return e.renewalReported(sub, cleeng.StatusAuthorized) && e.finished(key)
	})
	e.assertOneRenewalCharge(t)
	e.assertOnePaymentPerExternalID(0)
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d messages dead-lettered, want none", n)
	}
}

// TestRefund_ConfirmationOutwaitsASlowRefundCall holds Adyen's answer to a
// refund until the handler's timeout cuts the call, while Adyen's REFUND
// notification, sent as the refund was applied, waits for the operation.
// The notification must not exhaust its delivery budget while the holder
// lives: the refund completes in Cleeng once the holder is gone.
func TestRefund_ConfirmationOutwaitsASlowRefundCall(t *testing.T) {
	e := newE2E(t, func(o *stack.DevOptions) {
		// The smallest not-yet budget these settings allow: a live claim
		// costs a waiting message at most ceil(16 s / 4 s) + 1 = 5
		// deliveries, half of 10.
		o.Runtime = workers.Config{Schedule: testSchedule, AckWait: 6 * time.Second, HandlerTimeout: 16 * time.Second,
			MaxDeliverNotYet: 10, DrainTimeout: time.Second}
	})
	initial := e.payments(e.subscribe("DE").SubscriptionID)[0]
	faults := e.dev.Adyen.Faults()
	faults.Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments/", HoldResponse: true, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
	testkit.Eventually(t, 15*time.Second, "the refund applied and its answer held", func() bool { return faults.Held() == 1 })

	testkit.Eventually(t, time.Minute, "the refund completed in Cleeng", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(initial.ID)
		return p.Status == cleeng.StatusRefunded
	})
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d messages dead-lettered (the REFUND notification?), want none", n)
	}
	if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); charge.Refunded != charge.Amount {
		t.Errorf("Adyen refunded %d of %d, want the whole amount once", charge.Refunded, charge.Amount)
	}
}

// deliveries counts the deliveries of the flow's consumer, redeliveries included.
func (e *e2e) deliveries(flow string) uint64 {
	e.t.Helper()
	c, err := e.dev.Broker.JS.Consumer(context.Background(), broker.InboxStream, flow)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Delivered.Consumer
}
