package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
)

// Steps of the initial purchase, recorded in order.
const (
	stepOrder           = "order"            // order read: amount, currency, customer, method
	stepGateway         = "gateway"          // gateway answered; Result recorded
	stepAwaitingShopper = "awaiting-shopper" // 3-D Secure or redirect handed to the front-end
	stepCleengPayment   = "cleeng-payment"   // Cleeng payment created
	stepDone            = "done"
)

// initialState is the initial purchase's record (key initial.<orderId>).
type initialState struct {
	Order   orderFacts       `json:"order"`
	Result  *gateways.Result `json:"result,omitempty"`
	Payment *cleeng.Payment  `json:"payment,omitempty"`
	// Outcome is what the front-end is answered (ingress reads it).
	Outcome *messages.CheckoutOutcome `json:"outcome,omitempty"`
}

// orderFacts are what a flow needs of a Cleeng order.
type orderFacts struct {
	ID              cleeng.ID `json:"id"`
	CustomerID      cleeng.ID `json:"customerId"`
	PaymentMethodID cleeng.ID `json:"paymentMethodId"`
	Amount          string    `json:"amount"` // decimal major units, as Cleeng gave it
	Currency        string    `json:"currency"`
	Gateway         string    `json:"gateway"`
}

func factsOf(o cleeng.Order, gateway string) orderFacts {
	return orderFacts{ID: o.ID, CustomerID: o.CustomerID, PaymentMethodID: o.PaymentMethodID,
		Amount: o.TotalPrice.String(), Currency: o.Currency, Gateway: gateway}
}

func (o orderFacts) amount() (money.Amount, error) {
	a, err := money.New(o.Amount, o.Currency)
	if err != nil {
		return a, failure.Permanent(fmt.Errorf("order %s: %w", o.ID, err))
	}
	if _, err := a.Minor(); err != nil {
		return a, failure.Permanent(fmt.Errorf("order %s: %w", o.ID, err))
	}
	return a, nil
}

const flowInitial = "initial-purchase"

// InitialPayment handles checkout.payment: charge the order, store the
// token as Cleeng payment details, and create the Cleeng payment.
func (f *Flows) InitialPayment(ctx context.Context, data []byte) error {
	var cmd messages.PaymentCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		return failure.Permanent(fmt.Errorf("checkout.payment: %w", err))
	}
	return f.initialFlow(cmd).start(ctx, f.ops, messages.InitialKey(cmd.CustomerID, cmd.OrderID))
}

// initialFlow is the initial purchase (and free trial) of the order cmd
// names. An event resuming the purchase after its gateway step passes no
// command: only the Cleeng report is left, and it reads the record.
//
// Failure policy: every step's result is recorded before the next step, so a
// redelivery resumes and never charges twice (the gateway call also carries
// an idempotency key derived from the order). A refusal is an outcome, not an
// error. A shopper action parks the operation until checkout.details; a
// payment the gateway answers pending parks it until its notification.
func (f *Flows) initialFlow(cmd messages.PaymentCommand) *flow[initialState] {
	return &flow[initialState]{
		Name: flowInitial,
		Steps: []step[initialState]{
			{stepOrder, func(ctx context.Context, rec *ops.Record[initialState]) error {
				if err := f.readOrder(ctx, rec, cmd.CustomerID, cleeng.ID(strconv.FormatInt(cmd.OrderID, 10))); err != nil {
					return err
				}
				// Paid with another method than its id says, Cleeng would
				// record the subscription under the wrong method: refused
				// before anything is charged.
				if why := f.methodMismatch(rec.State.Order.PaymentMethodID, cmd.PaymentMethod); why != "" {
					rec.State.Outcome = &messages.CheckoutOutcome{Status: messages.StatusFailed, Code: messages.OutcomeMethodMismatch,
						OrderID: rec.State.Order.ID, RejectedReason: why}
					return endHere()
				}
				return nil
			}},
			{stepGateway, func(ctx context.Context, rec *ops.Record[initialState]) error {
				g, err := f.router.ByName(rec.State.Order.Gateway)
				if err != nil {
					return err
				}
				// Indexed before the call, as renewals do: a pending payment's
				// notification finds this operation (and may overtake the answer).
				if err := f.indexPending(ctx, pendingIndex{Gateway: g.Name(), OrderID: rec.State.Order.ID, OpKey: rec.Key, Flow: flowInitial}); err != nil {
					return err
				}
				res, err := f.payInitial(ctx, g, rec.State.Order, cmd)
				if err != nil {
					return err
				}
				rec.State.Result = &res
				return nil
			}},
			{stepCleengPayment, f.reportInitial},
		},
		// A copy of the command while the purchase is parked leaves it parked.
		Parked: []parked[initialState]{
			{State: stepAwaitingShopper, ResumedBy: "checkout.details (the shopper's 3-D Secure or redirect result)"},
			{State: stepAwaitingNotification, ResumedBy: "the gateway's AUTHORISATION notification"},
		},
	}
}

