package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/knockout"
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
	fl := f.renewalFlow(flowAuthorise, *d)
	return fl.start(ctx, f.ops, opKey(flowAuthorise, d.SubscriptionID.String(), d.DunningAttemptDate))
}

// renewalFlow is one dunning attempt (flowAuthorise: authorise-only, on the
// authorisation webhook; flowCharge: a direct charge, on the capture webhook
// when nothing is authorised): order, gateway, Cleeng payment. d is the
// webhook's; an event resuming the attempt after its gateway step passes
// none, since only the Cleeng report is left and it reads the record.
//
// Failure policy: a gateway with idempotency keys is simply called again
// after an unknown outcome. A gateway without them (Cleverbridge's Process
// Cart) is never called twice: the attempt first takes its subscription's
// charge lock (lockCharge), so a second attempt waits while one is in flight
// or in doubt; its intent (gateway-call) is recorded before the call, and
// resuming there, or a lost answer, parks the attempt until the gateway's
// notification records the result or Options.NotificationTimeout runs out. A payment any gateway answers pending (an offline payment, an
// Adyen Pending) waits the same way for its notification.
func (f *Flows) renewalFlow(name string, d cleeng.DunningData) *flow[renewalState] {
	authoriseOnly := name == flowAuthorise
	return &flow[renewalState]{
		Name: name,
		Steps: []step[renewalState]{
			{stepOrder, func(ctx context.Context, rec *ops.Record[renewalState]) error {
				g, err := f.router.ForMethod(d.PaymentMethodID)
				if err != nil {
					return err
				}
				if authoriseOnly && !g.Capabilities().SeparateCapture {
					return failure.Permanentf("gateway %s cannot authorise without capturing: turn authorizedFirst off in Cleeng's dunning settings for paymentMethodId %s", g.Name(), d.PaymentMethodID)
				}
				// A second order after an ambiguous POST /orders is harmless: an
				// order is a quote that expires; only a payment moves money.
				order, err := f.cleeng.CreateOrder(ctx, cleeng.CreateOrderRequest{
					CustomerID: d.CustomerID, OfferID: d.OfferID, Currency: d.Currency, Country: d.PaymentCountry,
					PaymentMethodID: d.PaymentMethodID, PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: d.SubscriptionID,
				})
				if err != nil {
					return err
				}
				rec.State.Order = factsOf(order, g.Name())
				rec.State.Renewal = renewalFacts{SubscriptionID: d.SubscriptionID, CustomerID: d.CustomerID,
					PaymentDetailsID: d.PaymentDetailsID, AuthoriseOnly: authoriseOnly}
				_, err = rec.State.Order.amount()
				return err
			}},
			{stepChargeLock, f.lockCharge},
			{stepGateway, func(ctx context.Context, rec *ops.Record[renewalState]) error {
				return f.charge(ctx, rec, d)
			}},
			{stepCleengPayment, f.reportRenewal},
		},
		Parked: []parked[renewalState]{
			{State: stepGatewayCall, ResumedBy: "the gateway's payment notification (the call's answer was lost)",
				Look: func(_ context.Context, rec *ops.Record[renewalState]) error {
					return f.await(rec, awaitLostAnswer, "the attempt that called the gateway ended before recording its answer")
				}},
			{State: stepAwaitingNotification, ResumedBy: "the gateway's payment notification, or the timeout",
				Look: f.stillAwaiting},
		},
	}
}

