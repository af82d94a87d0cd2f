package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
)

// SeedOffer adds or replaces an offer.
func (s *Sandbox) SeedOffer(o Offer) error {
	if o.ID == "" || len(o.Prices) == 0 {
		return badRequest("offer: id and at least one price required")
	}
	for country, p := range o.Prices {
		if len(country) != 2 || p.Currency == "" || p.Amount.IsNegative() {
			return badRequest("offer %s: price for %q: want a 2-letter country, a currency and an amount >= 0", o.ID, country)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offers[o.ID] = o
	s.changedLocked()
	return nil
}

// SeedCustomer adds or replaces a customer.
func (s *Sandbox) SeedCustomer(c Customer) error {
	if c.ID == "" {
		return badRequest("customer: id required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[c.ID] = c
	s.changedLocked()
	return nil
}

// SeedSubscription creates an active subscription, with its payment
// details when seed.PaymentDetails is set.
func (s *Sandbox) SeedSubscription(seed SubscriptionSeed) (Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	customer, ok := s.customers[seed.CustomerID]
	if !ok {
		return Subscription{}, unprocessable("customer_not_found", "customer %q not found", seed.CustomerID)
	}
	offer, ok := s.offers[seed.OfferID]
	if !ok {
		return Subscription{}, unprocessable("offer_not_found", "offer %q not found", seed.OfferID)
	}
	country := seed.Country
	if country == "" {
		country = customer.Country
	}
	price, ok := offer.Prices[country]
	if !ok {
		return Subscription{}, unprocessable("offer_not_available", "offer %s is not sold in country %q", offer.ID, country)
	}
	expires := s.now().Add(24 * time.Hour)
	if seed.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, seed.ExpiresAt)
		if err != nil {
			return Subscription{}, badRequest("expiresAt %q: want RFC 3339", seed.ExpiresAt)
		}
		expires = t
	}
	detailsID := seed.PaymentDetailsID
	switch {
	case seed.PaymentDetails != nil:
		pd := seed.PaymentDetails
		if pd.Token == "" || pd.PaymentMethodID == "" {
			return Subscription{}, badRequest("paymentDetails: token and paymentMethodId required")
		}
		detailsID = s.addDetails(customer.ID, pd.PaymentMethodID, pd.Token, pd.PaymentMethodSpecificParams, true).ID
	case detailsID != "":
		if d, ok := s.details[detailsID]; !ok || d.CustomerID != customer.ID {
			return Subscription{}, unprocessable("payment_details_not_found", "payment details %s not found for customer %s", detailsID, customer.ID)
		}
	default:
		return Subscription{}, badRequest("paymentDetailsId or paymentDetails required")
	}
	id := seed.SubscriptionID
	if id == "" {
		id = s.newID()
	}
	if _, taken := s.subs[id]; taken {
		return Subscription{}, &Error{Status: http.StatusConflict, Code: "subscription_exists", Message: "subscription " + string(id) + " exists"}
	}
	sub := &Subscription{
		Subscription: cleeng.Subscription{
			SubscriptionID: id, CustomerID: customer.ID, OfferID: offer.ID, Status: cleeng.SubscriptionActive,
			ExpiresAt: expires.UTC().Format(time.RFC3339), PaymentDetailsID: detailsID,
		},
		Country: country, Currency: price.Currency,
	}
	s.subs[id] = sub
	s.changedLocked()
	return *sub, nil
}

// RegisterWebhooks registers url for every topic of cleeng.RequiredTopics,
// replacing what was registered: a shortcut for tests.
func (s *Sandbox) RegisterWebhooks(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, topic := range cleeng.RequiredTopics {
		s.hooks[topic] = []cleeng.WebhookEndpoint{{URL: url}}
	}
	s.changedLocked()
}

// EmitRequest asks for one webhook. The data is built from the sandbox's
// state by topic, or taken as is from Data:
//   - refundPayment: PaymentID (a captured payment), Amount (default the
//     payment's amount), Reason;
//   - paymentDetailsDeactivated: PaymentDetailsID (marked inactive);
//   - subscriptionReadyForTermination: SubscriptionID;
//   - the two dunning topics: SubscriptionID, DunningAttemptDate (default
//     the subscription's due date).
type EmitRequest struct {
	Topic              string          `json:"topic"`
	PaymentID          cleeng.ID       `json:"paymentId,omitempty"`
	Amount             *cleeng.Decimal `json:"amount,omitempty"`
	Reason             string          `json:"reason,omitempty"`
	PaymentDetailsID   cleeng.ID       `json:"paymentDetailsId,omitempty"`
	SubscriptionID     cleeng.ID       `json:"subscriptionId,omitempty"`
	DunningAttemptDate string          `json:"dunningAttemptDate,omitempty"`
	// Data, when set, is sent as the webhook's data unchanged.
	Data json.RawMessage `json:"data,omitempty"`
	// Copies sends the same webhook this many times (re-sent copies). Default 1.
	Copies int `json:"copies,omitempty"`
}

// Emit sends one webhook to the URLs registered for its topic and returns
// the deliveries.
func (s *Sandbox) Emit(ctx context.Context, req EmitRequest) ([]Delivery, error) {
	topic := cleeng.Topic(req.Topic)
	var data any
	if len(req.Data) > 0 {
		data = req.Data
	} else {
		var err error
		if data, err = s.emitData(topic, req); err != nil {
			return nil, err
		}
	}
	return s.send(ctx, topic, data, req.Copies)
}

// emitData builds a webhook's data from the state.
func (s *Sandbox) emitData(topic cleeng.Topic, req EmitRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch topic {
	case cleeng.TopicRefundPayment:
		p, ok := s.payments[req.PaymentID]
		if !ok {
			return nil, notFound("payment %q not found", req.PaymentID)
		}
		if p.Status != cleeng.StatusCaptured {
			return nil, unprocessable("invalid_transition", "payment %s is %s: only a captured payment can be refunded", p.ID, p.Status)
		}
		amount := p.Amount
		if req.Amount != nil {
			amount = *req.Amount
		}
		return cleeng.RefundData{
			PaymentID: p.ID, OrderID: p.OrderID, CustomerID: s.orders[p.OrderID].CustomerID,
			ExternalPaymentID: p.ExternalPaymentID, Amount: amount, Currency: p.Currency, Reason: req.Reason,
		}, nil
	case cleeng.TopicPaymentDetailsDeactivated:
		d, ok := s.details[req.PaymentDetailsID]
		if !ok {
			return nil, notFound("payment details %q not found", req.PaymentDetailsID)
		}
		d.Active = false
		s.changedLocked()
		return deactivationData(*d), nil
	case cleeng.TopicTermination:
		sub, ok := s.subs[req.SubscriptionID]
		if !ok {
			return nil, notFound("subscription %q not found", req.SubscriptionID)
		}
		return cleeng.TerminationData{SubscriptionID: sub.SubscriptionID, CustomerID: sub.CustomerID, OfferID: sub.OfferID}, nil
	case cleeng.TopicPaymentAuthorisation, cleeng.TopicPaymentCapture:
		sub, ok := s.subs[req.SubscriptionID]
		if !ok {
			return nil, notFound("subscription %q not found", req.SubscriptionID)
		}
		date := req.DunningAttemptDate
		if date == "" {
			date = sub.ExpiresAt
		}
		return s.dunningData(sub, topic, date), nil
	}
	return nil, badRequest("topic %q: give data, or one of refundPayment, paymentDetailsDeactivated, subscriptionReadyForTermination, %s, %s",
		topic, cleeng.TopicPaymentAuthorisation, cleeng.TopicPaymentCapture)
}

// dunningData is the data of a dunning webhook for sub. Callers hold mu.
func (s *Sandbox) dunningData(sub *Subscription, topic cleeng.Topic, date string) cleeng.DunningData {
	d := s.details[sub.PaymentDetailsID]
	status := "authorize"
	if topic == cleeng.TopicPaymentCapture {
		status = "capture"
	}
	return cleeng.DunningData{
		SubscriptionID: sub.SubscriptionID, OfferID: sub.OfferID, CustomerID: sub.CustomerID,
		CustomerEmail: s.customers[sub.CustomerID].Email, PaymentDetailsID: d.ID, Active: d.Active,
		DunningAttemptDate: date, DunningStatus: status, ExpirationDate: sub.ExpiresAt,
		Currency: sub.Currency, PaymentCountry: sub.Country, PaymentMethodID: d.PaymentMethodID,
		Token: cleeng.Secret(d.Token), PaymentGateway: d.PaymentGateway,
	}
}