// PaymentActionDetails handles checkout.details: the shopper's 3-D Secure
// or redirect result completes the parked initial purchase. Details the
// gateway rejects are dead-lettered and leave the purchase waiting for
// valid ones.
func (f *Flows) PaymentActionDetails(ctx context.Context, data []byte) error {
	var cmd messages.DetailsCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		return failure.Permanent(fmt.Errorf("checkout.details: %w", err))
	}
	fl := f.initialFlow(messages.PaymentCommand{})
	return operate(ctx, f.ops, messages.InitialKey(cmd.CustomerID, cmd.OrderID), flowInitial, func(ctx context.Context, rec *ops.Record[initialState]) error {
		switch rec.Step {
		case stepGateway, stepCleengPayment:
			return fl.run(ctx, f.ops, rec) // a copy after the action completed
		case stepAwaitingShopper:
		default:
			return failure.Permanentf("order %d: payment details arrived but no shopper action is pending (step %q)", cmd.OrderID, rec.Step)
		}
		res, err := f.completeAction(ctx, rec.State.Order.Gateway, "initial-"+rec.State.Order.ID.String(), cmd.Details, rec.State.Result, false)
		if err != nil {
			return err
		}
		rec.State.Result = &res
		return fl.resumeAt(ctx, f.ops, rec, stepGateway)
	})
}

// completeAction sends a shopper's action result (3-D Secure, redirect) to
// the gateway that asked for it, with an idempotency key derived from the
// operation and the result. Its errors leave the operation waiting for the
// shopper: rejected details are dead-lettered, valid ones may follow.
func (f *Flows) completeAction(ctx context.Context, gateway, key string, details json.RawMessage, asked *gateways.Result, authoriseOnly bool) (gateways.Result, error) {
	g, err := f.router.ByName(gateway)
	if err != nil {
		return gateways.Result{}, err
	}
	return g.CompleteAction(ctx, gateways.ActionRequest{
		IdempotencyKey: key + "-details-" + shortHash(details),
		Details:        details,
		PaymentData:    asked.PaymentData,
		AuthoriseOnly:  authoriseOnly,
	})
}

// readOrder records the order when it is the customer's. An order Cleeng
// does not hold, or holds for another customer, ends the operation with
// the outcome order_not_found before anything is charged or recorded of
// it: it is the caller's mistake (or probe), not an operator's problem.
func (f *Flows) readOrder(ctx context.Context, rec *ops.Record[initialState], customerID int64, orderID cleeng.ID) error {
	order, found, err := f.customersOrder(ctx, customerID, orderID)
	if err != nil {
		return err
	}
	if !found {
		rec.State.Outcome = &messages.CheckoutOutcome{Status: messages.StatusFailed, Code: messages.OutcomeOrderNotFound, OrderID: orderID}
		return endHere()
	}
	g, err := f.router.ForMethod(order.PaymentMethodID)
	if err != nil {
		return err
	}
	rec.State.Order = factsOf(order, g.Name())
	_, err = rec.State.Order.amount()
	return err
}

