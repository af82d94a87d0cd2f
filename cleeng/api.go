package cleeng

import (
	"encoding/json"

	"github.com/cleeng-connector/connector/internal/money"
)

// Request headers. The token header is documented [doc].
const (
	HeaderPublisherToken = "X-Publisher-Token"
	// DefaultSignatureHeader carries hex(HMAC-SHA256(secret, body)) on
	// webhooks. Cleeng does not publish the header name [decided].
	DefaultSignatureHeader = "X-Cleeng-Signature"
)

// Base URLs of Cleeng's Core API 3.1 [doc].
const (
	SandboxBaseURL    = "https://api.sandbox.cleeng.com/3.1"
	ProductionBaseURL = "https://api.cleeng.com/3.1"
)

// Paths relative to the base URL [doc]. The "%s" is an id.
const (
	pathOrders               = "/orders"
	pathOrder                = "/orders/%s"
	pathPayments             = "/payments"
	pathPayment              = "/payments/%s"
	pathPaymentCancel        = "/payments/%s/cancel"
	pathPaymentDetails       = "/payment_details"
	pathPaymentDetail        = "/payment_details/%s"
	pathAuthorisedPayments   = "/payment_details/%s/authorised_payments"
	pathSubscription         = "/subscriptions/%s"
	pathWebhookSubscriptions = "/webhook_subscriptions"
	pathWebhookSubscription  = "/webhook_subscriptions/%s"
)

// PaymentStatus is the status of a Cleeng payment.
type PaymentStatus string

// Payment statuses [doc]. Cleeng's reference writes "authorized", its
// tutorials "authorised"; the client sends StatusAuthorized [decided] and
// Normalize accepts both.
const (
	StatusAuthorized PaymentStatus = "authorized"
	StatusCaptured   PaymentStatus = "captured"
	StatusRejected   PaymentStatus = "rejected"
	StatusCancelled  PaymentStatus = "cancelled"
	StatusRefunded   PaymentStatus = "refunded"

	statusAuthorisedBritish PaymentStatus = "authorised"
)

// Normalize maps the British spelling "authorised" to StatusAuthorized.
func (s PaymentStatus) Normalize() PaymentStatus {
	if s == statusAuthorisedBritish {
		return StatusAuthorized
	}
	return s
}

// PaymentOperation says what a payment is for [doc].
type PaymentOperation string

const (
	OperationInitialPayment   PaymentOperation = "initial-payment"
	OperationInitialFreeTrial PaymentOperation = "initial-free-transaction"
	OperationRecurringPayment PaymentOperation = "recurring-payment"
)

// RefundType of a refund PATCH [values doc].
type RefundType string

const (
	RefundTypeRefund     RefundType = "refund"
	RefundTypeChargeback RefundType = "chargeback"
)

// SubscriptionStatus values [doc].
type SubscriptionStatus string

const (
	SubscriptionActive     SubscriptionStatus = "active"
	SubscriptionStopped    SubscriptionStatus = "stopped"
	SubscriptionTerminated SubscriptionStatus = "terminated"
	SubscriptionPaused     SubscriptionStatus = "paused"
)

// CreateOrderRequest is the body of POST /orders [doc; couponCode and
// customerIP names decided].
type CreateOrderRequest struct {
	CustomerID      ID     `json:"customerId"`
	OfferID         string `json:"offerId"`
	Currency        string `json:"currency"`
	Country         string `json:"country"`
	PaymentMethodID ID     `json:"paymentMethodId"`
	// PaymentOperation is OperationRecurringPayment for renewals, with SubscriptionID.
	PaymentOperation PaymentOperation `json:"paymentOperation,omitempty"`
	SubscriptionID   ID               `json:"subscriptionId,omitempty"`
	CouponCode       string           `json:"couponCode,omitempty"`
	CustomerIP       string           `json:"customerIP,omitempty"`
}

// Order is Cleeng's order [decided shape, modelled on Cleeng's order objects].
type Order struct {
	ID                     ID               `json:"id"`
	CustomerID             ID               `json:"customerId"`
	OfferID                string           `json:"offerId"`
	Currency               string           `json:"currency"`
	Country                string           `json:"country"`
	PaymentMethodID        ID               `json:"paymentMethodId"`
	TotalPrice             Decimal          `json:"totalPrice"`
	PriceBreakdown         PriceBreakdown   `json:"priceBreakdown"`
	TaxRate                Decimal          `json:"taxRate"`
	ExpirationDate         string           `json:"expirationDate,omitempty"`
	RequiredPaymentDetails bool             `json:"requiredPaymentDetails"`
	PaymentOperation       PaymentOperation `json:"paymentOperation,omitempty"`
	SubscriptionID         ID               `json:"subscriptionId,omitempty"`
}

// Amount is what to charge for the order: its total price in its currency.
func (o Order) Amount() money.Amount {
	return money.Amount{Value: o.TotalPrice.Decimal, Currency: o.Currency}
}

// PriceBreakdown of an order [decided shape].
type PriceBreakdown struct {
	OfferPrice       Decimal `json:"offerPrice"`
	DiscountAmount   Decimal `json:"discountAmount"`
	TaxValue         Decimal `json:"taxValue"`
	PaymentMethodFee Decimal `json:"paymentMethodFee"`
}

// NewPaymentDetails creates payment details inline with a payment [doc].
type NewPaymentDetails struct {
	// Token is the gateway's recurring token. Never logged.
	Token                       Secret          `json:"token"`
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams,omitempty"`
}

