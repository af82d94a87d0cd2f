package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

const (
	// stepGatewayCall: a gateway without idempotency keys is being called.
	// Recorded before the call, so an attempt cut off after it (a drain, a
	// crash, a lost answer) resumes knowing the call may have charged: it
	// waits for the notification and never calls again.
	stepGatewayCall = "gateway-call"
	// stepAwaitingNotification: the gateway's outcome will come by notification.
	stepAwaitingNotification = "awaiting-notification"
)

// chargeInDoubt reports whether a renewal at step may have charged without
// its outcome being known.
func chargeInDoubt(step string) bool {
	return step == stepGatewayCall || step == stepAwaitingNotification
}

// Why a renewal waits for a notification.
const (
	awaitLostAnswer     = "lost-answer"     // the call may have charged; its answer was lost
	awaitPendingPayment = "pending-payment" // the shopper pays offline
)

// awaiting records when and why a renewal started waiting.
type awaiting struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	Detail string    `json:"detail,omitempty"`
}

// pendingIndex finds the operation waiting for a gateway's notification
// about an order (key pending.<gateway>.<orderId>).
type pendingIndex struct {
	Gateway string    `json:"gateway"`
	OrderID cleeng.ID `json:"orderId"`
	OpKey   string    `json:"opKey"`
	Flow    string    `json:"flow"`
}

const flowPendingIndex = "pending-index"

func pendingIndexKey(gateway string, orderID cleeng.ID) string {
	return ops.Key("pending", gateway, orderID.String())
}

func (f *Flows) indexPending(ctx context.Context, idx pendingIndex) error {
	return ops.PutOnce(ctx, f.ops, pendingIndexKey(idx.Gateway, idx.OrderID), flowPendingIndex, stepDone, idx)
}

// await parks the renewal until a notification or the timeout.
func (f *Flows) await(rec *ops.Record[renewalState], reason, detail string) error {
	rec.State.Awaiting = &awaiting{Since: time.Now().UTC(), Reason: reason, Detail: detail}
	return parkAt(stepAwaitingNotification, f.lookAgain(rec, time.Until(rec.State.Awaiting.Since.Add(f.opts.NotificationTimeout))))
}

// lookAgain asks for another look at a waiting renewal.
func (f *Flows) lookAgain(rec *ops.Record[renewalState], left time.Duration) error {
	return failure.NotYet(f.pollDelay(left),
		fmt.Errorf("renewal %s waits for the gateway's notification (%s)", rec.Key, rec.State.Awaiting.Reason))
}

// pollDelay is when to look again at a wait for a notification with left
// to go before its timeout: about twenty times over the timeout, well
// inside the runtime's not-yet budget, and never later than the timeout.
// An explicit delay, because the runtime's schedule for a "not yet"
// without one grows to hours (workers.DefaultSchedule), which would leave
// a wait that ends in seconds unnoticed for that long.
func (f *Flows) pollDelay(left time.Duration) time.Duration {
	return max(min(left, f.opts.NotificationTimeout/20), 100*time.Millisecond)
}

// stillAwaiting looks at a waiting renewal: until the timeout it waits on;
// then a pending payment is recorded refused, to be reported rejected, and
// a lost answer ends the operation for an operator, since only the gateway
// knows whether it charged.
func (f *Flows) stillAwaiting(ctx context.Context, rec *ops.Record[renewalState]) error {
	w := rec.State.Awaiting
	timeout := f.opts.NotificationTimeout
	if left := time.Until(w.Since.Add(timeout)); left > 0 {
		return f.lookAgain(rec, left)
	}
	order := rec.State.Order
	if w.Reason == awaitPendingPayment {
		rec.State.Result = &gateways.Result{Outcome: gateways.Refused,
			RefusalReason: fmt.Sprintf("payment still pending at %s after %s", order.Gateway, timeout)}
		return rec.Save(ctx, f.ops, stepGateway)
	}
	return failure.Permanentf(
		"renewal order %s: %s's answer was lost (%s) and no notification came within %s; it cannot be repeated safely: check order %s in %s, then report the payment to Cleeng",
		order.ID, order.Gateway, w.Detail, timeout, order.ID, order.Gateway)
}