// customersOrder reads an order of the customer's: found is false when
// Cleeng does not hold it, or holds it for another customer, alike.
func (f *Flows) customersOrder(ctx context.Context, customerID int64, orderID cleeng.ID) (order cleeng.Order, found bool, err error) {
	order, err = f.cleeng.GetOrder(ctx, orderID)
	var apiErr *cleeng.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return order, false, nil
	case err != nil:
		return order, false, err
	}
	return order, order.CustomerID.String() == strconv.FormatInt(customerID, 10), nil
}

// payInitial charges the order and stores a token.
func (f *Flows) payInitial(ctx context.Context, g gateways.Gateway, order orderFacts, cmd messages.PaymentCommand) (gateways.Result, error) {
	amount, err := order.amount()
	if err != nil {
		return gateways.Result{}, err
	}
	return f.storeToken(ctx, g, gateways.PayRequest{
		IdempotencyKey:   "initial-" + order.ID.String(),
		Reference:        order.ID.String(),
		Amount:           amount,
		ShopperReference: order.CustomerID.String(),
		PaymentMethod:    cmd.PaymentMethod,
		StoreToken:       true,
		Shopper:          cmd.Shopper,
		Metadata:         map[string]string{"customerId": order.CustomerID.String(), "orderId": order.ID.String()},
	})
}

// storeToken pays req, which stores a token. A zero amount (a free trial,
// a new card) uses a zero-amount authorisation; a gateway without one
// authorises the smallest unit and cancels it (the token-only path), so no
// money moves either way.
func (f *Flows) storeToken(ctx context.Context, g gateways.Gateway, req gateways.PayRequest) (gateways.Result, error) {
	caps := g.Capabilities()
	if !req.Amount.IsZero() || caps.ZeroAmountAuth {
		return g.Pay(ctx, req)
	}
	if !caps.SeparateCapture || !caps.Cancel {
		return gateways.Result{}, failure.Permanentf("%s needs a card stored without a charge, and gateway %s can neither authorise zero nor cancel an authorisation: route this paymentMethodId to a gateway that can", req.Reference, g.Name())
	}
	var err error
	if req.Amount, err = money.FromMinor(1, req.Amount.Currency); err != nil {
		return gateways.Result{}, failure.Permanent(err)
	}
	req.AuthoriseOnly = true
	res, err := g.Pay(ctx, req)
	if err != nil || res.Outcome != gateways.Authorised {
		return res, err
	}
	if _, err := g.Cancel(ctx, gateways.ModifyRequest{IdempotencyKey: req.IdempotencyKey + "-void",
		PaymentReference: res.PaymentReference, Reference: req.Reference}); err != nil {
		return res, err
	}
	return res, nil
}

// reportInitial reports the gateway's result to Cleeng and records the
// front-end's answer; a shopper action or a pending payment parks the
// purchase instead.
func (f *Flows) reportInitial(ctx context.Context, rec *ops.Record[initialState]) error {
	st := &rec.State
	res := *st.Result
	switch res.Outcome {
	case gateways.ActionRequired:
		st.Outcome = &messages.CheckoutOutcome{Status: messages.StatusActionRequired, OrderID: st.Order.ID, Action: res.Action}
		return parkAt(stepAwaitingShopper, nil)
	case gateways.Pending, gateways.Received:
		// The gateway settles it by notification (Adyen's AUTHORISATION);
		// the front-end sees "pending" until then.
		return parkAt(stepAwaitingNotification, nil)
	}
	amount, err := st.Order.amount()
	if err != nil {
		return err
	}
	status, reason, err := cleengStatus(reportInitial, res)
	if err != nil {
		return err
	}
	req := cleeng.CreatePaymentRequest{
		OrderID:           st.Order.ID,
		PaymentOperation:  cleeng.OperationInitialPayment,
		ExternalPaymentID: res.PaymentReference,
		Status:            status,
		RejectedReason:    reason,
	}
	if amount.IsZero() {
		req.PaymentOperation = cleeng.OperationInitialFreeTrial
	}
	if status == cleeng.StatusCaptured {
		req.PaymentDetails = newPaymentDetails(res)
	}
	idx := paymentIndex{Gateway: st.Order.Gateway, ExternalPaymentID: res.PaymentReference,
		OpKey: rec.Key, OrderID: st.Order.ID, CustomerID: st.Order.CustomerID}
	payment, err := f.reportPayment(ctx, idx, req)
	if err != nil {
		return err
	}
	st.Payment = &payment
	st.Outcome = &messages.CheckoutOutcome{Status: string(payment.Status.Normalize()), OrderID: st.Order.ID,
		PaymentID: payment.ID, ExternalPaymentID: payment.ExternalPaymentID, RejectedReason: res.RefusalReason, Payment: &payment}
	st.Result = settled(st.Result)
	return nil
}

