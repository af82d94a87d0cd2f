package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/money"
)

// serve decodes the request body into In (unless In is struct{}), runs op
// under the state lock and writes its result or refusal.
func serve[In, Out any](s *Sandbox, w http.ResponseWriter, r *http.Request, hasBody bool, op func(In) (Out, int, error)) {
	var in In
	if hasBody {
		if err := decode(r, &in); err != nil {
			writeErr(w, err)
			return
		}
	}
	s.mu.Lock()
	out, status, err := op(in)
	if err == nil {
		s.changedLocked()
	}
	s.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

type none struct{}

func (s *Sandbox) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, true, func(req cleeng.CreateOrderRequest) (cleeng.Order, int, error) {
		o, err := s.createOrder(req)
		return o, http.StatusOK, err
	})
}

func (s *Sandbox) createOrder(req cleeng.CreateOrderRequest) (cleeng.Order, error) {
	if err := required(
		field{"customerId", req.CustomerID != ""}, field{"offerId", req.OfferID != ""},
		field{"currency", req.Currency != ""}, field{"country", len(req.Country) == 2},
		field{"paymentMethodId", req.PaymentMethodID != ""},
	); err != nil {
		return cleeng.Order{}, err
	}
	if _, ok := s.customers[req.CustomerID]; !ok {
		return cleeng.Order{}, unprocessable("customer_not_found", "customer %s not found", req.CustomerID)
	}
	offer, ok := s.offers[req.OfferID]
	if !ok {
		return cleeng.Order{}, unprocessable("offer_not_found", "offer %s not found", req.OfferID)
	}
	price, ok := offer.Prices[req.Country]
	if !ok {
		return cleeng.Order{}, unprocessable("offer_not_available", "offer %s is not sold in country %s", req.OfferID, req.Country)
	}
	if price.Currency != req.Currency {
		return cleeng.Order{}, unprocessable("currency_mismatch", "offer %s is sold in %s in %s, not %s", req.OfferID, price.Currency, req.Country, req.Currency)
	}
	if req.CouponCode != "" {
		return cleeng.Order{}, unprocessable("coupon_not_found", "coupon %s not found", req.CouponCode)
	}
	switch req.PaymentOperation {
	case "", cleeng.OperationInitialPayment, cleeng.OperationInitialFreeTrial:
	case cleeng.OperationRecurringPayment:
		sub, ok := s.subs[req.SubscriptionID]
		if !ok {
			return cleeng.Order{}, unprocessable("subscription_not_found", "a recurring-payment order needs an existing subscriptionId, got %q", req.SubscriptionID)
		}
		if sub.CustomerID != req.CustomerID || sub.OfferID != req.OfferID {
			return cleeng.Order{}, unprocessable("subscription_mismatch", "subscription %s belongs to customer %s, offer %s", sub.SubscriptionID, sub.CustomerID, sub.OfferID)
		}
		if sub.Status != cleeng.SubscriptionActive {
			return cleeng.Order{}, unprocessable("subscription_not_active", "subscription %s is %s", sub.SubscriptionID, sub.Status)
		}
	default:
		return cleeng.Order{}, badRequest("paymentOperation %q unknown", req.PaymentOperation)
	}
	tax, err := taxIncluded(price)
	if err != nil {
		return cleeng.Order{}, unprocessable("price_invalid", "offer %s: %v", req.OfferID, err)
	}
	now := s.now()
	o := &Order{
		Order: cleeng.Order{
			ID: s.newID(), CustomerID: req.CustomerID, OfferID: req.OfferID, Currency: req.Currency,
			Country: req.Country, PaymentMethodID: req.PaymentMethodID, TotalPrice: price.Amount,
			PriceBreakdown: cleeng.PriceBreakdown{
				OfferPrice: cleeng.Decimal{Decimal: price.Amount.Sub(tax)},
				TaxValue:   cleeng.Decimal{Decimal: tax},
			},
			TaxRate:                price.TaxRate,
			ExpirationDate:         now.Add(s.opts.OrderTTL).Format(time.RFC3339),
			RequiredPaymentDetails: req.PaymentOperation != cleeng.OperationRecurringPayment,
			PaymentOperation:       req.PaymentOperation,
			SubscriptionID:         req.SubscriptionID,
		},
		CreatedAt: now,
		ExpiresAt: now.Add(s.opts.OrderTTL),
	}
	s.orders[o.ID] = o
	return o.Order, nil
}

