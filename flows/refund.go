package flows

import (
	"context"
	"fmt"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
)

// refundState is the record of one refund (key refund.<paymentId>).
type refundState struct {
	Request cleeng.RefundData `json:"request"`
	Gateway string            `json:"gateway"`
	Result  *gateways.Result  `json:"result,omitempty"`
}

const (
	flowRefund               = "refund"
	stepAwaitingConfirmation = "awaiting-confirmation" // the gateway confirms by notification
)

func refundKey(paymentID cleeng.ID) string { return opKey(flowRefund, paymentID.String()) }

// Refund handles refundPayment: refund at the gateway, then mark the Cleeng
// payment refunded once the gateway confirms.
//
// Failure policy: a gateway that confirms refunds by notification parks the
// operation; the gateway-events flow completes it on REFUND and fails it,
// dead-lettering the notification with its reason, on REFUND_FAILED. A
// gateway without refunds dead-letters the webhook with where to refund.
func (f *Flows) Refund(ctx context.Context, data []byte) error {
	w, err := decodeWebhook(data)
	if err != nil {
		return err
	}
	if w.Refund == nil {
		return failure.Permanentf("cleeng webhook: topic %s where refundPayment was expected", w.Topic)
	}
	req := *w.Refund
	return operate(ctx, f.ops, refundKey(req.PaymentID), flowRefund, func(ctx context.Context, rec *ops.Record[refundState]) error {
		if rec.Step == stepAwaitingConfirmation {
			return rec.Park(ctx, f.ops, stepAwaitingConfirmation) // a re-sent webhook
		}
		if rec.Step == "" {
			rec.State.Request = req
			g, err := f.gatewayOfPayment(ctx, req.ExternalPaymentID)
			if err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			if caps := g.Capabilities(); !caps.Refund {
				return fail(ctx, f.ops, rec, failure.Permanentf("gateway %s cannot refund through its API: refund payment %s (%s) %s, then mark Cleeng payment %s refunded",
					g.Name(), req.ExternalPaymentID, req.Amount.String()+" "+req.Currency, caps.RefundElsewhere, req.PaymentID))
			}
			// A payment made before the connector kept an index gets one
			// now, so the gateway's confirmation finds this refund.
			if err := f.indexPayment(ctx, paymentIndex{Gateway: g.Name(), ExternalPaymentID: req.ExternalPaymentID,
				PaymentID: req.PaymentID, OrderID: req.OrderID, CustomerID: req.CustomerID}); err != nil {
				return err
			}
			rec.State.Gateway = g.Name()
			if err := rec.Save(ctx, f.ops, stepFound); err != nil {
				return err
			}
		}
		g, err := f.router.ByName(rec.State.Gateway)
		if err != nil {
			return fail(ctx, f.ops, rec, err)
		}
		if rec.Step == stepFound {
			amount, err := money.New(req.Amount.String(), req.Currency)
			if err == nil {
				_, err = amount.Minor()
			}
			if err != nil {
				return fail(ctx, f.ops, rec, failure.Permanent(fmt.Errorf("refund of payment %s: %w", req.PaymentID, err)))
			}
			res, err := g.Refund(ctx, gateways.ModifyRequest{IdempotencyKey: rec.Key, PaymentReference: req.ExternalPaymentID,
				Reference: req.OrderID.String(), Amount: amount})
			if err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			rec.State.Result = &res
			if err := rec.Save(ctx, f.ops, stepGateway); err != nil {
				return err
			}
		}
		switch rec.State.Result.Outcome {
		case gateways.Received, gateways.Pending:
			return rec.Park(ctx, f.ops, stepAwaitingConfirmation)
		case gateways.Refused:
			reason := "gateway refused the refund: " + rec.State.Result.RefusalReason
			return fail(ctx, f.ops, rec, failure.Permanentf("refund of payment %s: %s", req.PaymentID, reason))
		}
		return f.completeRefund(ctx, rec)
	})
}

// completeRefund marks the Cleeng payment refunded and ends the operation.
func (f *Flows) completeRefund(ctx context.Context, rec *ops.Record[refundState]) error {
	req := rec.State.Request
	amount := req.Amount
	if _, err := f.cleeng.UpdatePayment(ctx, req.PaymentID, cleeng.UpdatePaymentRequest{
		Status: cleeng.StatusRefunded, OrderID: req.OrderID, RefundedReason: req.Reason,
		RefundedAmount: &amount, RefundType: cleeng.RefundTypeRefund,
	}); err != nil {
		return fail(ctx, f.ops, rec, err)
	}
	return rec.Finish(ctx, f.ops, stepDone)
}

// gatewayOfPayment finds the gateway holding a payment: from the payment
// index, or the only configured gateway for payments made before the
// connector kept an index.
func (f *Flows) gatewayOfPayment(ctx context.Context, externalPaymentID string) (gateways.Gateway, error) {
	for _, name := range f.router.names() {
		if _, ok, err := f.lookupPayment(ctx, name, externalPaymentID); err != nil {
			return nil, err
		} else if ok {
			return f.router.ByName(name)
		}
	}
	if names := f.router.names(); len(names) == 1 {
		return f.router.ByName(names[0])
	}
	return nil, failure.Permanentf("externalPaymentId %q is not a payment this connector made, and several gateways are configured: cannot tell which holds it", externalPaymentID)
}
