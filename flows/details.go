package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
)

const (
	flowTerminate      = "terminate"
	flowDeactivate     = "deactivate-details"
	flowUpdateDetails  = "update-details"
	stepTerminated     = "terminated"      // the subscription is terminated in Cleeng
	stepCancelled      = "cancelled"       // open authorisations cancelled at the gateway and in Cleeng
	stepTokenDeleted   = "token-deleted"   // old token deleted at the gateway
	stepDetailsDeleted = "details-deleted" // old Cleeng payment details deleted
	stepDetailsCreated = "details-created" // new Cleeng payment details created
)

// Terminate handles subscriptionReadyForTermination: Cleeng's dunning gave
// up, so the subscription is terminated in Cleeng.
func (f *Flows) Terminate(ctx context.Context, data []byte) error {
	w, err := decodeWebhook(data)
	if err != nil {
		return err
	}
	if w.Termination == nil {
		return failure.Permanentf("cleeng webhook: topic %s where subscriptionReadyForTermination was expected", w.Topic)
	}
	return f.terminateFlow(w.Termination.SubscriptionID).start(ctx, f.ops, opKey(flowTerminate, w.Termination.SubscriptionID.String()))
}

func (f *Flows) terminateFlow(subscriptionID cleeng.ID) *flow[struct{}] {
	return &flow[struct{}]{
		Name: flowTerminate,
		Steps: []step[struct{}]{
			{stepTerminated, func(ctx context.Context, _ *ops.Record[struct{}]) error {
				_, err := f.cleeng.TerminateSubscription(ctx, subscriptionID)
				return err
			}},
		},
	}
}

// deactivateState is the record of one deactivation (key deactivate-details.<paymentDetailsId>).
type deactivateState struct {
	// Cancelled lists the Cleeng payments whose authorisation is cancelled.
	Cancelled []cleeng.ID `json:"cancelled,omitempty"`
}

// DeactivateDetails handles paymentDetailsDeactivated (the "old connector"
// side of a payment-details update): cancel the old details' open
// authorisations at the gateway and in Cleeng, then, when configured,
// delete the old token and the old Cleeng payment details.
func (f *Flows) DeactivateDetails(ctx context.Context, data []byte) error {
	w, err := decodeWebhook(data)
	if err != nil {
		return err
	}
	d := w.Deactivation
	if d == nil {
		return failure.Permanentf("cleeng webhook: topic %s where paymentDetailsDeactivated was expected", w.Topic)
	}
	return f.deactivateFlow(*d).start(ctx, f.ops, opKey(flowDeactivate, d.PaymentDetailsID.String()))
}

func (f *Flows) deactivateFlow(d cleeng.DeactivationData) *flow[deactivateState] {
	return &flow[deactivateState]{
		Name: flowDeactivate,
		Steps: []step[deactivateState]{
			{stepCancelled, func(ctx context.Context, rec *ops.Record[deactivateState]) error {
				g, err := f.router.ForMethod(d.PaymentMethodID)
				if err != nil {
					return err
				}
				return f.cancelAuthorised(ctx, g, rec, d.PaymentDetailsID)
			}},
			{stepTokenDeleted, func(ctx context.Context, _ *ops.Record[deactivateState]) error {
				if !f.opts.DeleteDeactivatedDetails {
					return endHere() // the old token and details are kept
				}
				g, err := f.router.ForMethod(d.PaymentMethodID)
				if err != nil || !g.Capabilities().DeleteToken || d.Token == "" {
					return err
				}
				return g.DeleteToken(ctx, gateways.TokenRequest{ShopperReference: d.CustomerID.String(), Token: string(d.Token)})
			}},
			{stepDetailsDeleted, func(ctx context.Context, _ *ops.Record[deactivateState]) error {
				return f.cleeng.DeletePaymentDetails(ctx, d.PaymentDetailsID)
			}},
		},
	}
}

