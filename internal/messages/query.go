package messages

import (
	"github.com/cleeng-connector/connector/gateways"
)

// SubjectQueryPaymentMethods is where the ingress asks the workers which
// payment methods a customer can pay with: NATS request-reply in one queue
// group, outside every stream. A query changes nothing, so nothing about it
// is stored: one that no worker answers in time is asked again by the
// front-end. The workers answer it because they hold the gateway's and
// Cleeng's credentials, which the ingress does not.
const SubjectQueryPaymentMethods = "query.payment-methods"

// QueryWorkers is the queue group of the workers that answer queries.
const QueryWorkers = "connector-workers"

// PaymentMethodsQuery asks for the payment methods of Gateway that the
// customer can pay an order with (OrderID), or add as new payment details
// (OrderID 0).
type PaymentMethodsQuery struct {
	Gateway    string `json:"gateway"`
	CustomerID int64  `json:"customerId"`
	OrderID    int64  `json:"orderId,omitempty"`
}

// PaymentMethodsAnswer is the answer: the methods and the amount and
// country they are for, or a Code and Error that say why there are none.
type PaymentMethodsAnswer struct {
	Amount         *gateways.MinorAmount    `json:"amount,omitempty"`
	CountryCode    string                   `json:"countryCode,omitempty"`
	PaymentMethods []gateways.PaymentMethod `json:"paymentMethods,omitempty"`
	// Code is OutcomeOrderNotFound, QueryNotPossible or QueryUnavailable.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Codes of a PaymentMethodsAnswer without methods (besides
// OutcomeOrderNotFound).
const (
	// QueryNotPossible: the query cannot be answered as asked (the order is
	// paid through another gateway; the gateway lists no methods).
	QueryNotPossible = "not_possible"
	// QueryUnavailable: Cleeng or the gateway did not answer; ask again.
	QueryUnavailable = "unavailable"
)
