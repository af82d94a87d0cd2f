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

// captureState is the record of one capture webhook.
type captureState struct {
	// Authorised is the Cleeng payment being captured (split path).
	Authorised *cleeng.Payment  `json:"authorised,omitempty"`
	Gateway    string           `json:"gateway,omitempty"`
	Result     *gateways.Result `json:"result,omitempty"`
	Payment    *cleeng.Payment  `json:"payment,omitempty"`
}

const (
	flowCapture     = "capture"
	stepFound       = "found"        // the authorised payment to capture is recorded
	stepCaptureOnly = "capture-only" // nothing was authorised: charging directly
)

// Capture handles subscriptionReadyForPaymentCapture: capture the
// authorisation of this cycle (found through authorised_payments) and mark
// the Cleeng payment captured or rejected; with nothing authorised, charge
// the stored token directly (capture-only).
//
// Failure policy: while an authorisation of the subscription is still in
// progress the capture is "not yet"; a gateway that confirms captures
// later (Adyen answers "received") is reported captured now and turned to
// rejected by a CAPTURE_FAILED notification (the gateway-events flow).
func (f *Flows) Capture(ctx context.Context, data []byte) error {
	d, err := dunningOf(data, cleeng.TopicPaymentCapture)
	if err != nil {
		return err
	}
	key := opKey(flowCapture, d.SubscriptionID.String(), d.DunningAttemptDate)
	return operate(ctx, f.ops, key, flowCapture, func(ctx context.Context, rec *ops.Record[captureState]) error {
		if rec.Step == "" {
			if err := f.findAuthorised(ctx, rec, d); err != nil {
				return fail(ctx, f.ops, rec, err)
			}
		}
		if rec.Step == stepCaptureOnly {
			if err := f.renew(ctx, opKey(flowCharge, d.SubscriptionID.String(), d.DunningAttemptDate), flowCharge, d, false); err != nil {
				return err
			}
			return rec.Finish(ctx, f.ops, stepDone)
		}
		g, err := f.router.ByName(rec.State.Gateway)
		if err != nil {
			return fail(ctx, f.ops, rec, err)
		}
		auth := rec.State.Authorised
		if rec.Step == stepFound {
			amount, err := money.New(auth.Amount.String(), auth.Currency)
			if err != nil {
				return fail(ctx, f.ops, rec, failure.Permanent(fmt.Errorf("authorised payment %s: %w", auth.ID, err)))
			}
			res, err := g.Capture(ctx, gateways.ModifyRequest{
				IdempotencyKey: key, PaymentReference: auth.ExternalPaymentID, Reference: auth.OrderID.String(), Amount: amount,
			})
			if err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			rec.State.Result = &res
			if err := rec.Save(ctx, f.ops, stepGateway); err != nil {
				return err
			}
		}
		if rec.Step == stepGateway {
			res := *rec.State.Result
			req := cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured}
			switch res.Outcome {
			case gateways.Captured:
				if res.PaymentReference != "" && res.PaymentReference != auth.ExternalPaymentID {
					// The capture has its own payment id: refunds must use it [seed 001].
					req.ExternalPaymentID = res.PaymentReference
				}
			case gateways.Received:
				// Accepted for capture, confirmed later. Its reference names the
				// modification, not a payment: refunds still use the authorisation's.
			case gateways.Refused:
				req.Status, req.RejectedReason = cleeng.StatusRejected, res.RefusalReason
			default:
				return failure.NotYet(0, fmt.Errorf("capture %s: gateway outcome %q is not final yet", key, res.Outcome))
			}
			payment, err := f.cleeng.UpdatePayment(ctx, auth.ID, req)
			if err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			rec.State.Payment = &payment
			if err := rec.Save(ctx, f.ops, stepCleengPayment); err != nil {
				return err
			}
		}
		if ref := rec.State.Payment.ExternalPaymentID; ref != auth.ExternalPaymentID {
			if err := f.indexPayment(ctx, paymentIndex{Gateway: g.Name(), ExternalPaymentID: ref, PaymentID: auth.ID,
				OrderID: auth.OrderID, CustomerID: d.CustomerID, SubscriptionID: d.SubscriptionID}); err != nil {
				return err
			}
		}
		return rec.Finish(ctx, f.ops, stepDone)
	})
}

// findAuthorised records the authorised payment of this subscription, or
// the decision to charge directly when there is none.
func (f *Flows) findAuthorised(ctx context.Context, rec *ops.Record[captureState], d *cleeng.DunningData) error {
	g, err := f.router.ForMethod(d.PaymentMethodID)
	if err != nil {
		return err
	}
	rec.State.Gateway = g.Name()
	payments, err := f.cleeng.AuthorisedPayments(ctx, d.PaymentDetailsID)
	if err != nil {
		return err
	}
	for i := range payments {
		p := payments[i]
		if p.Status.Normalize() == cleeng.StatusAuthorized && (p.SubscriptionID == "" || p.SubscriptionID == d.SubscriptionID) {
			rec.State.Authorised = &p
			return rec.Save(ctx, f.ops, stepFound)
		}
	}
	running, err := ops.InProgress(ctx, f.ops, opKey(flowAuthorise, d.SubscriptionID.String()))
	if err != nil {
		return err
	}
	if len(running) > 0 {
		return failure.NotYet(0, fmt.Errorf("capture of subscription %s: its authorisation %s is still in progress", d.SubscriptionID, running[0]))
	}
	if err := f.noAuthorisationHeld(ctx, d); err != nil {
		return err
	}
	return rec.Save(ctx, f.ops, stepCaptureOnly)
}

// noAuthorisationHeld refuses a direct charge of a dunning attempt whose
// authorisation reached the gateway and may hold the shopper's money, even
// though Cleeng holds no authorised payment for it (its report failed): a
// charge on top would take the money twice. Only an operator can tell
// whether to capture or cancel the authorisation, so the capture is
// dead-lettered with what to do.
func (f *Flows) noAuthorisationHeld(ctx context.Context, d *cleeng.DunningData) error {
	key := opKey(flowAuthorise, d.SubscriptionID.String(), d.DunningAttemptDate)
	auth, err := ops.Get[renewalState](ctx, f.ops, key)
	if err != nil {
		return ignoreNotFound(err)
	}
	res := auth.State.Result
	if auth.Step != stepAwaitingNotification && (res == nil || res.Outcome == gateways.Refused || res.Outcome == gateways.ActionRequired) {
		return nil // the authorisation holds no money: charging directly is the attempt's only charge
	}
	ref := "unknown reference"
	if res != nil {
		ref = res.PaymentReference
	}
	return failure.Permanentf("subscription %s, dunning attempt %s: its authorisation %s (%s) reached %s but Cleeng holds no authorised payment for it (operation %s is %s at step %s: %s); a direct charge would take the money twice: capture or cancel %s at %s and report it to Cleeng, or replay the authorisation's dead letter once its cause is fixed",
		d.SubscriptionID, d.DunningAttemptDate, ref, resultOutcome(res), auth.State.Order.Gateway, key, auth.Status, auth.Step, orUnknown(auth.Error), ref, auth.State.Order.Gateway)
}

// resultOutcome names a possibly missing gateway result.
func resultOutcome(res *gateways.Result) gateways.Outcome {
	if res == nil {
		return "outcome unknown"
	}
	return res.Outcome
}