// cancelAuthorised cancels each open authorisation once, recording each.
func (f *Flows) cancelAuthorised(ctx context.Context, g gateways.Gateway, rec *ops.Record[deactivateState], detailsID cleeng.ID) error {
	payments, err := f.cleeng.AuthorisedPayments(ctx, detailsID)
	if err != nil {
		return err
	}
	for _, p := range payments {
		if slices.Contains(rec.State.Cancelled, p.ID) || p.Status.Normalize() != cleeng.StatusAuthorized {
			continue
		}
		if mine, err := f.claimAuthorisation(ctx, p.ID, rec.Key); err != nil || !mine {
			if err != nil {
				return err
			}
			continue // its dunning attempt's capture took it first and settles it
		}
		if g.Capabilities().Cancel && p.ExternalPaymentID != "" {
			if _, err := g.Cancel(ctx, gateways.ModifyRequest{IdempotencyKey: opKey("cancel", p.ID.String()),
				PaymentReference: p.ExternalPaymentID, Reference: p.OrderID.String()}); err != nil {
				return err
			}
		}
		if _, err := f.cleeng.CancelPayment(ctx, p.ID); err != nil {
			return err
		}
		rec.State.Cancelled = append(rec.State.Cancelled, p.ID)
		if err := rec.Save(ctx, f.ops, rec.Step); err != nil { // progress within the step
			return err
		}
	}
	return nil
}

// updateDetailsState is the record of one payment-details update.
type updateDetailsState struct {
	CustomerID      cleeng.ID                `json:"customerId"`
	PaymentMethodID cleeng.ID                `json:"paymentMethodId"`
	RequestID       string                   `json:"requestId"`
	Gateway         string                   `json:"gateway"`
	Result          *gateways.Result         `json:"result,omitempty"`
	Outcome         *messages.DetailsOutcome `json:"outcome,omitempty"`
}

// UpdateDetails handles checkout.payment-details (the "new connector" side):
// validate the new card with a zero-amount authorisation that stores a
// token, then create the Cleeng payment details with it. Cleeng then
// deactivates the old details, which the DeactivateDetails flow handles. A
// shopper action (3-D Secure) parks the update until
// checkout.payment-details-action brings its result.
func (f *Flows) UpdateDetails(ctx context.Context, data []byte) error {
	var cmd messages.PaymentDetailsCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		return failure.Permanent(fmt.Errorf("checkout.payment-details: %w", err))
	}
	return f.updateDetailsFlow(cmd).start(ctx, f.ops, messages.PaymentDetailsKey(cmd.CustomerID, cmd.RequestID))
}

// updateDetailsFlow is the payment-details update cmd asks for. The shopper
// action's result resumes it after its gateway step and passes no command:
// only the Cleeng details are left, and they read the record.
func (f *Flows) updateDetailsFlow(cmd messages.PaymentDetailsCommand) *flow[updateDetailsState] {
	return &flow[updateDetailsState]{
		Name: flowUpdateDetails,
		Steps: []step[updateDetailsState]{
			{stepGateway, func(ctx context.Context, rec *ops.Record[updateDetailsState]) error {
				st := &rec.State
				st.CustomerID, st.PaymentMethodID = cleeng.ID(fmt.Sprint(cmd.CustomerID)), cleeng.ID(fmt.Sprint(cmd.PaymentMethodID))
				st.RequestID = cmd.RequestID
				g, err := f.router.ForMethod(st.PaymentMethodID)
				if err != nil {
					return err
				}
				if why := f.methodMismatch(st.PaymentMethodID, cmd.PaymentMethod); why != "" {
					st.Outcome = &messages.DetailsOutcome{Status: messages.StatusFailed, Code: messages.OutcomeMethodMismatch, RequestID: st.RequestID, RejectedReason: why}
					return endHere()
				}
				zero, err := money.New("0", f.opts.ZeroAuthCurrency)
				if err != nil {
					return failure.Permanent(err)
				}
				res, err := f.storeToken(ctx, g, gateways.PayRequest{
					IdempotencyKey: rec.Key, Reference: "details-" + st.CustomerID.String() + "-" + cmd.RequestID, Amount: zero,
					ShopperReference: st.CustomerID.String(), PaymentMethod: cmd.PaymentMethod, StoreToken: true, Shopper: cmd.Shopper,
					Metadata: map[string]string{"customerId": st.CustomerID.String()},
				})
				if err != nil {
					return err
				}
				st.Gateway, st.Result = g.Name(), &res
				return nil
			}},
			{stepDetailsCreated, f.createDetails},
		},
		// A copy of the command while the shopper acts leaves it parked.
		Parked: []parked[updateDetailsState]{
			{State: stepAwaitingShopper, ResumedBy: "checkout.payment-details-action (the shopper's 3-D Secure result)"},
		},
	}
}