// newPaymentDetails turns a stored token and card into Cleeng payment details.
func newPaymentDetails(res gateways.Result) *cleeng.NewPaymentDetails {
	if res.Token == "" {
		return nil
	}
	return &cleeng.NewPaymentDetails{Token: cleeng.Secret(res.Token), PaymentMethodSpecificParams: methodParams(res)}
}

// methodParams are Cleeng's paymentMethodSpecificParams of what paid: a
// card's summary (a wallet's card names the wallet too), or a PayPal or
// bank account's, so a shopper recognises the method in their account.
func methodParams(res gateways.Result) json.RawMessage {
	var summary any
	switch {
	case res.Card != nil:
		summary = res.Card
	case res.Account != nil:
		summary = res.Account
	default:
		return nil
	}
	b, _ := json.Marshal(summary) // structs of strings always encode
	return b
}

// settled is what a finished operation keeps of a gateway's result: the
// outcome and its reference. The token, the card (its holder's name) and
// the shopper action were needed only to finish it.
func settled(res *gateways.Result) *gateways.Result {
	if res == nil {
		return nil
	}
	return &gateways.Result{Outcome: res.Outcome, PaymentReference: res.PaymentReference, RefusalReason: res.RefusalReason}
}

// initialNotified settles an initial purchase the gateway answered pending,
// from its authorisation notification; key is the purchase's operation,
// found through the pending index it wrote before calling the gateway.
func (f *Flows) initialNotified(ctx context.Context, key string, ev gateways.Event) error {
	if rec, err := ops.Get[initialState](ctx, f.ops, key); err != nil || rec.Status != ops.StatusInProgress {
		return ignoreNotFound(err) // a purchase already settled
	}
	fl := f.initialFlow(messages.PaymentCommand{})
	return operate(ctx, f.ops, key, flowInitial, func(ctx context.Context, rec *ops.Record[initialState]) error {
		switch rec.Step {
		case stepAwaitingNotification:
		case stepAwaitingShopper:
			// The shopper's result reached the gateway, and its answer was
			// never recorded (the worker sending it was killed; a redirect
			// method's shopper never came back from the bank): the
			// notification is the outcome, as for a pending payment.
		case stepGateway, stepCleengPayment:
			// The answer is recorded (the call's, or this notification's on
			// an earlier delivery): report it, if no one has yet.
			return fl.run(ctx, f.ops, rec)
		default:
			return failure.NotYet(0, fmt.Errorf("%s: authorisation notified before the gateway's answer was recorded", key))
		}
		res := gateways.Result{Outcome: gateways.Captured, PaymentReference: ev.PaymentReference, Token: ev.Token}
		if !ev.Success {
			res = gateways.Result{Outcome: gateways.Refused, PaymentReference: ev.PaymentReference, RefusalReason: orUnknown(ev.Reason)}
		}
		rec.State.Result = &res
		return fl.resumeAt(ctx, f.ops, rec, stepGateway)
	})
}