// charge calls the gateway for the renewal order and sets its result.
func (f *Flows) charge(ctx context.Context, rec *ops.Record[renewalState], d cleeng.DunningData) error {
	order := rec.State.Order
	g, err := f.router.ByName(order.Gateway)
	if err != nil {
		return err
	}
	retryable := g.Capabilities().IdempotencyKeys
	// Indexed before the call: an outcome known only by notification (a
	// pending payment, a lost answer) may have its notification overtake
	// the answer.
	if err := f.indexPending(ctx, pendingIndex{Gateway: g.Name(), OrderID: order.ID, OpKey: rec.Key, Flow: rec.Flow}); err != nil {
		return err
	}
	before := rec.Step
	if !retryable {
		// The call's turn under the gateway's rate limit is waited for
		// before the intent, so a crash while waiting leaves nothing in doubt.
		if p, ok := g.(gateways.Pacer); ok {
			if ctx, err = p.Pace(ctx); err != nil {
				return err
			}
		}
		// The intent: from here on the call may have charged. (A test
		// build's knockout leaves it out.)
		if !knockout.Off(knockout.Intent) {
			if err := rec.Save(ctx, f.ops, stepGatewayCall); err != nil {
				return err
			}
		}
	}
	amount, _ := order.amount() // validated when recorded
	res, err := g.Pay(ctx, gateways.PayRequest{
		IdempotencyKey:   rec.Key,
		Reference:        order.ID.String(),
		Amount:           amount,
		ShopperReference: d.CustomerID.String(),
		Token:            string(d.Token),
		AuthoriseOnly:    rec.State.Renewal.AuthoriseOnly,
		Metadata: map[string]string{"customerId": d.CustomerID.String(), "subscriptionId": d.SubscriptionID.String(),
			"orderId": order.ID.String()},
	})
	switch {
	case !retryable && failure.Is(err, failure.ClassUnknownOutcome):
		return f.await(rec, awaitLostAnswer, err.Error())
	case !retryable && (failure.Is(err, failure.ClassTransient) || failure.Is(err, failure.ClassNotYet)):
		return f.withdrawIntent(ctx, rec, before, err)
	case err != nil:
		return err
	case res.Outcome == gateways.Pending:
		return f.await(rec, awaitPendingPayment, "the gateway reported the payment pending")
	}
	// A renewal reports the outcome and its reference: the card (its
	// holder's name) and the token the gateway echoes are not kept.
	rec.State.Result = settled(&res)
	return nil
}

// withdrawIntent moves a renewal back to the step it had before its intent
// (gateway-call) when the call charged nothing: the gateways classify
// "transient" as not sent or answered unprocessed, and a guard's refusal
// or wait (gateways/guard) as not sent, transient or not yet. The
// redelivery then calls again instead of waiting for a notification that
// cannot come. It is written even when ctx was cut short (a drain during a
// rate limit's wait); if it cannot be written the renewal stays in doubt,
// the safe side. The message gets err back, to be redelivered as its class says.
func (f *Flows) withdrawIntent(ctx context.Context, rec *ops.Record[renewalState], before string, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), withdrawTimeout)
	defer cancel()
	return errors.Join(err, rec.Save(ctx, f.ops, before))
}

// withdrawTimeout bounds writing a withdrawn intent.
const withdrawTimeout = 5 * time.Second

// reportRenewal reports the gateway's recorded result to Cleeng as the
// renewal's payment.
func (f *Flows) reportRenewal(ctx context.Context, rec *ops.Record[renewalState]) error {
	r, res := rec.State.Renewal, *rec.State.Result
	what := reportCharge
	if r.AuthoriseOnly {
		what = reportAuthorise
	}
	status, reason, err := cleengStatus(what, res)
	if err != nil {
		return err
	}
	req := cleeng.CreatePaymentRequest{
		OrderID: rec.State.Order.ID, PaymentOperation: cleeng.OperationRecurringPayment, Status: status, RejectedReason: reason,
		ExternalPaymentID: res.PaymentReference, PaymentDetailsID: r.PaymentDetailsID, SubscriptionID: r.SubscriptionID,
	}
	idx := paymentIndex{Gateway: rec.State.Order.Gateway, ExternalPaymentID: res.PaymentReference,
		OpKey: rec.Key, OrderID: rec.State.Order.ID, CustomerID: r.CustomerID, SubscriptionID: r.SubscriptionID}
	payment, err := f.reportPayment(ctx, idx, req)
	if err != nil {
		return err
	}
	rec.State.Payment = &payment
	return nil
}