// paymentNotified records the outcome a gateway notifies for an order, for
// the operation its pending index names: a renewal waiting for it is
// reported to Cleeng, and the renewal's next look finds it done; an initial
// purchase the gateway answered pending is settled by its authorisation.
func (f *Flows) paymentNotified(ctx context.Context, ev gateways.Event) error {
	orderID := ev.MerchantReference
	if orderID == "" {
		orderID = ev.Metadata["orderId"]
	}
	idx, err := ops.Get[pendingIndex](ctx, f.ops, pendingIndexKey(ev.Gateway, cleeng.ID(orderID)))
	if err != nil {
		return ignoreNotFound(err) // a purchase the connector is not waiting for
	}
	if idx.State.Flow == flowInitial {
		if ev.Kind != gateways.EventAuthorisation {
			return nil
		}
		return f.initialNotified(ctx, idx.State.OpKey, ev)
	}
	// An authorisation notified for a renewal reserved or charged the
	// amount as the renewal asked; a purchase notification is a charge.
	paid := gateways.Captured
	if ev.Kind == gateways.EventAuthorisation {
		paid = gateways.Authorised
	}
	unreported := func(rec *ops.Record[renewalState]) error { return f.paidButNotReported(ctx, rec, idx.State, ev) }
	return settle(ctx, f.ops, idx.State.OpKey, idx.State.Flow, unreported, func(ctx context.Context, rec *ops.Record[renewalState]) error {
		if err := unreported(rec); err != nil {
			return err
		}
		switch {
		case rec.Step == "" || rec.Step == stepOrder:
			// Notified before the answer was recorded: the answer, or the
			// attempt that resumes the call, records it first.
			return failure.NotYet(0, fmt.Errorf("renewal %s: %s notified before its answer was recorded", rec.Key, ev.Gateway))
		case !chargeInDoubt(rec.Step):
			return nil // the answer came; the notification confirms it
		}
		res := gateways.Result{Outcome: paid, PaymentReference: ev.PaymentReference}
		if !ev.Success {
			res = gateways.Result{Outcome: gateways.Refused, PaymentReference: ev.PaymentReference, RefusalReason: orUnknown(ev.Reason)}
		}
		rec.State.Result = &res
		// Only the Cleeng report is left: it reads the record, not the webhook.
		return f.renewalFlow(rec.Flow, cleeng.DunningData{}).resumeAt(ctx, f.ops, rec, stepGateway)
	})
}

// paidButNotReported catches a "paid" the renewal can no longer report:
// it was reported rejected to Cleeng, or is about to be (the gateway's own
// retry, an offline payment settled after the timeout), or it ended failed
// without knowing this payment (it gave up waiting). The shopper was
// charged and Cleeng says otherwise, which only an operator can reconcile,
// so the notification is dead-lettered with what to do. A renewal that
// failed knowing this payment has its own dead letter already.
func (f *Flows) paidButNotReported(ctx context.Context, rec *ops.Record[renewalState], idx pendingIndex, ev gateways.Event) error {
	if !ev.Success {
		return nil
	}
	switch res := rec.State.Result; {
	case res != nil && res.Outcome == gateways.Refused && rec.Step != stepAwaitingNotification:
		return f.letterOnce(ctx, ev, failure.Permanentf("%s reports purchase %s for order %s paid, but the renewal was reported rejected to Cleeng (%s): refund it at %s, or record the payment in Cleeng by hand",
			ev.Gateway, ev.PaymentReference, idx.OrderID, res.RefusalReason, ev.Gateway))
	case rec.Status == ops.StatusFailed && (res == nil || res.PaymentReference != ev.PaymentReference):
		return f.letterOnce(ctx, ev, failure.Permanentf("%s reports payment %s for order %s paid, but renewal %s ended failed (%s): the shopper was charged and Cleeng was never told: record the payment in Cleeng, or refund it at %s",
			ev.Gateway, ev.PaymentReference, idx.OrderID, rec.Key, rec.Error, ev.Gateway))
	}
	return nil
}
