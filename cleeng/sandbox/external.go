package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
)

// Externally-managed subscriptions (cleeng-api.md): created by POST
// /subscriptions, paid by POST /payments without an order, their status
// set by PATCH /subscriptions/{id}.

func (s *Sandbox) handleCreateSubscription(w http.ResponseWriter, r *http.Request) {
	serve(s, w, r, true, s.createSubscription)
}

// createSubscription applies POST /subscriptions. A second one for an
// external id is answered 409 with the existing subscription [decided].
// Without expiresAt the subscription runs one period of its offer [doc].
func (s *Sandbox) createSubscription(req cleeng.CreateSubscriptionRequest) (cleeng.Subscription, int, error) {
	if err := required(
		field{"externalSubscriptionId", req.ExternalSubscriptionID != ""}, field{"paymentMethodId", req.PaymentMethodID != ""},
		field{"offerId", req.OfferID != ""}, field{"customerId", req.CustomerID != ""},
	); err != nil {
		return cleeng.Subscription{}, 0, err
	}
	for _, sub := range s.subs {
		if sub.ExternalSubscriptionID == req.ExternalSubscriptionID {
			return sub.Subscription, http.StatusConflict, nil
		}
	}
	if _, ok := s.customers[req.CustomerID]; !ok {
		return cleeng.Subscription{}, 0, unprocessable("customer_not_found", "customer %s not found", req.CustomerID)
	}
	offer, ok := s.offers[req.OfferID]
	if !ok {
		return cleeng.Subscription{}, 0, unprocessable("offer_not_found", "offer %s not found", req.OfferID)
	}
	expires := s.now().Add(offer.period())
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return cleeng.Subscription{}, 0, badRequest("expiresAt %q: want RFC 3339", req.ExpiresAt)
		}
		expires = t
	}
	sub := &Subscription{
		Subscription: cleeng.Subscription{
			SubscriptionID: s.newID(), CustomerID: req.CustomerID, OfferID: req.OfferID,
			Status: cleeng.SubscriptionActive, ExpiresAt: expires.UTC().Format(time.RFC3339),
		},
		ExternalSubscriptionID: req.ExternalSubscriptionID, PaymentMethodID: req.PaymentMethodID,
	}
	s.subs[sub.SubscriptionID] = sub
	return sub.Subscription, http.StatusOK, nil
}

// recordExternalPayment applies the externally-managed form of POST
// /payments: every field is required (rejectedReason when rejected), the
// subscription must be externally managed and match customer, offer and
// payment method. The payment's amount is what the shopper paid (amount +
// taxAmount), so a refund is bounded by it. The creation covers the
// subscription's first period, so each later captured payment extends it by
// one period of the offer [decided].
func (s *Sandbox) recordExternalPayment(body json.RawMessage) (cleeng.Payment, int, error) {
	var req cleeng.ExternalPaymentRequest
	p, status, err := func() (cleeng.Payment, int, error) {
		if err := decodeFrom(bytes.NewReader(body), &req); err != nil {
			return cleeng.Payment{}, 0, err
		}
		return s.createExternalPayment(req)
	}()
	answer := status
	if e, ok := err.(*Error); ok {
		answer = e.Status
	}
	s.paymentRequests = append(s.paymentRequests, PaymentRequest{ExternalPaymentID: req.ExternalPaymentID, Status: req.Status.Normalize(), Answer: answer})
	return p, status, err
}

func (s *Sandbox) createExternalPayment(req cleeng.ExternalPaymentRequest) (cleeng.Payment, int, error) {
	if id, ok := s.byExternal[req.ExternalPaymentID]; ok && req.ExternalPaymentID != "" {
		return *s.payments[id], http.StatusConflict, nil
	}
	status := req.Status.Normalize()
	if err := required(
		field{"paymentMethodId", req.PaymentMethodID != ""}, field{"offerId", req.OfferID != ""},
		field{"customerId", req.CustomerID != ""}, field{"subscriptionId", req.SubscriptionID != ""},
		field{"currency", req.Currency != ""}, field{"country", len(req.Country) == 2},
		field{"status", status != ""}, field{"externalPaymentId", req.ExternalPaymentID != ""},
		field{"rejectedReason", req.RejectedReason != "" || status != cleeng.StatusRejected},
	); err != nil {
		return cleeng.Payment{}, 0, err
	}
	if status != cleeng.StatusCaptured && status != cleeng.StatusRejected {
		return cleeng.Payment{}, 0, badRequest("status %q: want captured or rejected", req.Status)
	}
	if req.Amount.IsNegative() || req.TaxAmount.IsNegative() {
		return cleeng.Payment{}, 0, badRequest("amount %s, taxAmount %s: must not be negative", req.Amount, req.TaxAmount)
	}
	sub, ok := s.subs[req.SubscriptionID]
	switch {
	case !ok:
		return cleeng.Payment{}, 0, unprocessable("subscription_not_found", "subscription %s not found", req.SubscriptionID)
	case sub.ExternalSubscriptionID == "":
		return cleeng.Payment{}, 0, unprocessable("not_externally_managed", "subscription %s is not externally managed: pay it through an order", sub.SubscriptionID)
	case sub.CustomerID != req.CustomerID || sub.OfferID != req.OfferID || sub.PaymentMethodID != req.PaymentMethodID:
		return cleeng.Payment{}, 0, unprocessable("subscription_mismatch", "subscription %s is customer %s, offer %s, payment method %s", sub.SubscriptionID, sub.CustomerID, sub.OfferID, sub.PaymentMethodID)
	}
	p := &cleeng.Payment{
		ID: s.newID(), Status: status, ExternalPaymentID: req.ExternalPaymentID,
		Amount: cleeng.Decimal{Decimal: req.Amount.Add(req.TaxAmount.Decimal)}, Currency: req.Currency,
		SubscriptionID: sub.SubscriptionID, RejectedReason: req.RejectedReason,
	}
	if status == cleeng.StatusCaptured && s.hasCapturedPayment(sub.SubscriptionID) {
		from, err := time.Parse(time.RFC3339, sub.ExpiresAt)
		if err != nil || from.Before(s.now()) {
			from = s.now()
		}
		sub.ExpiresAt = from.Add(s.offers[sub.OfferID].period()).Format(time.RFC3339)
	}
	s.payments[p.ID] = p
	s.byExternal[p.ExternalPaymentID] = p.ID
	return *p, http.StatusOK, nil
}

// hasCapturedPayment tells whether the subscription was ever paid (a
// refunded payment was captured first).
func (s *Sandbox) hasCapturedPayment(subID cleeng.ID) bool {
	for _, p := range s.payments {
		if p.SubscriptionID == subID && (p.Status == cleeng.StatusCaptured || p.Status == cleeng.StatusRefunded) {
			return true
		}
	}
	return false
}

// setStatus applies PATCH /subscriptions/{id} {"status"}: terminated for
// any subscription; active and cancelled only for an externally-managed
// one, whose gateway decides them [doc].
func setStatus(sub *Subscription, status cleeng.SubscriptionStatus) error {
	switch status {
	case cleeng.SubscriptionTerminated:
	case cleeng.SubscriptionActive, cleeng.SubscriptionCancelled:
		if sub.ExternalSubscriptionID == "" {
			return unprocessable("invalid_status", "status %q is for externally-managed subscriptions; subscription %s is billed by Cleeng: want terminated", status, sub.SubscriptionID)
		}
	default:
		return unprocessable("invalid_status", "status %q cannot be set: want terminated, or active or cancelled for an externally-managed subscription", status)
	}
	sub.Status = status
	return nil
}