// taxIncluded is the tax inside a gross price, rounded to the currency's minor unit.
func taxIncluded(p Price) (decimal.Decimal, error) {
	exp, err := money.Exponent(p.Currency)
	if err != nil {
		return decimal.Decimal{}, err
	}
	rate := p.TaxRate.Decimal
	return p.Amount.Mul(rate).Div(rate.Add(decimal.NewFromInt(1))).Round(exp), nil
}

func (s *Sandbox) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, false, func(none) (cleeng.Order, int, error) {
		o, ok := s.orders[cleeng.ID(r.PathValue("id"))]
		if !ok {
			return cleeng.Order{}, 0, notFound("order %s not found", r.PathValue("id"))
		}
		return o.Order, http.StatusOK, nil
	})
}

func (s *Sandbox) handleCreatePayment(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, true, func(body json.RawMessage) (cleeng.Payment, int, error) {
		// The externally-managed form has no order and names the method.
		var probe struct {
			OrderID         cleeng.ID `json:"orderId"`
			PaymentMethodID cleeng.ID `json:"paymentMethodId"`
		}
		_ = json.Unmarshal(body, &probe) // a malformed form is refused by its strict decoding
		if probe.OrderID == "" && probe.PaymentMethodID != "" {
			return s.recordExternalPayment(body)
		}
		var req cleeng.CreatePaymentRequest
		if err := decodeFrom(bytes.NewReader(body), &req); err != nil {
			return cleeng.Payment{}, 0, err
		}
		p, status, err := s.createPayment(req)
		answer := status
		if e, ok := err.(*Error); ok {
			answer = e.Status
		}
		s.paymentRequests = append(s.paymentRequests, PaymentRequest{
			OrderID: req.OrderID, ExternalPaymentID: req.ExternalPaymentID, Status: req.Status.Normalize(), Answer: answer})
		return p, status, err
	})
}

// createPayment applies POST /payments. A second payment for an
// externalPaymentId is answered 409 with the existing payment as the body
// [decided], checked first so a re-sent POST learns what Cleeng holds.
func (s *Sandbox) createPayment(req cleeng.CreatePaymentRequest) (cleeng.Payment, int, error) {
	if id, ok := s.byExternal[req.ExternalPaymentID]; ok && req.ExternalPaymentID != "" {
		return *s.payments[id], http.StatusConflict, nil
	}
	status := req.Status.Normalize()
	if err := required(
		field{"orderId", req.OrderID != ""}, field{"status", status != ""},
		field{"paymentOperation", req.PaymentOperation != ""},
		field{"externalPaymentId", req.ExternalPaymentID != "" || status == cleeng.StatusRejected},
		field{"rejectedReason", req.RejectedReason != "" || status != cleeng.StatusRejected},
	); err != nil {
		return cleeng.Payment{}, 0, err
	}
	switch status {
	case cleeng.StatusCaptured, cleeng.StatusAuthorized, cleeng.StatusRejected, cleeng.StatusCancelled:
	default:
		return cleeng.Payment{}, 0, badRequest("status %q: want captured, authorized, rejected or cancelled", req.Status)
	}
	o, ok := s.orders[req.OrderID]
	if !ok {
		return cleeng.Payment{}, 0, unprocessable("order_not_found", "order %s not found", req.OrderID)
	}
	if s.now().After(o.ExpiresAt) {
		return cleeng.Payment{}, 0, unprocessable("order_expired", "order %s expired at %s", o.ID, o.ExpirationDate)
	}
	if paid := s.paymentOf(o.ID); paid != nil {
		return cleeng.Payment{}, 0, unprocessable("order_paid", "order %s already has payment %s (%s)", o.ID, paid.ID, paid.Status)
	}
	if req.PaymentOperation == cleeng.OperationRecurringPayment != (o.PaymentOperation == cleeng.OperationRecurringPayment) {
		return cleeng.Payment{}, 0, unprocessable("operation_mismatch", "paymentOperation %s does not match order %s", req.PaymentOperation, o.ID)
	}
	subID := o.SubscriptionID
	if req.SubscriptionID != "" && req.SubscriptionID != subID {
		return cleeng.Payment{}, 0, unprocessable("subscription_mismatch", "order %s is for subscription %q, not %s", o.ID, subID, req.SubscriptionID)
	}
	detailsID, err := s.paymentDetailsFor(req, o, subID)
	if err != nil {
		return cleeng.Payment{}, 0, err
	}
	p := &cleeng.Payment{
		ID: s.newID(), OrderID: o.ID, Status: status, ExternalPaymentID: req.ExternalPaymentID,
		PaymentDetailsID: detailsID, PaymentOperation: req.PaymentOperation, Amount: o.TotalPrice,
		Currency: o.Currency, SubscriptionID: subID, RejectedReason: req.RejectedReason,
	}
	s.payments[p.ID] = p
	if p.ExternalPaymentID != "" {
		s.byExternal[p.ExternalPaymentID] = p.ID
	}
	s.paymentSucceeded(p, o.Order)
	return *p, http.StatusOK, nil
}

