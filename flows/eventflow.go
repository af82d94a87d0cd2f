package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// flowEvent is the operation of a gateway event the connector did not ask
// for (key event.<gateway>.<code>.<pspReference>): a dispute, a refund made
// in the gateway's console, a reversal. Its record is what the operator
// sees in `connector ops` and the console, and what makes the event act
// once: a copy the gateway re-sends past the inbox's duplicate window
// finds it done.
const flowEvent = "event"

// eventState is an event operation's record.
type eventState struct {
	Code     string        `json:"code"`
	Decision eventDecision `json:"decision"`
	// Reference is the gateway's reference of the payment the event is
	// about; Event is the event's own.
	Reference string `json:"reference"`
	Event     string `json:"event"`
	Amount    string `json:"amount,omitempty"` // "9.99 EUR"
	Reason    string `json:"reason,omitempty"`
	// PaymentID and OrderID are the Cleeng payment's, when the connector
	// made it; Unknown says it did not, and nothing was changed.
	PaymentID cleeng.ID `json:"paymentId,omitempty"`
	OrderID   cleeng.ID `json:"orderId,omitempty"`
	Unknown   bool      `json:"unknown,omitempty"`
}

func eventKey(ev gateways.Event) string {
	return opKey(flowEvent, ev.Gateway, ev.Code, ev.PaymentReference)
}

// paymentReference is the payment an event is about: a modification's or
// dispute's originalReference, or, for an event without one, its own
// pspReference (Adyen's examples of later dispute stages carry none).
func paymentReference(ev gateways.Event) string {
	if ev.OriginalReference != "" {
		return ev.OriginalReference
	}
	return ev.PaymentReference
}

// recordEvent runs the event flow of ev's row.
func (f *Flows) recordEvent(ctx context.Context, ev gateways.Event, row eventRow) error {
	return f.eventFlow(row, ev).start(ctx, f.ops, eventKey(ev))
}

// eventFlow records ev and applies its row's Cleeng change.
//
// Failure policy: an event about a payment the connector did not make is
// recorded as such and changes nothing. A Cleeng change Cleeng refuses (a
// payment already refunded holds no second refund) fails the operation and
// dead-letters the event with what the operator must record by hand.
func (f *Flows) eventFlow(row eventRow, ev gateways.Event) *flow[eventState] {
	return &flow[eventState]{
		Name: flowEvent,
		Steps: []step[eventState]{
			{stepFound, func(ctx context.Context, rec *ops.Record[eventState]) error {
				rec.State = eventState{Code: ev.Code, Decision: row.Decision, Reference: paymentReference(ev), Event: ev.PaymentReference, Reason: ev.Reason}
				if ev.Amount.Currency != "" { // some events carry no amount
					rec.State.Amount = ev.Amount.String()
				}
				idx, ok, err := f.lookupPayment(ctx, ev.Gateway, rec.State.Reference)
				if err != nil {
					return err
				}
				if !ok {
					rec.State.Unknown = true
					f.log.Warn().Str("gateway", ev.Gateway).Str("event", ev.Code).Str("reference", rec.State.Reference).
						Msg("gateway event about a payment this connector did not make; recorded, nothing changed")
					return nil
				}
				if rec.State.PaymentID, err = f.paymentOf(ctx, idx); err != nil {
					return err
				}
				rec.State.OrderID = idx.OrderID
				if row.Decision == decideOperator {
					// Once per event, unless this step's record is lost
					// and it runs again.
					f.metrics.forOperator(ev.Gateway, ev.Code).Inc()
				}
				return nil
			}},
			{stepCleengPayment, func(ctx context.Context, rec *ops.Record[eventState]) error {
				if rec.State.Unknown || row.Cleeng == "" {
					return endHere()
				}
				return f.changeCleeng(ctx, row.Cleeng, ev, rec.State)
			}},
		},
	}
}

// changeCleeng asks Cleeng to record what the gateway did to the payment.
func (f *Flows) changeCleeng(ctx context.Context, change cleengChange, ev gateways.Event, st eventState) error {
	if change == cleengCancelRefunded && ev.Modification == "cancel" {
		_, err := f.cleeng.CancelPayment(ctx, st.PaymentID)
		return f.refusedByCleeng(err, st, "cancelled")
	}
	refundType, what := cleeng.RefundTypeRefund, "refunded"
	switch {
	case change == cleengChargedBack:
		refundType, what = cleeng.RefundTypeChargeback, "charged back"
	case change == cleengCancelRefunded && ev.Modification != "refund":
		return failure.Permanentf("%s %s %s for Cleeng payment %s says neither cancel nor refund (modification.action %q): look the payment up at %s and record it in Cleeng by hand",
			ev.Gateway, ev.Code, ev.PaymentReference, st.PaymentID, ev.Modification, ev.Gateway)
	}
	amount := cleeng.Decimal{Decimal: ev.Amount.Value}
	_, err := f.cleeng.UpdatePayment(ctx, st.PaymentID, cleeng.UpdatePaymentRequest{
		Status: cleeng.StatusRefunded, OrderID: st.OrderID, RefundedAmount: &amount, RefundType: refundType,
		RefundedReason: fmt.Sprintf("%s at %s (%s): %s", what, ev.Gateway, ev.Code, orUnknown(ev.Reason)),
	})
	return f.refusedByCleeng(err, st, what)
}

// refusedByCleeng adds what the operator must do to a Cleeng refusal.
func (f *Flows) refusedByCleeng(err error, st eventState, what string) error {
	if err == nil || !failure.Is(err, failure.ClassPermanent) {
		return err
	}
	return failure.Permanentf("%s of Cleeng payment %s (%s %s, %s): Cleeng refused it (%v); a payment holds one refund: record it in Cleeng by hand",
		what, st.PaymentID, st.Code, st.Event, orUnknown(st.Amount), err)
}

// refundEvent handles REFUND, REFUND_FAILED and REFUNDED_REVERSED: the
// answer to the connector's own refund completes or fails that refund;
// any other (a refund made in the gateway's console) runs its row.
func (f *Flows) refundEvent(ctx context.Context, ev gateways.Event, row eventRow) error {
	idx, known, err := f.lookupPayment(ctx, ev.Gateway, ev.OriginalReference)
	if err != nil {
		return err
	}
	if known {
		paymentID, err := f.paymentOf(ctx, idx)
		if err != nil {
			return err
		}
		own, err := f.ownRefund(ctx, paymentID, ev)
		if err != nil || own {
			if err == nil {
				err = f.refundConfirmed(ctx, ev, paymentID)
			}
			return err
		}
	}
	if row.Decision == decideIgnore {
		return nil // a refund made elsewhere failed: nothing changed
	}
	return f.recordEvent(ctx, ev, row)
}

// ownRefund tells whether ev may be about the refund the connector made of
// Cleeng payment paymentID: its refund operation's gateway call has ev's
// reference, or is running without a recorded answer (refundConfirmed
// then waits for it, as any event waits for a claimed operation).
func (f *Flows) ownRefund(ctx context.Context, paymentID cleeng.ID, ev gateways.Event) (bool, error) {
	rec, err := ops.Get[refundState](ctx, f.ops, refundKey(paymentID))
	if errors.Is(err, ops.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if res := rec.State.Result; res != nil {
		return res.PaymentReference == ev.PaymentReference, nil
	}
	return rec.Status == ops.StatusInProgress, nil
}
