package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// EventDecoder turns one stored notification of a gateway into an Event.
type EventDecoder func(data []byte) (gateways.Event, error)

const flowCaptureFailed = "capture-failed"

// GatewayEvent handles gateway.<name>.<event>: every notification a
// gateway sends, each decided by its row of the decision table
// (eventtable.go, DESIGN section 1 "Gateway events").
//
// Failure policy: an event the table has no row for (a code the gateway
// added later) is acknowledged with a warning naming it; a notification
// about a payment this connector did not make changes nothing; one that
// arrives before the operation it concerns has recorded its step is "not
// yet"; a failed refund ends the refund operation and is dead-lettered
// with the gateway's reason.
func (f *Flows) GatewayEvent(ctx context.Context, subject string, data []byte) error {
	name, _, _ := strings.Cut(strings.TrimPrefix(subject, "gateway."), ".")
	decode, ok := f.opts.EventDecoders[name]
	if !ok {
		return failure.Permanentf("%s: no decoder for notifications of gateway %q", subject, name)
	}
	ev, err := decode(data)
	if err != nil {
		return failure.Permanent(fmt.Errorf("%s: %w", subject, err))
	}
	ev.Gateway = name
	row, ok := eventRowOf(ev)
	switch {
	case !ok:
		f.log.Warn().Str("gateway", name).Str("event", ev.Code).Str("reference", ev.PaymentReference).
			Msg("gateway event the decision table has no row for; acknowledged, nothing done")
		return nil
	case row.handle == nil:
		return nil // decideIgnore: DESIGN's row says why
	}
	return row.handle(f, ctx, ev, row)
}

// captureFailed turns the captured Cleeng payment to rejected.
func (f *Flows) captureFailed(ctx context.Context, ev gateways.Event) error {
	idx, ok, err := f.lookupPayment(ctx, ev.Gateway, ev.OriginalReference)
	if err != nil {
		return err
	}
	if !ok {
		f.log.Warn().Str("gateway", ev.Gateway).Str("reference", ev.OriginalReference).Msg("capture failed for a payment this connector did not make; ignored")
		return nil
	}
	if idx.SubscriptionID != "" {
		// The capture flow must have reported "captured" before this undoes it.
		running, err := ops.InProgress(ctx, f.ops, opKey(flowCapture, idx.SubscriptionID.String()))
		if err != nil {
			return err
		}
		if len(running) > 0 {
			return failure.NotYet(0, fmt.Errorf("capture failed for %s while capture %s is still in progress", ev.OriginalReference, running[0]))
		}
	}
	return f.captureFailedFlow(ev, idx).start(ctx, f.ops, opKey(flowCaptureFailed, ev.Gateway, ev.OriginalReference))
}

// captureFailedFlow turns the Cleeng payment of a capture the gateway
// reports failed to rejected.
func (f *Flows) captureFailedFlow(ev gateways.Event, idx paymentIndex) *flow[struct{}] {
	return &flow[struct{}]{
		Name: flowCaptureFailed,
		Steps: []step[struct{}]{
			{stepCleengPayment, func(ctx context.Context, _ *ops.Record[struct{}]) error {
				reason := "capture failed at the gateway"
				if ev.Reason != "" {
					reason += ": " + ev.Reason
				}
				paymentID, err := f.paymentOf(ctx, idx)
				if err != nil {
					return err
				}
				_, err = f.cleeng.UpdatePayment(ctx, paymentID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusRejected, RejectedReason: reason})
				return err
			}},
		},
	}
}

// refundConfirmed completes or fails the connector's refund of Cleeng
// payment paymentID, which ev answers. An event that contradicts a refund
// already finished (REFUND_FAILED or REFUNDED_REVERSED after Cleeng was
// told "refunded", or REFUND after the refund was recorded failed) is
// dead-lettered for an operator: Cleeng has no status that undoes a
// refund, and only a person can settle it with the shopper.
func (f *Flows) refundConfirmed(ctx context.Context, ev gateways.Event, paymentID cleeng.ID) error {
	refunded := ev.Kind == gateways.EventRefund && ev.Success
	key := refundKey(paymentID)
	late := func(rec *ops.Record[refundState]) error {
		switch {
		case rec.Status == ops.StatusDone && !refunded:
			return f.letterOnce(ctx, ev, failure.Permanentf("%s reports %s for the refund of Cleeng payment %s (%s) after Cleeng was told it was refunded: the shopper got no money back (%s); refund again at %s or settle it with the shopper, then correct Cleeng payment %s by hand",
				ev.Gateway, ev.Kind, paymentID, ev.OriginalReference, orUnknown(ev.Reason), ev.Gateway, paymentID))
		case rec.Status == ops.StatusFailed && refunded:
			return f.letterOnce(ctx, ev, failure.Permanentf("%s refunded Cleeng payment %s (%s) after the refund was recorded failed (%s): mark Cleeng payment %s refunded",
				ev.Gateway, paymentID, ev.OriginalReference, rec.Error, paymentID))
		}
		return nil // the event repeats what the operation already recorded
	}
	return settle(ctx, f.ops, key, flowRefund, late, func(ctx context.Context, rec *ops.Record[refundState]) error {
		fl := f.refundFlow(cleeng.RefundData{})
		switch {
		case rec.State.Result != nil && rec.State.Result.PaymentReference != ev.PaymentReference:
			// The answer recorded since refundEvent looked names another
			// refund: this one was made elsewhere, which the redelivery decides.
			return failure.NotYet(0, fmt.Errorf("%s %s of payment %s is not refund %s's (%s)", ev.Gateway, ev.Code, ev.OriginalReference, key, rec.State.Result.PaymentReference))
		case refunded && (rec.Step == stepConfirmed || rec.Step == stepCleengPayment):
			return fl.run(ctx, f.ops, rec) // a redelivery after the confirmation was recorded
		case rec.Step != stepAwaitingConfirmation:
			return failure.NotYet(0, fmt.Errorf("refund %s is at step %q: %s is decided once it waits for confirmation or finishes", key, rec.Step, ev.Kind))
		case !refunded:
			// The event ends the operation: the refund failed for good.
			return fail(ctx, f.ops, rec, failure.Permanentf("refund of Cleeng payment %s (%s) failed at %s (%s): %s",
				paymentID, ev.OriginalReference, ev.Gateway, ev.Kind, orUnknown(ev.Reason)))
		}
		return fl.resumeAt(ctx, f.ops, rec, stepConfirmed)
	})
}

func orUnknown(reason string) string {
	if reason == "" {
		return "no reason given"
	}
	return reason
}