// paymentOf returns the order's payment that was not rejected, if any.
func (s *Sandbox) paymentOf(orderID cleeng.ID) *cleeng.Payment {
	for _, p := range s.payments {
		if p.OrderID == orderID && p.Status != cleeng.StatusRejected {
			return p
		}
	}
	return nil
}

// paymentDetailsFor resolves the payment's details: created inline,
// referenced by id, or the subscription's.
func (s *Sandbox) paymentDetailsFor(req cleeng.CreatePaymentRequest, o *Order, subID cleeng.ID) (cleeng.ID, error) {
	switch {
	case req.PaymentDetails != nil:
		if req.PaymentDetails.Token == "" {
			return "", badRequest("paymentDetails.token: required")
		}
		d := s.addDetails(o.CustomerID, o.PaymentMethodID, string(req.PaymentDetails.Token), req.PaymentDetails.PaymentMethodSpecificParams, true)
		return d.ID, nil
	case req.PaymentDetailsID != "":
		d, ok := s.details[req.PaymentDetailsID]
		if !ok || d.Deleted || d.CustomerID != o.CustomerID {
			return "", unprocessable("payment_details_not_found", "payment details %s not found for customer %s", req.PaymentDetailsID, o.CustomerID)
		}
		return d.ID, nil
	case subID != "":
		return s.subs[subID].PaymentDetailsID, nil
	}
	return "", nil
}

// paymentSucceeded applies a captured or authorised payment to the
// subscription: an initial payment creates it, a captured renewal extends it.
func (s *Sandbox) paymentSucceeded(p *cleeng.Payment, o cleeng.Order) {
	if p.Status != cleeng.StatusCaptured && p.Status != cleeng.StatusAuthorized {
		return
	}
	offer := s.offers[o.OfferID]
	if p.SubscriptionID == "" {
		sub := &Subscription{
			Subscription: cleeng.Subscription{
				SubscriptionID: s.newID(), CustomerID: o.CustomerID, OfferID: o.OfferID,
				Status: cleeng.SubscriptionActive, ExpiresAt: s.now().Add(offer.period()).Format(time.RFC3339),
				PaymentDetailsID: p.PaymentDetailsID,
			},
			Country: o.Country, Currency: o.Currency,
		}
		s.subs[sub.SubscriptionID] = sub
		p.SubscriptionID = sub.SubscriptionID
		return
	}
	if p.Status == cleeng.StatusCaptured {
		sub := s.subs[p.SubscriptionID]
		from, err := time.Parse(time.RFC3339, sub.ExpiresAt)
		if err != nil || from.Before(s.now()) {
			from = s.now()
		}
		sub.ExpiresAt = from.Add(offer.period()).Format(time.RFC3339)
	}
}

