package messages

import (
	"encoding/json"
	"strconv"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/ops"
)

// Subjects of front-end commands.
const (
	SubjectCheckoutPayment        = "checkout.payment"
	SubjectCheckoutDetails        = "checkout.details"
	SubjectCheckoutPaymentDetails = "checkout.payment-details"
	// SubjectCheckoutPaymentDetailsAction completes a card update's shopper action.
	SubjectCheckoutPaymentDetailsAction = "checkout.payment-details-action"
)

// Every front-end command carries CustomerID, the customer its call's
// Cleeng customer JWT names (verified by the ingress; a body cannot choose
// it): the flows act only on that customer's orders and payment details,
// and key their operations by it.

// PaymentCommand is the body of POST /v1/checkout/payments, stored on
// checkout.payment with the verified customer and the shopper's address.
// PaymentMethod is the gateway's front-end data (Adyen Drop-in
// state.data.paymentMethod): it is never logged.
type PaymentCommand struct {
	CustomerID    int64           `json:"customerId"`
	OrderID       int64           `json:"orderId"`
	PaymentMethod json.RawMessage `json:"paymentMethod"`
	// Shopper's ShopperIP is set by the ingress from the connection (or a
	// trusted proxy's X-Forwarded-For), never taken from the body.
	gateways.Shopper
}

// DetailsCommand is the body of POST /v1/checkout/payments/details.
type DetailsCommand struct {
	CustomerID int64           `json:"customerId"`
	OrderID    int64           `json:"orderId"`
	Details    json.RawMessage `json:"details"`
}

// PaymentDetailsCommand is the body of POST /v1/payment-details.
type PaymentDetailsCommand struct {
	CustomerID      int64           `json:"customerId"`
	PaymentMethodID int64           `json:"paymentMethodId"`
	PaymentMethod   json.RawMessage `json:"paymentMethod"`
	// Shopper as in PaymentCommand: a new card may be challenged too.
	gateways.Shopper
	// RequestID, when the front-end sends one, identifies a retried call;
	// otherwise the body's hash does.
	RequestID string `json:"requestId,omitempty"`
}

// PaymentDetailsActionCommand is the body of POST /v1/payment-details/details:
// the shopper's 3-D Secure result for the update the first call answered
// with action_required (and its requestId).
type PaymentDetailsActionCommand struct {
	CustomerID int64           `json:"customerId"`
	RequestID  string          `json:"requestId"`
	Details    json.RawMessage `json:"details"`
}

// CheckoutOutcome is the answer of the checkout endpoints (DESIGN section 6).
type CheckoutOutcome struct {
	Status string `json:"status"` // captured, rejected, action_required, failed
	// Code says why a purchase failed (OutcomeOrderNotFound,
	// OutcomeMethodMismatch), for the front-end.
	Code              string          `json:"code,omitempty"`
	OrderID           cleeng.ID       `json:"orderId"`
	PaymentID         cleeng.ID       `json:"paymentId,omitempty"`
	ExternalPaymentID string          `json:"externalPaymentId,omitempty"`
	RejectedReason    string          `json:"rejectedReason,omitempty"`
	Action            json.RawMessage `json:"action,omitempty"`
	// Payment is the Cleeng payment the purchase created, as Cleeng
	// answered it (what Cleeng's own checkout hands its front-end).
	Payment *cleeng.Payment `json:"payment,omitempty"`
}

// DetailsOutcome is the answer of POST /v1/payment-details.
type DetailsOutcome struct {
	Status string `json:"status"` // active, rejected, action_required, failed
	// Code says why an update failed (OutcomeMethodMismatch), for the front-end.
	Code string `json:"code,omitempty"`
	// RequestID identifies the update; POST /v1/payment-details/details
	// sends it back with the shopper's action result.
	RequestID                   string          `json:"requestId"`
	PaymentDetailsID            cleeng.ID       `json:"paymentDetailsId,omitempty"`
	PaymentMethodID             cleeng.ID       `json:"paymentMethodId,omitempty"`
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams,omitempty"`
	RejectedReason              string          `json:"rejectedReason,omitempty"`
	Action                      json.RawMessage `json:"action,omitempty"`
}

// StatusActionRequired is the status of an outcome that waits for the
// shopper (3-D Secure, a redirect): its action says what to show them.
const StatusActionRequired = "action_required"

// StatusFailed is the status of an outcome whose operation cannot go on:
// its Code says why, for the front-end.
const StatusFailed = "failed"

// OutcomeOrderNotFound is the code of a purchase whose order Cleeng does
// not hold for the calling customer: it does not exist, or is another's.
const OutcomeOrderNotFound = "order_not_found"

// OutcomeMethodMismatch is the code of a purchase (or card update) whose
// paymentMethod is not of a type its paymentMethodId pays with.
const OutcomeMethodMismatch = "payment_method_mismatch"

// OutcomeKeys match the operation keys that hold a front-end outcome. A
// new slice each time: nats.go's KeyValue.WatchFiltered rewrites the one
// it is given.
func OutcomeKeys() []string { return []string{"initial.>", "update-details.>"} }

// InitialKey is the operation key of a customer's initial purchase of an
// order. The customer is part of it: a call for an order that is not the
// caller's is an operation of its own, never the owner's.
func InitialKey(customerID, orderID int64) string {
	return ops.Key("initial", strconv.FormatInt(customerID, 10), strconv.FormatInt(orderID, 10))
}

// PaymentDetailsPrefix is the prefix (ops.InProgress) of the operation
// keys of a customer's payment-details updates.
func PaymentDetailsPrefix(customerID int64) string {
	return ops.Key("update-details", strconv.FormatInt(customerID, 10))
}

// PaymentDetailsKey is the operation key of one payment-details update.
func PaymentDetailsKey(customerID int64, requestID string) string {
	return ops.Key("update-details", strconv.FormatInt(customerID, 10), requestID)
}

// Letter is what a dead letter keeps of a front-end command (workers.Flow's
// Letter): what a replay needs — the gateway's payment data, which its
// front-end encrypted — without the card holder's name, which the gateway
// does not need to charge.
func Letter(subject string, data []byte) []byte {
	if subject != SubjectCheckoutPayment && subject != SubjectCheckoutPaymentDetails {
		return data
	}
	var cmd, method map[string]json.RawMessage
	if json.Unmarshal(data, &cmd) != nil || json.Unmarshal(cmd["paymentMethod"], &method) != nil {
		return data // not a command: kept as stored, for the operator to see why
	}
	delete(method, "holderName")
	cmd["paymentMethod"], _ = json.Marshal(method) // re-encodes what was just decoded
	out, _ := json.Marshal(cmd)
	return out
}
