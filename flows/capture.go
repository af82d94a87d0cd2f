package flows

import (
	"context"
	"errors"
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
	flowCapture = "capture"
	stepFound   = "found" // the authorised payment to capture is recorded
)

// Capture handles subscriptionReadyForPaymentCapture. It decides which flow
// the dunning attempt takes: the capture flow when an authorisation of it
// is found in Cleeng, the charge flow (capture-only: renewalFlow, key
// charge.<subscriptionId>.<dunningAttemptDate>) when nothing is authorised.
// The first flow to start keeps the attempt: a copy of the webhook finds
// its record and goes the same way.
func (f *Flows) Capture(ctx context.Context, data []byte) error {
	d, err := dunningOf(data, cleeng.TopicPaymentCapture)
	if err != nil {
		return err
	}
	captureKey := opKey(flowCapture, d.SubscriptionID.String(), d.DunningAttemptDate)
	chargeKey := opKey(flowCharge, d.SubscriptionID.String(), d.DunningAttemptDate)
	charge, err := f.chargeInstead(ctx, d, captureKey, chargeKey)
	if err != nil {
		return err
	}
	if charge {
		return f.renewalFlow(flowCharge, *d).start(ctx, f.ops, chargeKey)
	}
	return f.captureFlow(*d).start(ctx, f.ops, captureKey)
}

// chargeInstead tells whether the capture webhook of a dunning attempt
// charges directly: its charge operation started, or neither flow did and
// Cleeng holds no authorised payment for it.
//
// Failure policy: while an authorisation of the subscription is still in
// progress the decision is "not yet"; an authorisation of the same attempt
// that reached the gateway forbids a direct charge (noAuthorisationHeld).
func (f *Flows) chargeInstead(ctx context.Context, d *cleeng.DunningData, captureKey, chargeKey string) (bool, error) {
	for _, key := range []string{captureKey, chargeKey} {
		if started, err := f.started(ctx, key); err != nil || started {
			return key == chargeKey, err
		}
	}
	if auth, err := f.authorisedPayment(ctx, d); err != nil || auth != nil {
		if err == nil {
			err = f.notBeingCancelled(ctx, d, auth.ID)
		}
		return false, err
	}
	// A copy of this webhook may have started the capture since the
	// records were read, and taken the authorisation Cleeng held: it wrote
	// its record before it captured, so reading the record again now sees
	// it, and this copy follows it rather than charging a second time.
	if started, err := f.started(ctx, captureKey); err != nil || started {
		return false, err
	}
	running, err := ops.InProgress(ctx, f.ops, opKey(flowAuthorise, d.SubscriptionID.String()))
	if err != nil {
		return false, err
	}
	if len(running) > 0 {
		return false, failure.NotYet(0, fmt.Errorf("capture of subscription %s: its authorisation %s is still in progress", d.SubscriptionID, running[0]))
	}
	// noAuthorisationHeld reads the attempt's authorisation record again:
	// authorisedPayment's reading came before the look that none is in
	// progress, and may show one that has finished since.
	return true, f.noAuthorisationHeld(ctx, d)
}