func (s *Sandbox) handleUpdatePayment(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, true, func(req cleeng.UpdatePaymentRequest) (cleeng.Payment, int, error) {
		p, ok := s.payments[cleeng.ID(r.PathValue("id"))]
		if !ok {
			return cleeng.Payment{}, 0, notFound("payment %s not found", r.PathValue("id"))
		}
		if err := s.updatePayment(p, req); err != nil {
			return cleeng.Payment{}, 0, err
		}
		return *p, http.StatusOK, nil
	})
}

// updatePayment applies PATCH /payments/{id}. Setting the status the
// payment already has, with the same values, changes nothing and succeeds.
func (s *Sandbox) updatePayment(p *cleeng.Payment, req cleeng.UpdatePaymentRequest) error {
	target := req.Status.Normalize()
	switch target {
	case cleeng.StatusCaptured:
		if p.Status == cleeng.StatusCaptured && (req.ExternalPaymentID == "" || req.ExternalPaymentID == p.ExternalPaymentID) {
			return nil
		}
		if err := fromAuthorized(p, "captured"); err != nil {
			return err
		}
		if ext := req.ExternalPaymentID; ext != "" && ext != p.ExternalPaymentID {
			if other, taken := s.byExternal[ext]; taken && other != p.ID {
				return &Error{Status: http.StatusConflict, Code: "external_payment_id_taken", Message: "externalPaymentId " + ext + " belongs to payment " + string(other)}
			}
			p.ExternalPaymentID = ext
			s.byExternal[ext] = p.ID
		}
		p.Status = cleeng.StatusCaptured
		s.paymentSucceeded(p, s.orders[p.OrderID].Order)
	case cleeng.StatusRejected:
		if p.Status == cleeng.StatusRejected {
			return nil
		}
		if req.RejectedReason == "" {
			return badRequest("rejectedReason: required")
		}
		// A captured payment can be rejected too: the gateway failed a
		// capture the connector had reported (CAPTURE_FAILED) [decided].
		if p.Status != cleeng.StatusCaptured {
			if err := fromAuthorized(p, "rejected"); err != nil {
				return err
			}
		}
		p.Status, p.RejectedReason = cleeng.StatusRejected, req.RejectedReason
	case cleeng.StatusRefunded:
		return s.refund(p, req)
	default:
		return unprocessable("invalid_status", "status %q cannot be set on a payment: want captured, rejected or refunded (cancel with PATCH /payments/{id}/cancel)", req.Status)
	}
	return nil
}

func fromAuthorized(p *cleeng.Payment, to string) error {
	if p.Status != cleeng.StatusAuthorized {
		return unprocessable("invalid_transition", "payment %s is %s: only an authorized payment can be %s", p.ID, p.Status, to)
	}
	return nil
}

// refund refunds a captured payment, at most its amount, once.
func (s *Sandbox) refund(p *cleeng.Payment, req cleeng.UpdatePaymentRequest) error {
	if req.RefundedAmount == nil {
		return badRequest("refundedAmount: required")
	}
	amount := *req.RefundedAmount
	if p.Status == cleeng.StatusRefunded && p.RefundedAmount != nil && p.RefundedAmount.Equal(amount.Decimal) {
		return nil
	}
	if p.Status != cleeng.StatusCaptured {
		return unprocessable("invalid_transition", "payment %s is %s: only a captured payment can be refunded", p.ID, p.Status)
	}
	if !amount.IsPositive() || amount.GreaterThan(p.Amount.Decimal) {
		return unprocessable("invalid_amount", "refundedAmount %s: must be above 0 and at most the captured %s %s", amount, p.Amount, p.Currency)
	}
	if req.OrderID != "" && req.OrderID != p.OrderID {
		return unprocessable("order_mismatch", "payment %s belongs to order %s, not %s", p.ID, p.OrderID, req.OrderID)
	}
	refundType := req.RefundType
	switch refundType {
	case "":
		refundType = cleeng.RefundTypeRefund
	case cleeng.RefundTypeRefund, cleeng.RefundTypeChargeback:
	default:
		return badRequest("refundType %q: want refund or chargeback", req.RefundType)
	}
	p.Status, p.RefundedAmount, p.RefundedReason, p.RefundType = cleeng.StatusRefunded, &amount, req.RefundedReason, refundType
	return nil
}

