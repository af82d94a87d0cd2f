package flows

import (
	"context"
	"fmt"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// renewalState is the record of one dunning attempt (authorise or charge).
type renewalState struct {
	Order   orderFacts       `json:"order"`
	Renewal renewalFacts     `json:"renewal"`
	Result  *gateways.Result `json:"result,omitempty"`
	Payment *cleeng.Payment  `json:"payment,omitempty"`
	// Awaiting is set while the outcome can only come by notification.
	Awaiting *awaiting `json:"awaiting,omitempty"`
}

// renewalFacts are what reporting a renewal to Cleeng needs of its webhook.
type renewalFacts struct {
	SubscriptionID   cleeng.ID `json:"subscriptionId"`
	CustomerID       cleeng.ID `json:"customerId"`
	PaymentDetailsID cleeng.ID `json:"paymentDetailsId"`
	AuthoriseOnly    bool      `json:"authoriseOnly,omitempty"`
}

const (
	flowAuthorise = "authorise"
	flowCharge    = "charge" // capture-only: a direct charge on the capture webhook
)

// decodeWebhook decodes a stored Cleeng webhook; the ingress validated it,
// so a failure here is permanent.
func decodeWebhook(data []byte) (cleeng.Webhook, error) {
	w, err := cleeng.DecodeWebhook(data)
	if err != nil {
		return w, failure.Permanent(fmt.Errorf("cleeng webhook: %w", err))
	}
	return w, nil
}

func dunningOf(data []byte, topic cleeng.Topic) (*cleeng.DunningData, error) {
	w, err := decodeWebhook(data)
	if err != nil {
		return nil, err
	}
	if w.Topic != topic || w.Dunning == nil {
		return nil, failure.Permanentf("cleeng webhook: topic %s where %s was expected", w.Topic, topic)
	}
	return w.Dunning, nil
}

// Authorise handles subscriptionReadyForPaymentAuthorisation: create the
// renewal order, authorise its amount with the stored token, and report the
// payment to Cleeng as authorized or rejected.
//
// Failure policy: the key is the dunning attempt (subscription + attempt
// date), so a re-sent webhook resumes the same operation and the gateway
// sees the same idempotency key: at most one authorisation per attempt.
func (f *Flows) Authorise(ctx context.Context, data []byte) error {
	d, err := dunningOf(data, cleeng.TopicPaymentAuthorisation)
	if err != nil {
		return err
	}
	key := opKey(flowAuthorise, d.SubscriptionID.String(), d.DunningAttemptDate)
	return f.renew(ctx, key, flowAuthorise, d, true)
}

// renew runs one dunning attempt: order, gateway, Cleeng payment.
// authoriseOnly reserves the funds (the authorisation webhook); otherwise the
// order is charged directly (capture-only).
func (f *Flows) renew(ctx context.Context, key, flow string, d *cleeng.DunningData, authoriseOnly bool) error {
	return operate(ctx, f.ops, key, flow, func(ctx context.Context, rec *ops.Record[renewalState]) error {
		g, err := f.router.ForMethod(d.PaymentMethodID)
		if err != nil {
			return fail(ctx, f.ops, rec, err)
		}
		if authoriseOnly && !g.Capabilities().SeparateCapture {
			return fail(ctx, f.ops, rec, failure.Permanentf(
				"gateway %s cannot authorise without capturing: turn authorizedFirst off in Cleeng's dunning settings for paymentMethodId %s", g.Name(), d.PaymentMethodID))
		}
		if rec.Step == "" {
			// A second order after an ambiguous POST /orders is harmless: an
			// order is a quote that expires; only a payment moves money.
			order, err := f.cleeng.CreateOrder(ctx, cleeng.CreateOrderRequest{
				CustomerID: d.CustomerID, OfferID: d.OfferID, Currency: d.Currency, Country: d.PaymentCountry,
				PaymentMethodID: d.PaymentMethodID, PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: d.SubscriptionID,
			})
			if err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			rec.State.Order = factsOf(order, g.Name())
			rec.State.Renewal = renewalFacts{SubscriptionID: d.SubscriptionID, CustomerID: d.CustomerID,
				PaymentDetailsID: d.PaymentDetailsID, AuthoriseOnly: authoriseOnly}
			if _, err := rec.State.Order.amount(); err != nil {
				return fail(ctx, f.ops, rec, err)
			}
			if err := rec.Save(ctx, f.ops, stepOrder); err != nil {
				return err
			}
		}
		if rec.Step == stepOrder || chargeInDoubt(rec.Step) {
			if err := f.charge(ctx, g, rec, key, d, authoriseOnly); err != nil {
				return err
			}
		}
		return f.reportRenewal(ctx, rec)
	})
}

// charge calls the gateway for the renewal order and records its result.
//
// Failure policy: a gateway with idempotency keys is simply called again
// after an unknown outcome. A gateway without them (Cleverbridge's Process
// Cart) is never called twice: a lost answer parks the attempt until the
// gateway's notification records the result or Options.NotificationTimeout
// runs out. A payment any gateway answers pending (an offline payment, an
// Adyen Pending) waits the same way for its notification.
func (f *Flows) charge(ctx context.Context, g gateways.Gateway, rec *ops.Record[renewalState], key string, d *cleeng.DunningData, authoriseOnly bool) error {
	retryable := g.Capabilities().IdempotencyKeys
	switch rec.Step {
	case stepAwaitingNotification:
		return f.stillAwaiting(ctx, rec)
	case stepGatewayCall:
		return f.await(ctx, rec, awaitLostAnswer, "the attempt that called the gateway ended before recording its answer")
	}
	order := rec.State.Order
	if !retryable {
		if err := f.noChargeInDoubt(ctx, rec); err != nil {
			return err
		}
	}
	// Indexed before the call: an outcome known only by notification (a
	// pending payment, a lost answer) may have its notification overtake
	// the answer.
	if err := f.indexPending(ctx, pendingIndex{Gateway: g.Name(), OrderID: order.ID, OpKey: key, Flow: rec.Flow}); err != nil {
		return err
	}
	if !retryable {
		if err := rec.Save(ctx, f.ops, stepGatewayCall); err != nil {
			return err
		}
	}
	amount, _ := order.amount() // validated when recorded
	res, err := g.Pay(ctx, gateways.PayRequest{
		IdempotencyKey:   key,
		Reference:        order.ID.String(),
		Amount:           amount,
		ShopperReference: d.CustomerID.String(),
		Token:            string(d.Token),
		AuthoriseOnly:    authoriseOnly,
		Metadata: map[string]string{"customerId": d.CustomerID.String(), "subscriptionId": d.SubscriptionID.String(),
			"orderId": order.ID.String()},
	})
	switch {
	case !retryable && failure.Is(err, failure.ClassUnknownOutcome):
		return f.await(ctx, rec, awaitLostAnswer, err.Error())
	case err != nil:
		return fail(ctx, f.ops, rec, err)
	case res.Outcome == gateways.Pending:
		return f.await(ctx, rec, awaitPendingPayment, "the gateway reported the payment pending")
	}
	rec.State.Result = &res
	return rec.Save(ctx, f.ops, stepGateway)
}

// reportRenewal reports the gateway's recorded result to Cleeng as the
// renewal's payment, and ends the operation.
func (f *Flows) reportRenewal(ctx context.Context, rec *ops.Record[renewalState]) error {
	r := rec.State.Renewal
	if rec.Step == stepGateway {
		res := *rec.State.Result
		req := cleeng.CreatePaymentRequest{
			OrderID: rec.State.Order.ID, PaymentOperation: cleeng.OperationRecurringPayment,
			ExternalPaymentID: res.PaymentReference, PaymentDetailsID: r.PaymentDetailsID, SubscriptionID: r.SubscriptionID,
		}
		switch res.Outcome {
		case gateways.Authorised:
			req.Status = cleeng.StatusAuthorized
			if !r.AuthoriseOnly {
				req.Status = cleeng.StatusCaptured // auto-captured by the gateway
			}
		case gateways.Captured:
			req.Status = cleeng.StatusCaptured
		case gateways.Refused:
			req.Status, req.RejectedReason = cleeng.StatusRejected, res.RefusalReason
		case gateways.ActionRequired:
			// Nobody is present to authenticate a merchant-initiated renewal.
			req.Status, req.RejectedReason = cleeng.StatusRejected, "the issuer asked for shopper authentication on a renewal"
		default:
			return failure.NotYet(0, fmt.Errorf("renewal %s: gateway outcome %q is not final yet", rec.Key, res.Outcome))
		}
		idx := paymentIndex{Gateway: rec.State.Order.Gateway, ExternalPaymentID: res.PaymentReference,
			OpKey: rec.Key, OrderID: rec.State.Order.ID, CustomerID: r.CustomerID, SubscriptionID: r.SubscriptionID}
		payment, err := f.reportPayment(ctx, idx, req)
		if err != nil {
			return fail(ctx, f.ops, rec, err)
		}
		rec.State.Payment = &payment
		if err := rec.Save(ctx, f.ops, stepCleengPayment); err != nil {
			return err
		}
	}
	return rec.Finish(ctx, f.ops, stepDone)
}
