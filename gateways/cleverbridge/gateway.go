package cleverbridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// Name is the gateway's name in configuration, events and subjects.
const Name = "cleverbridge"

// RefundElsewhere is where Cleverbridge purchases are refunded.
const RefundElsewhere = "Process Cart cannot refund: refund the purchase (Cleeng's externalPaymentId is the Cleverbridge purchase id) in Cleverbridge's Commerce Assistant, or ask Cleverbridge Client Experience"

// Gateway is the Cleverbridge implementation of gateways.Gateway: renewals
// of subscriptions "Handled by Client" through Process Cart. It is safe for
// concurrent use.
type Gateway struct {
	cfg  Config
	mode string // ProcessCartMode value
}

var _ gateways.Gateway = (*Gateway)(nil)

// New validates cfg and builds the gateway.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	mode, _ := processCartMode(cfg.Mode) // validated
	return &Gateway{cfg: cfg, mode: mode}, nil
}

// Name returns "cleverbridge".
func (g *Gateway) Name() string { return Name }

// Capabilities: Process Cart charges a stored subscription, nothing else.
// Without an idempotency key a call whose answer was lost is never
// repeated: the flow waits for the purchase notification.
func (g *Gateway) Capabilities() gateways.Capabilities {
	return gateways.Capabilities{RefundElsewhere: RefundElsewhere}
}

// Pay bills a renewal: POST /cart/processcart for the Cleverbridge
// subscription in req.Token, the configured product, quantity 1, at the
// order's amount, with req.Metadata as x-parameters. A first payment or an
// authorisation is refused with a permanent error: the initial purchase
// happens in Cleverbridge's checkout, and Cleverbridge only charges.
func (g *Gateway) Pay(ctx context.Context, req gateways.PayRequest) (gateways.Result, error) {
	if req.AuthoriseOnly {
		return gateways.Result{}, failure.Permanentf("cleverbridge cannot authorise without capturing: turn authorizedFirst off in Cleeng for this payment method")
	}
	if req.Token == "" {
		return gateways.Result{}, failure.Permanentf("cleverbridge payment %s: a Cleverbridge subscription id (the payment details' token) is required: first purchases happen in Cleverbridge's checkout", req.Reference)
	}
	if req.Amount.IsZero() {
		return gateways.Result{}, failure.Permanentf("cleverbridge payment %s: no zero-amount authorisation: Process Cart only charges", req.Reference)
	}
	body, err := g.processCartBody(req)
	if err != nil {
		return gateways.Result{}, err
	}
	resp, err := g.processCart(ctx, "cleverbridge process cart "+req.Reference, req.Token, body)
	if err != nil {
		return gateways.Result{}, err
	}
	return result("cleverbridge process cart "+req.Reference, resp)
}

func (g *Gateway) processCartBody(req gateways.PayRequest) ([]byte, error) {
	price, err := dynamicPrice(req.Amount)
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("cleverbridge payment %s: %w", req.Reference, err))
	}
	body := ProcessCartBody{ProcessCartRequest: ProcessCartRequest{
		Cart: Cart{Items: []CartItem{{
			ProductID:    json.Number(g.cfg.ProductID),
			Quantity:     1,
			DynamicPrice: price,
		}}},
		DefaultLanguageID: g.cfg.LanguageID,
		ExtraParameters:   ExtraParametersFrom(req.Metadata),
		ProcessCartMode:   g.mode,
		Subscription:      &Subscription{SubscriptionID: req.Token},
	}}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("cleverbridge payment %s: encoding the cart: %w", req.Reference, err))
	}
	return b, nil
}

// dynamicPrice writes the amount with its currency's decimals (9.99 EUR,
// 1000 JPY), from decimal text; more decimals than the currency has is an
// error, never rounded.
func dynamicPrice(a money.Amount) (*DynamicPrice, error) {
	if _, err := a.Minor(); err != nil {
		return nil, err
	}
	exp, _ := money.Exponent(a.Currency) // validated by Minor
	return &DynamicPrice{Amount: Decimal(a.Value.StringFixed(exp)), CurrencyID: a.Currency, IsGross: true}, nil
}

// CompleteAction is not supported: the customer completes a Pending or
// CustomerActionNeeded purchase at Cleverbridge's URL, and the outcome
// arrives as a purchase notification.
func (g *Gateway) CompleteAction(context.Context, gateways.ActionRequest) (gateways.Result, error) {
	return gateways.Result{}, failure.Permanentf("cleverbridge has no shopper actions: the customer completes the purchase at the URL Cleverbridge returned")
}

// Capture is not supported: Cleverbridge charges at once.
func (g *Gateway) Capture(context.Context, gateways.ModifyRequest) (gateways.Result, error) {
	return gateways.Result{}, failure.Permanentf("cleverbridge cannot capture an authorisation (it charges at once): turn authorizedFirst off in Cleeng for this payment method")
}

// Refund is not supported through Process Cart; see RefundElsewhere.
func (g *Gateway) Refund(context.Context, gateways.ModifyRequest) (gateways.Result, error) {
	return gateways.Result{}, failure.Permanentf("cleverbridge refund: %s", RefundElsewhere)
}

// Cancel is not supported: there are no open authorisations to cancel.
func (g *Gateway) Cancel(context.Context, gateways.ModifyRequest) (gateways.Result, error) {
	return gateways.Result{}, failure.Permanentf("cleverbridge cancel: Cleverbridge holds no open authorisations to cancel")
}

// DeleteToken is not supported: the Cleverbridge subscription's payment
// details are managed at Cleverbridge.
func (g *Gateway) DeleteToken(context.Context, gateways.TokenRequest) error {
	return failure.Permanentf("cleverbridge delete token: payment details of a Cleverbridge subscription are managed in Cleverbridge, not through Process Cart")
}