func (s *Sandbox) handleCancelPayment(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, false, func(none) (cleeng.Payment, int, error) {
		p, ok := s.payments[cleeng.ID(r.PathValue("id"))]
		if !ok {
			return cleeng.Payment{}, 0, notFound("payment %s not found", r.PathValue("id"))
		}
		if p.Status == cleeng.StatusCancelled {
			return *p, http.StatusOK, nil
		}
		if err := fromAuthorized(p, "cancelled"); err != nil {
			return cleeng.Payment{}, 0, err
		}
		p.Status = cleeng.StatusCancelled
		return *p, http.StatusOK, nil
	})
}

func (s *Sandbox) handleCreatePaymentDetails(w http.ResponseWriter, r *http.Request) {
	var deactivated []PaymentDetails
	serve(s, w, r, true, func(req cleeng.CreatePaymentDetailsRequest) (cleeng.PaymentDetails, int, error) {
		if err := required(field{"customerId", req.CustomerID != ""}, field{"token", req.Token != ""},
			field{"paymentMethodId", req.PaymentMethodID != ""}); err != nil {
			return cleeng.PaymentDetails{}, 0, err
		}
		if _, ok := s.customers[req.CustomerID]; !ok {
			return cleeng.PaymentDetails{}, 0, unprocessable("customer_not_found", "customer %s not found", req.CustomerID)
		}
		active := req.Active == nil || *req.Active
		if active {
			deactivated = s.deactivateCustomerDetails(req.CustomerID)
		}
		d := s.addDetails(req.CustomerID, req.PaymentMethodID, string(req.Token), req.PaymentMethodSpecificParams, active)
		if active {
			s.switchSubscriptions(deactivated, d.ID)
		}
		return d.PaymentDetails, http.StatusOK, nil
	})
	// New active details replace the old ones: tell the old connector.
	for _, old := range deactivated {
		s.sendInBackground(cleeng.TopicPaymentDetailsDeactivated, deactivationData(old))
	}
}

// addDetails stores new payment details. Callers hold mu.
func (s *Sandbox) addDetails(customer, method cleeng.ID, token string, params []byte, active bool) *PaymentDetails {
	gateway := s.opts.PaymentGateways[method]
	if gateway == "" {
		gateway = "connector"
	}
	d := &PaymentDetails{
		PaymentDetails: cleeng.PaymentDetails{
			ID: s.newID(), CustomerID: customer, PaymentGateway: gateway, PaymentMethodID: method,
			Active: active, PaymentMethodSpecificParams: params,
		},
		Token: token,
	}
	s.details[d.ID] = d
	return d
}

// deactivateCustomerDetails marks the customer's active details inactive
// and returns them. Callers hold mu.
func (s *Sandbox) deactivateCustomerDetails(customer cleeng.ID) []PaymentDetails {
	var out []PaymentDetails
	for _, id := range sortedIDs(s.details) {
		if d := s.details[id]; d.CustomerID == customer && d.Active && !d.Deleted {
			d.Active = false
			out = append(out, *d)
		}
	}
	return out
}

// switchSubscriptions moves active subscriptions from old details to newID. Callers hold mu.
func (s *Sandbox) switchSubscriptions(old []PaymentDetails, newID cleeng.ID) {
	for _, d := range old {
		for _, sub := range s.subs {
			if sub.PaymentDetailsID == d.ID && sub.Status == cleeng.SubscriptionActive {
				sub.PaymentDetailsID = newID
			}
		}
	}
}

func deactivationData(d PaymentDetails) cleeng.DeactivationData {
	return cleeng.DeactivationData{PaymentDetailsID: d.ID, CustomerID: d.CustomerID, PaymentMethodID: d.PaymentMethodID, Token: cleeng.Secret(d.Token)}
}

func (s *Sandbox) handleDeletePaymentDetails(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, false, func(none) (none, int, error) {
		d, ok := s.details[cleeng.ID(r.PathValue("id"))]
		if !ok {
			return none{}, 0, notFound("payment details %s not found", r.PathValue("id"))
		}
		d.Deleted, d.Active = true, false
		return none{}, http.StatusNoContent, nil
	})
}