// started tells whether the operation key has a record, claimed or finished.
func (f *Flows) started(ctx context.Context, key string) (bool, error) {
	_, err := ops.Get[struct{}](ctx, f.ops, key)
	if errors.Is(err, ops.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// authorisedPayment is the payment the capture of dunning attempt d takes,
// or nil: the subscription's payment Cleeng holds authorised under the
// webhook's payment details, or else the one the attempt's authorisation
// reported, while Cleeng holds it authorised under the details it was
// authorised with. A card update between the two webhooks makes those
// differ: the capture webhook names the new details, and the authorisation
// stays filed under the old ones until their deactivation cancels it.
func (f *Flows) authorisedPayment(ctx context.Context, d *cleeng.DunningData) (*cleeng.Payment, error) {
	if p, err := f.authorisedUnder(ctx, d.PaymentDetailsID, func(p cleeng.Payment) bool {
		return p.SubscriptionID == "" || p.SubscriptionID == d.SubscriptionID
	}); err != nil || p != nil {
		return p, err
	}
	auth, err := ops.Get[renewalState](ctx, f.ops, authoriseKey(d))
	if err != nil {
		return nil, ignoreNotFound(err)
	}
	reported, details := auth.State.Payment, auth.State.Renewal.PaymentDetailsID
	if reported == nil || reported.Status.Normalize() != cleeng.StatusAuthorized || details == d.PaymentDetailsID {
		return nil, nil
	}
	return f.authorisedUnder(ctx, details, func(p cleeng.Payment) bool { return p.ID == reported.ID })
}

// authorisedUnder is the first payment Cleeng holds authorised under the
// payment details that mine accepts, or nil.
func (f *Flows) authorisedUnder(ctx context.Context, details cleeng.ID, mine func(cleeng.Payment) bool) (*cleeng.Payment, error) {
	payments, err := f.cleeng.AuthorisedPayments(ctx, details)
	if err != nil {
		return nil, err
	}
	for i := range payments {
		if p := payments[i]; p.Status.Normalize() == cleeng.StatusAuthorized && mine(p) {
			return &p, nil
		}
	}
	return nil, nil
}

// authoriseKey is the operation key of dunning attempt d's authorisation.
func authoriseKey(d *cleeng.DunningData) string {
	return opKey(flowAuthorise, d.SubscriptionID.String(), d.DunningAttemptDate)
}

// notBeingCancelled is "not yet" while the deactivation of payment
// details holds the claim on the authorised payment the capture found
// (authorisationClaim): it is cancelling it, at the gateway first, so the
// money it held is being released. Once Cleeng shows it cancelled the
// capture finds nothing authorised and charges directly
// (noAuthorisationHeld), as Cleeng means a card update to end: the
// attempt paid with the new card.
func (f *Flows) notBeingCancelled(ctx context.Context, d *cleeng.DunningData, payment cleeng.ID) error {
	by, err := f.deactivationClaimed(ctx, payment)
	if err != nil || by == "" {
		return err
	}
	return failure.NotYet(0, fmt.Errorf("capture of subscription %s, dunning attempt %s: %s is cancelling its authorised payment %s",
		d.SubscriptionID, d.DunningAttemptDate, by, payment))
}

// captureFlow captures the authorisation of this dunning attempt (found
// through authorised_payments) and marks the Cleeng payment captured or
// rejected.
//
// Failure policy: a gateway that confirms captures later (Adyen answers
// "received") is reported captured now and turned to rejected by a
// CAPTURE_FAILED notification (the gateway-events flow).
func (f *Flows) captureFlow(d cleeng.DunningData) *flow[captureState] {
	return &flow[captureState]{
		Name: flowCapture,
		Steps: []step[captureState]{
			{stepFound, func(ctx context.Context, rec *ops.Record[captureState]) error {
				g, err := f.router.ForMethod(d.PaymentMethodID)
				if err != nil {
					return err
				}
				auth, err := f.authorisedPayment(ctx, &d)
				if err != nil {
					return err
				}
				if auth == nil {
					return authorisationGone(d, "Cleeng holds none")
				}
				if mine, err := f.claimAuthorisation(ctx, auth.ID, rec.Key); err != nil || !mine {
					if err == nil {
						err = authorisationGone(d, "the deactivation of its payment details is cancelling payment "+auth.ID.String())
					}
					return err
				}
				rec.State.Gateway, rec.State.Authorised = g.Name(), auth
				return nil
			}},
			{stepGateway, func(ctx context.Context, rec *ops.Record[captureState]) error {
				auth := rec.State.Authorised
				g, err := f.router.ByName(rec.State.Gateway)
				if err != nil {
					return err
				}
				amount, err := money.New(auth.Amount.String(), auth.Currency)
				if err != nil {
					return failure.Permanent(fmt.Errorf("authorised payment %s: %w", auth.ID, err))
				}
				res, err := g.Capture(ctx, gateways.ModifyRequest{
					IdempotencyKey: rec.Key, PaymentReference: auth.ExternalPaymentID, Reference: auth.OrderID.String(), Amount: amount,
				})
				if err != nil {
					return err
				}
				rec.State.Result = &res
				return nil
			}},
			{stepCleengPayment, func(ctx context.Context, rec *ops.Record[captureState]) error {
				auth, res := rec.State.Authorised, *rec.State.Result
				status, reason, err := cleengStatus(reportCapture, res)
				if err != nil {
					return err
				}
				req := cleeng.UpdatePaymentRequest{Status: status, RejectedReason: reason}
				if res.Outcome == gateways.Captured && res.PaymentReference != "" && res.PaymentReference != auth.ExternalPaymentID {
					// The capture has its own payment id: refunds must use it
					// [seed 001]. (A Received capture's reference names the
					// modification, not a payment: refunds still use the
					// authorisation's.) Indexed first, like every reference.
					req.ExternalPaymentID = res.PaymentReference
					if err := f.indexPayment(ctx, paymentIndex{Gateway: rec.State.Gateway, ExternalPaymentID: res.PaymentReference, PaymentID: auth.ID,
						OrderID: auth.OrderID, CustomerID: d.CustomerID, SubscriptionID: d.SubscriptionID}); err != nil {
						return err
					}
				}
				payment, err := f.cleeng.UpdatePayment(ctx, auth.ID, req)
				if cleeng.IsInvalidTransition(err) {
					return f.reportedBeforeRefund(ctx, rec, req)
				}
				if err != nil {
					return err
				}
				rec.State.Payment = &payment
				return nil
			}},
		},
	}
}

// reportedBeforeRefund settles a capture report Cleeng refuses because the
// payment is no longer authorised. When a refund of the payment was asked
// for, Cleeng held it captured, so an earlier attempt of this report landed
// and only its answer was lost: the report is done. Otherwise (the payment
// cancelled meanwhile, say) the gateway took money Cleeng does not show:
// the refusal stands, for an operator.
func (f *Flows) reportedBeforeRefund(ctx context.Context, rec *ops.Record[captureState], req cleeng.UpdatePaymentRequest) error {
	auth := rec.State.Authorised
	refunded, err := f.started(ctx, refundKey(auth.ID))
	if err != nil {
		return err
	}
	if !refunded {
		return failure.Permanentf("Cleeng refused to mark payment %s %s: it is no longer authorised and no refund of it was asked for; the gateway's capture %s stands: check the payment in Cleeng",
			auth.ID, req.Status, auth.ExternalPaymentID)
	}
	reported := *auth
	reported.Status = req.Status
	rec.State.Payment = &reported
	return nil
}

// noAuthorisationHeld refuses a direct charge of a dunning attempt whose
// authorisation reached the gateway and may hold the shopper's money, even
// though Cleeng holds no authorised payment for it (its report failed): a
// charge on top would take the money twice. Only an operator can tell
// whether to capture or cancel the authorisation, so the capture is
// dead-lettered with what to do.
//
// An authorisation the deactivation of its payment details cancelled holds
// no money either: the deactivation claimed it and cancelled it at the
// gateway before in Cleeng, and Cleeng no longer shows it authorised.
func (f *Flows) noAuthorisationHeld(ctx context.Context, d *cleeng.DunningData) error {
	key := authoriseKey(d)
	auth, err := ops.Get[renewalState](ctx, f.ops, key)
	if err != nil {
		return ignoreNotFound(err)
	}
	res := auth.State.Result
	if auth.Step != stepAwaitingNotification && (res == nil || res.Outcome == gateways.Refused || res.Outcome == gateways.ActionRequired) {
		return nil // the authorisation holds no money: charging directly is the attempt's only charge
	}
	if p := auth.State.Payment; p != nil {
		if by, err := f.deactivationClaimed(ctx, p.ID); err != nil || by != "" {
			return err // cancelled by a card update: the direct charge is the attempt's only charge
		}
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
