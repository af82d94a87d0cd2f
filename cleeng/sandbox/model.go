package sandbox

import (
	"encoding/json"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
)

// Offer is a product with a price per country.
type Offer struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	// Prices by ISO 3166 two-letter country code.
	Prices map[string]Price `json:"prices"`
	// PeriodDays a purchase or a captured renewal extends the subscription by. Default 30.
	PeriodDays int `json:"periodDays,omitempty"`
}

func (o Offer) period() time.Duration {
	days := o.PeriodDays
	if days <= 0 {
		days = 30
	}
	return time.Duration(days) * 24 * time.Hour
}

// Price of an offer in one country. Amount is gross (tax included).
type Price struct {
	Amount   cleeng.Decimal `json:"amount"`
	Currency string         `json:"currency"`
	TaxRate  cleeng.Decimal `json:"taxRate"`
}

// Customer of the publisher.
type Customer struct {
	ID      cleeng.ID `json:"id"`
	Email   string    `json:"email,omitempty"`
	Country string    `json:"country,omitempty"`
}

// PaymentDetails as the sandbox holds them: with the token, and whether
// they were deleted.
type PaymentDetails struct {
	cleeng.PaymentDetails
	Token   string `json:"token"`
	Deleted bool   `json:"deleted,omitempty"`
}

// Subscription as the sandbox holds it: with the country and currency its
// renewals are billed in.
type Subscription struct {
	cleeng.Subscription
	Country  string `json:"country"`
	Currency string `json:"currency"`
	// ExternalSubscriptionID and PaymentMethodID are set on an
	// externally-managed subscription (POST /subscriptions).
	ExternalSubscriptionID string    `json:"externalSubscriptionId,omitempty"`
	PaymentMethodID        cleeng.ID `json:"paymentMethodId,omitempty"`
}

// Order as the sandbox holds it.
type Order struct {
	cleeng.Order
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// SubscriptionSeed creates a subscription directly, as if bought earlier.
type SubscriptionSeed struct {
	// SubscriptionID is assigned when empty.
	SubscriptionID cleeng.ID `json:"subscriptionId,omitempty"`
	CustomerID     cleeng.ID `json:"customerId"`
	OfferID        string    `json:"offerId"`
	// Country selects the offer's price; default the customer's country.
	Country string `json:"country,omitempty"`
	// ExpiresAt (RFC 3339) is the next due date; default now + one day.
	ExpiresAt string `json:"expiresAt,omitempty"`
	// PaymentDetailsID refers to existing details; or PaymentDetails creates them.
	PaymentDetailsID cleeng.ID           `json:"paymentDetailsId,omitempty"`
	PaymentDetails   *PaymentDetailsSeed `json:"paymentDetails,omitempty"`
}

// PaymentDetailsSeed creates payment details for a seeded subscription.
type PaymentDetailsSeed struct {
	PaymentMethodID             cleeng.ID       `json:"paymentMethodId"`
	Token                       string          `json:"token"`
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams,omitempty"`
}

// Delivery records one webhook sent (all its attempts to one URL).
type Delivery struct {
	Topic    string          `json:"topic"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
	Status   int             `json:"status"`
	Error    string          `json:"error,omitempty"`
	Attempts int             `json:"attempts"`
	At       time.Time       `json:"at"`
}

// PaymentRequest is one POST /payments the sandbox answered, refused ones
// included: Cleeng keeps one payment per externalPaymentId, so only the
// requests show whether a connector tried to record a payment twice.
type PaymentRequest struct {
	OrderID           cleeng.ID            `json:"orderId"`
	ExternalPaymentID string               `json:"externalPaymentId,omitempty"`
	Status            cleeng.PaymentStatus `json:"status"`
	// Answer is the HTTP status answered: 200 created, 409 a payment with
	// the externalPaymentId exists already, 4xx refused.
	Answer int `json:"answer"`
}

// State is a snapshot of everything the sandbox holds, ordered by id.
type State struct {
	// Version counts the changes so far: GET /sandbox/state?after=N
	// answers once the state is past version N.
	Version              uint64                      `json:"version"`
	Offers               []Offer                     `json:"offers"`
	Customers            []Customer                  `json:"customers"`
	Orders               []Order                     `json:"orders"`
	Payments             []cleeng.Payment            `json:"payments"`
	PaymentDetails       []PaymentDetails            `json:"paymentDetails"`
	Subscriptions        []Subscription              `json:"subscriptions"`
	WebhookSubscriptions cleeng.WebhookSubscriptions `json:"webhookSubscriptions"`
	Webhooks             []Delivery                  `json:"webhooks"`
	// PaymentRequests are every POST /payments answered, in order.
	PaymentRequests []PaymentRequest `json:"paymentRequests"`
}

// Payment returns the payment with id.
func (s State) Payment(id cleeng.ID) (cleeng.Payment, bool) {
	for _, p := range s.Payments {
		if p.ID == id {
			return p, true
		}
	}
	return cleeng.Payment{}, false
}

// PaymentsByExternalID returns the payments carrying externalPaymentId ext.
func (s State) PaymentsByExternalID(ext string) []cleeng.Payment {
	var out []cleeng.Payment
	for _, p := range s.Payments {
		if p.ExternalPaymentID == ext {
			out = append(out, p)
		}
	}
	return out
}

// Subscription returns the subscription with id.
func (s State) Subscription(id cleeng.ID) (Subscription, bool) {
	for _, sub := range s.Subscriptions {
		if sub.SubscriptionID == id {
			return sub, true
		}
	}
	return Subscription{}, false
}

// WebhooksOf returns the deliveries of one topic.
func (s State) WebhooksOf(topic cleeng.Topic) []Delivery {
	var out []Delivery
	for _, d := range s.Webhooks {
		if d.Topic == string(topic) {
			out = append(out, d)
		}
	}
	return out
}
