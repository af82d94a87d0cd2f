package cleeng

import (
	"context"
	"net/http"
)

// Externally-managed subscriptions (cleeng-api.md "Externally-managed
// subscriptions"): the gateway bills by itself and the connector mirrors
// its events with these calls.

const pathSubscriptions = "/subscriptions"

// SubscriptionCancelled is the status of an externally-managed
// subscription the gateway stopped renewing [doc].
const SubscriptionCancelled SubscriptionStatus = "cancelled"

// CreateSubscriptionRequest is the body of POST /subscriptions [doc]: an
// externally-managed subscription. ExpiresAt (RFC 3339) is computed by
// Cleeng from the offer when empty [doc].
type CreateSubscriptionRequest struct {
	ExternalSubscriptionID string `json:"externalSubscriptionId"`
	PaymentMethodID        ID     `json:"paymentMethodId"`
	OfferID                string `json:"offerId"`
	CustomerID             ID     `json:"customerId"`
	ExpiresAt              string `json:"expiresAt,omitempty"`
}

// ExternalPaymentRequest is the externally-managed form of POST /payments
// [doc]: a payment without an order. Amount excludes tax; Amount and
// TaxAmount are the two field names Cleeng does not publish [decided:
// "amount" and "taxAmount", in these tags only].
type ExternalPaymentRequest struct {
	PaymentMethodID   ID            `json:"paymentMethodId"`
	OfferID           string        `json:"offerId"`
	CustomerID        ID            `json:"customerId"`
	SubscriptionID    ID            `json:"subscriptionId"`
	Currency          string        `json:"currency"`
	Country           string        `json:"country"`
	Amount            Decimal       `json:"amount"`
	TaxAmount         Decimal       `json:"taxAmount"`
	Status            PaymentStatus `json:"status"`
	ExternalPaymentID string        `json:"externalPaymentId"`
	RejectedReason    string        `json:"rejectedReason,omitempty"`
}

// CreateSubscription creates an externally-managed subscription (POST
// /subscriptions). A subscription Cleeng already holds for the external id
// is answered 409 with it [decided, as for payments]; that one is
// returned, so a POST repeated after a lost answer finds what it created.
func (c *Client) CreateSubscription(ctx context.Context, req CreateSubscriptionRequest) (Subscription, error) {
	var s Subscription
	return s, c.do(ctx, http.MethodPost, pathSubscriptions, req, createsOnce, &s)
}

// CreateExternalPayment records a payment of an externally-managed
// subscription (POST /payments without an order). Like CreatePayment, a
// payment Cleeng already holds for the externalPaymentId is a
// *ConflictError carrying it.
func (c *Client) CreateExternalPayment(ctx context.Context, req ExternalPaymentRequest) (Payment, error) {
	var p Payment
	return p, c.do(ctx, http.MethodPost, pathPayments, req, createsOnce, &p)
}
