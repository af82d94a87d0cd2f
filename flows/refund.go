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
	stepConfirmed            = "confirmed"             // the gateway confirmed the refund (its answer or its notification)
	stepAwaitingConfirmation = "awaiting-confirmation" // the gateway confirms by notification
)

func refundKey(paymentID cleeng.ID) string { return opKey(flowRefund, paymentID.String()) }

// Refund handles refundPayment: refund at the gateway, then mark the Cleeng
// payment refunded once the gateway confirms.
func (f *Flows) Refund(ctx context.Context, data []byte) error {
	w, err := decodeWebhook(data)
	if err != nil {
		return err
	}
	if w.Refund == nil {
		return failure.Permanentf("cleeng webhook: topic %s where refundPayment was expected", w.Topic)
	}
	return f.refundFlow(*w.Refund).start(ctx, f.ops, refundKey(w.Refund.PaymentID))
}

// refundFlow refunds the payment req names. The gateway's confirmation
// resumes it after its gateway step and passes no request: only the Cleeng
// update is left, and it reads the record.
//
// Failure policy: a gateway that confirms refunds by notification parks the
// operation; the gateway-events flow completes it on REFUND and fails it,
// dead-lettering the notification with its reason, on REFUND_FAILED. A
// gateway without refunds dead-letters the webhook with where to refund.
func (f *Flows) refundFlow(req cleeng.RefundData) *flow[refundState] {
	return &flow[refundState]{
		Name: flowRefund,
		Steps: []step[refundState]{
			{stepFound, func(ctx context.Context, rec *ops.Record[refundState]) error {
				rec.State.Request = req
				g, err := f.gatewayOfPayment(ctx, req.ExternalPaymentID)
				if err != nil {
					return err
				}
				if caps := g.Capabilities(); !caps.Refund {
					return failure.Permanentf("gateway %s cannot refund through its API: refund payment %s (%s) %s, then mark Cleeng payment %s refunded",
						g.Name(), req.ExternalPaymentID, req.Amount.String()+" "+req.Currency, caps.RefundElsewhere, req.PaymentID)
				}
				// A payment made before the connector kept an index gets one
				// now, so the gateway's confirmation finds this refund.
				if err := f.indexPayment(ctx, paymentIndex{Gateway: g.Name(), ExternalPaymentID: req.ExternalPaymentID,
					PaymentID: req.PaymentID, OrderID: req.OrderID, CustomerID: req.CustomerID}); err != nil {
					return err
				}
				rec.State.Gateway = g.Name()
				return nil
			}},
			{stepGateway, func(ctx context.Context, rec *ops.Record[refundState]) error {
				req := rec.State.Request
				g, err := f.router.ByName(rec.State.Gateway)
				if err != nil {
					return err
				}
				amount, err := money.New(req.Amount.String(), req.Currency)
				if err == nil {
					_, err = amount.Minor()
				}
				if err != nil {
					return failure.Permanent(fmt.Errorf("refund of payment %s: %w", req.PaymentID, err))
				}
				res, err := g.Refund(ctx, gateways.ModifyRequest{IdempotencyKey: rec.Key, PaymentReference: req.ExternalPaymentID,
					Reference: req.OrderID.String(), Amount: amount})
				if err != nil {
					return err
				}
				rec.State.Result = &res
				return nil
			}},
			{stepConfirmed, func(_ context.Context, rec *ops.Record[refundState]) error {
				switch res := rec.State.Result; res.Outcome {
				case gateways.Received, gateways.Pending:
					return parkAt(stepAwaitingConfirmation, nil)
				case gateways.Refused:
					return failure.Permanentf("refund of payment %s: gateway refused the refund: %s", rec.State.Request.PaymentID, res.RefusalReason)
				}
				return nil
			}},
			{stepCleengPayment, func(ctx context.Context, rec *ops.Record[refundState]) error {
				req := rec.State.Request
				amount := req.Amount
				_, err := f.cleeng.UpdatePayment(ctx, req.PaymentID, cleeng.UpdatePaymentRequest{
					Status: cleeng.StatusRefunded, OrderID: req.OrderID, RefundedReason: req.Reason,
					RefundedAmount: &amount, RefundType: cleeng.RefundTypeRefund,
				})
				return err
			}},
		},
		// A re-sent webhook leaves it parked.
		Parked: []parked[refundState]{
			{State: stepAwaitingConfirmation, ResumedBy: "the gateway's REFUND (confirmed) or REFUND_FAILED (ends the refund) notification"},
		},
	}
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