func (s *Sandbox) handleAuthorisedPayments(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, false, func(none) (map[string][]cleeng.Payment, int, error) {
		id := cleeng.ID(r.PathValue("id"))
		if _, ok := s.details[id]; !ok {
			return nil, 0, notFound("payment details %s not found", id)
		}
		// Only the matches are sorted: sorting every payment under the
		// lock made the sandbox the bottleneck of a benchmark holding
		// thousands of renewals, each asking this.
		items := []cleeng.Payment{}
		for _, p := range s.payments {
			if p.PaymentDetailsID == id && p.Status == cleeng.StatusAuthorized {
				items = append(items, *p)
			}
		}
		slices.SortFunc(items, func(a, b cleeng.Payment) int { return compareIDs(a.ID, b.ID) })
		return map[string][]cleeng.Payment{"items": items}, http.StatusOK, nil
	})
}

func (s *Sandbox) handleUpdateSubscription(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, true, func(req cleeng.UpdateSubscriptionRequest) (cleeng.Subscription, int, error) {
		sub, ok := s.subs[cleeng.ID(r.PathValue("id"))]
		if !ok {
			return cleeng.Subscription{}, 0, notFound("subscription %s not found", r.PathValue("id"))
		}
		if err := s.updateSubscription(sub, req); err != nil {
			return cleeng.Subscription{}, 0, err
		}
		return sub.Subscription, http.StatusOK, nil
	})
}

// updateSubscription applies exactly one change [doc].
func (s *Sandbox) updateSubscription(sub *Subscription, req cleeng.UpdateSubscriptionRequest) error {
	set := 0
	for _, v := range []string{string(req.Status), string(req.PaymentDetailsID), req.ExpiresAt} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return badRequest("exactly one field per call, got %d", set)
	}
	if sub.Status == cleeng.SubscriptionTerminated && req.Status != cleeng.SubscriptionTerminated {
		return unprocessable("subscription_terminated", "subscription %s is terminated", sub.SubscriptionID)
	}
	switch {
	case req.Status != "":
		return setStatus(sub, req.Status)
	case req.PaymentDetailsID != "":
		d, ok := s.details[req.PaymentDetailsID]
		if !ok || d.Deleted || !d.Active || d.CustomerID != sub.CustomerID {
			return unprocessable("payment_details_invalid", "payment details %s are not active details of customer %s", req.PaymentDetailsID, sub.CustomerID)
		}
		sub.PaymentDetailsID = d.ID
	default:
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return badRequest("expiresAt %q: want RFC 3339", req.ExpiresAt)
		}
		sub.ExpiresAt = t.UTC().Format(time.RFC3339)
	}
	return nil
}

func (s *Sandbox) handleGetWebhookSubscriptions(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, false, func(none) (cleeng.WebhookSubscriptions, int, error) {
		out := cleeng.WebhookSubscriptions{}
		for topic, list := range s.hooks {
			out[topic] = slices.Clone(list)
		}
		return out, http.StatusOK, nil
	})
}

func (s *Sandbox) handlePutWebhookSubscription(w http.ResponseWriter, r *http.Request) {
	topic := r.PathValue("topic")
	serve(s, w, r, true, func(endpoints []cleeng.WebhookEndpoint) ([]cleeng.WebhookEndpoint, int, error) {
		if _, ok := cleeng.ParseTopic(topic); !ok {
			return nil, 0, notFound("topic %q unknown", topic)
		}
		for i, e := range endpoints {
			if !validURL(e.URL) {
				return nil, 0, badRequest("[%d].url %q: want an absolute http(s) URL", i, e.URL)
			}
		}
		if endpoints == nil {
			endpoints = []cleeng.WebhookEndpoint{}
		}
		s.hooks[topic] = endpoints
		return endpoints, http.StatusOK, nil
	})
}

type field struct {
	name string
	ok   bool
}

// required refuses the first missing field.
func required(fields ...field) error {
	for _, f := range fields {
		if !f.ok {
			return badRequest("%s: required", f.name)
		}
	}
	return nil
}