// UpdateDetailsAction handles checkout.payment-details-action: the
// shopper's 3-D Secure result completes a parked payment-details update.
func (f *Flows) UpdateDetailsAction(ctx context.Context, data []byte) error {
	var cmd messages.PaymentDetailsActionCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		return failure.Permanent(fmt.Errorf("checkout.payment-details-action: %w", err))
	}
	key := messages.PaymentDetailsKey(cmd.CustomerID, cmd.RequestID)
	fl := f.updateDetailsFlow(messages.PaymentDetailsCommand{})
	return operate(ctx, f.ops, key, flowUpdateDetails, func(ctx context.Context, rec *ops.Record[updateDetailsState]) error {
		switch rec.Step {
		case stepGateway, stepDetailsCreated:
			return fl.run(ctx, f.ops, rec) // a copy after the action completed
		case stepAwaitingShopper:
		default:
			return failure.Permanentf("payment-details update %s: no shopper action is pending (step %q)", key, rec.Step)
		}
		// A zero-amount authorisation: authorise-only.
		res, err := f.completeAction(ctx, rec.State.Gateway, key, cmd.Details, rec.State.Result, true)
		if err != nil {
			return err
		}
		rec.State.Result = &res
		return fl.resumeAt(ctx, f.ops, rec, stepGateway)
	})
}

// createDetails turns the gateway's result into Cleeng payment details and
// records the front-end's answer; a refusal ends the update, a shopper
// action parks it.
func (f *Flows) createDetails(ctx context.Context, rec *ops.Record[updateDetailsState]) error {
	st := &rec.State
	res := st.Result
	switch {
	case res.Outcome == gateways.Refused:
		st.Outcome = &messages.DetailsOutcome{Status: "rejected", RequestID: st.RequestID, RejectedReason: res.RefusalReason}
		st.Result = settled(res)
		return endHere()
	case res.Outcome == gateways.ActionRequired:
		st.Outcome = &messages.DetailsOutcome{Status: messages.StatusActionRequired, RequestID: st.RequestID, PaymentMethodID: st.PaymentMethodID, Action: res.Action}
		return parkAt(stepAwaitingShopper, nil)
	case res.Token == "":
		return failure.Permanentf("gateway %s authorised the new card but returned no recurring token", st.Gateway)
	}
	details, err := f.cleeng.CreatePaymentDetails(ctx, cleeng.CreatePaymentDetailsRequest{
		CustomerID: st.CustomerID, Token: cleeng.Secret(res.Token), PaymentMethodID: st.PaymentMethodID,
		PaymentMethodSpecificParams: methodParams(*res),
	})
	if err != nil {
		return err
	}
	st.Outcome = &messages.DetailsOutcome{Status: "active", RequestID: st.RequestID, PaymentDetailsID: details.ID, PaymentMethodID: details.PaymentMethodID,
		PaymentMethodSpecificParams: withoutHolderName(details.PaymentMethodSpecificParams)}
	// The last step: the token, the card and Cleeng's copy of its details
	// (the holder's name) are Cleeng's now, not this record's.
	st.Result = settled(res)
	return nil
}

// withoutHolderName is a card's paymentMethodSpecificParams for the
// front-end's answer and the record that keeps it: the card's summary
// (brand, last four digits, expiry) without the holder's name.
func withoutHolderName(params json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(params, &fields) != nil {
		return nil // not an object: nothing of it is kept
	}
	delete(fields, "holderName")
	b, _ := json.Marshal(fields) // re-encodes what was just decoded
	return b
}
