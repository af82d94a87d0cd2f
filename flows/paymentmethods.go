package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/money"
)

// PaymentMethods answers a payment-methods query: the methods of the
// gateway that can pay the customer's order (its amount, currency and
// country) or, without an order, be stored as new payment details (the
// zero amount of a card check, in ZeroAuthCurrency), limited to the types
// configured for the gateway. It changes nothing and records nothing.
//
// The shopper's stored methods are left out: their ids are the tokens
// renewals charge, which never leave the connector, and a front-end pays
// with new payment data only (the ingress refuses storedPaymentMethodId).
// Why an answer has no methods is a stable code and a short message for
// the front-end; Cleeng's or the gateway's own words go to the log.
func (f *Flows) PaymentMethods(ctx context.Context, q messages.PaymentMethodsQuery) messages.PaymentMethodsAnswer {
	g, err := f.router.ByName(q.Gateway)
	lister, ok := g.(gateways.PaymentMethodLister)
	if err != nil || !ok {
		return messages.PaymentMethodsAnswer{Code: messages.QueryNotPossible, Error: "this connector lists no payment methods of " + q.Gateway}
	}
	req := gateways.PaymentMethodsRequest{Allowed: f.opts.AllowedPaymentMethods[q.Gateway]}
	if q.OrderID == 0 {
		req.Amount, err = money.New("0", f.opts.ZeroAuthCurrency)
	} else {
		var refused *messages.PaymentMethodsAnswer
		var methodID cleeng.ID
		if req.Amount, req.CountryCode, methodID, refused, err = f.orderToList(ctx, q); refused != nil {
			return *refused
		}
		if req.Allowed, refused = f.typesOf(methodID, req.Allowed); refused != nil {
			return *refused
		}
	}
	if err == nil {
		var pm gateways.PaymentMethods
		if pm, err = lister.PaymentMethods(ctx, req); err == nil {
			return messages.PaymentMethodsAnswer{Amount: &pm.Amount, CountryCode: req.CountryCode, PaymentMethods: pm.Methods}
		}
	}
	if failure.Is(err, failure.ClassPermanent) {
		f.log.Warn().Err(err).Int64("orderId", q.OrderID).Msg("payment methods not listed")
		return messages.PaymentMethodsAnswer{Code: messages.QueryNotPossible, Error: "no payment methods can be listed for this order"}
	}
	f.log.Warn().Err(err).Int64("orderId", q.OrderID).Msg("payment methods not listed now")
	return messages.PaymentMethodsAnswer{Code: messages.QueryUnavailable, Error: "payment methods cannot be listed now; retry"}
}

// orderToList reads the amount and country of the customer's order, which
// the queried gateway must be the one to pay; refused is the answer when
// the query cannot have one.
func (f *Flows) orderToList(ctx context.Context, q messages.PaymentMethodsQuery) (_ money.Amount, country string, methodID cleeng.ID, refused *messages.PaymentMethodsAnswer, _ error) {
	order, found, err := f.customersOrder(ctx, q.CustomerID, cleeng.ID(strconv.FormatInt(q.OrderID, 10)))
	if err != nil {
		return money.Amount{}, "", "", nil, err
	}
	if !found {
		return money.Amount{}, "", "", &messages.PaymentMethodsAnswer{Code: messages.OutcomeOrderNotFound, Error: "no order of yours with this id"}, nil
	}
	g, err := f.router.ForMethod(order.PaymentMethodID)
	if err != nil {
		return money.Amount{}, "", "", nil, err
	}
	if g.Name() != q.Gateway {
		return money.Amount{}, "", "", &messages.PaymentMethodsAnswer{Code: messages.QueryNotPossible, Error: "this order is not paid through " + q.Gateway}, nil
	}
	return order.Amount(), order.Country, order.PaymentMethodID, nil, nil
}

// typesOf narrows the gateway's allowed types (none: every type) to the
// ones the order's paymentMethodId pays with (Options.PaymentMethodTypes);
// refused is the answer when none is left.
func (f *Flows) typesOf(methodID cleeng.ID, allowed []string) (_ []string, refused *messages.PaymentMethodsAnswer) {
	types := f.opts.PaymentMethodTypes[methodID.String()]
	switch {
	case len(types) == 0:
		return allowed, nil
	case len(allowed) == 0:
		return types, nil
	}
	var both []string
	for _, t := range types {
		if slices.Contains(allowed, t) {
			both = append(both, t)
		}
	}
	if len(both) == 0 {
		return nil, &messages.PaymentMethodsAnswer{Code: messages.QueryNotPossible, Error: "this order's payment method is not offered"}
	}
	return both, nil
}

// methodMismatch says why paymentMethod cannot pay for an order of
// paymentMethodId (its type is not one of the id's types), or "" when it can.
func (f *Flows) methodMismatch(methodID cleeng.ID, paymentMethod json.RawMessage) string {
	types := f.opts.PaymentMethodTypes[methodID.String()]
	if len(types) == 0 {
		return ""
	}
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(paymentMethod, &head) // the ingress took only an object
	if slices.Contains(types, head.Type) {
		return ""
	}
	return fmt.Sprintf("paymentMethodId %s pays with %s, not paymentMethod.type %q", methodID, strings.Join(types, ", "), head.Type)
}