// CreatePaymentRequest is the body of POST /payments [doc; paymentDetailsId decided].
type CreatePaymentRequest struct {
	OrderID          ID               `json:"orderId"`
	Status           PaymentStatus    `json:"status"`
	PaymentOperation PaymentOperation `json:"paymentOperation"`
	// ExternalPaymentID is the gateway's payment reference; every Cleeng
	// payment carries one [doc]. A 409 for one Cleeng already holds is the
	// only guard against a second payment after a lost answer, so the flows
	// give a rejection without a gateway reference one of their own.
	ExternalPaymentID string `json:"externalPaymentId,omitempty"`
	// PaymentDetails creates new payment details; PaymentDetailsID refers to existing ones.
	PaymentDetails   *NewPaymentDetails `json:"paymentDetails,omitempty"`
	PaymentDetailsID ID                 `json:"paymentDetailsId,omitempty"`
	RejectedReason   string             `json:"rejectedReason,omitempty"`
	SubscriptionID   ID                 `json:"subscriptionId,omitempty"`
}

// Payment is Cleeng's payment [decided shape].
type Payment struct {
	ID                ID               `json:"id"`
	OrderID           ID               `json:"orderId"`
	Status            PaymentStatus    `json:"status"`
	ExternalPaymentID string           `json:"externalPaymentId,omitempty"`
	PaymentDetailsID  ID               `json:"paymentDetailsId,omitempty"`
	PaymentOperation  PaymentOperation `json:"paymentOperation,omitempty"`
	Amount            Decimal          `json:"amount"`
	Currency          string           `json:"currency,omitempty"`
	SubscriptionID    ID               `json:"subscriptionId,omitempty"`
	RejectedReason    string           `json:"rejectedReason,omitempty"`
	RefundedAmount    *Decimal         `json:"refundedAmount,omitempty"`
	RefundedReason    string           `json:"refundedReason,omitempty"`
	RefundType        RefundType       `json:"refundType,omitempty"`
}

// UpdatePaymentRequest is the body of PATCH /payments/{id} [doc; refund
// field names decided]. Status is StatusCaptured, StatusRejected or
// StatusRefunded.
type UpdatePaymentRequest struct {
	Status PaymentStatus `json:"status"`
	// ExternalPaymentID replaces the payment's when the capture has its own id [doc].
	ExternalPaymentID string `json:"externalPaymentId,omitempty"`
	RejectedReason    string `json:"rejectedReason,omitempty"`
	// Refund fields.
	OrderID          ID               `json:"orderId,omitempty"`
	PaymentOperation PaymentOperation `json:"paymentOperation,omitempty"`
	RefundedReason   string           `json:"refundedReason,omitempty"`
	RefundedAmount   *Decimal         `json:"refundedAmount,omitempty"`
	RefundType       RefundType       `json:"refundType,omitempty"`
}

// CreatePaymentDetailsRequest is the body of POST /payment_details [doc].
type CreatePaymentDetailsRequest struct {
	CustomerID ID `json:"customerId"`
	// Token is the gateway's recurring token. Never logged.
	Token                       Secret          `json:"token"`
	PaymentMethodID             ID              `json:"paymentMethodId"`
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams,omitempty"`
	// Active defaults to true when nil.
	Active *bool `json:"active,omitempty"`
}

// PaymentDetails are a customer's stored payment means [doc, from Cleeng's SDK types].
type PaymentDetails struct {
	ID                          ID              `json:"id"`
	CustomerID                  ID              `json:"customerId"`
	PaymentGateway              string          `json:"paymentGateway,omitempty"`
	PaymentMethodID             ID              `json:"paymentMethodId"`
	Active                      bool            `json:"active"`
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams,omitempty"`
}

// authorisedPaymentsPage is the {"items":[...]} form of the authorised
// payments list; a bare array is accepted too [decided].
type authorisedPaymentsPage struct {
	Items []Payment `json:"items"`
}

// UpdateSubscriptionRequest is the body of PATCH /subscriptions/{id}:
// exactly one field per call [doc].
type UpdateSubscriptionRequest struct {
	Status           SubscriptionStatus `json:"status,omitempty"`
	PaymentDetailsID ID                 `json:"paymentDetailsId,omitempty"`
	ExpiresAt        string             `json:"expiresAt,omitempty"`
}

// Subscription is Cleeng's subscription [doc].
type Subscription struct {
	SubscriptionID    ID                 `json:"subscriptionId"`
	CustomerID        ID                 `json:"customerId"`
	OfferID           string             `json:"offerId"`
	Status            SubscriptionStatus `json:"status"`
	ExpiresAt         string             `json:"expiresAt,omitempty"`
	PaymentDetailsID  ID                 `json:"paymentDetailsId,omitempty"`
	NextPaymentAction string             `json:"nextPaymentAction,omitempty"`
}

// WebhookEndpoint is one registered webhook URL [doc; key "url" decided].
// Verification is kept as sent so endpoints registered by other systems
// round-trip unchanged.
type WebhookEndpoint struct {
	URL          string          `json:"url"`
	Verification json.RawMessage `json:"verification,omitempty"`
}

// WebhookSubscriptions is GET /webhook_subscriptions: each topic with its
// endpoints, as a JSON object keyed by topic [decided].
type WebhookSubscriptions map[string][]WebhookEndpoint
