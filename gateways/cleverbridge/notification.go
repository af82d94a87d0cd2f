package cleverbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

// FieldError says which field of a notification (or of x-parameters) is wrong.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// invalid wraps a field error of a notification as a permanent failure.
func invalid(err error) error {
	return failure.Permanent(fmt.Errorf("cleverbridge notification: %w", err))
}

// ParseNotification decodes and validates a purchase notification. Its
// errors are permanent and carry a *FieldError naming the field.
func ParseNotification(body []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return n, invalid(decodeError(err))
	}
	required := []struct{ field, value string }{
		{"id", n.ID}, {"eventType", n.EventType}, {"purchase.id", n.Purchase.ID},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return n, invalid(&FieldError{Field: r.field, Problem: "required"})
		}
	}
	settled := n.EventType == EventPurchasePaid || n.EventType == EventPurchaseDeclined
	if settled || n.Purchase.CurrencyID != "" || n.Purchase.TotalGross != "" {
		if _, err := n.amount(); err != nil {
			return n, invalid(err)
		}
	}
	return n, nil
}

// decodeError names the field of a JSON decoding error where it can.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var fieldErr *FieldError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &FieldError{Field: typeErr.Field, Problem: "want a JSON " + typeErr.Type.Kind().String() + ", got " + typeErr.Value}
	case errors.As(err, &fieldErr):
		return &FieldError{Field: "purchase." + fieldErr.Field, Problem: fieldErr.Problem}
	case errors.Is(err, errNotDecimal): // the notification's only Decimal
		return &FieldError{Field: "purchase.totalGross", Problem: err.Error()}
	}
	return &FieldError{Problem: "not a JSON purchase notification: " + err.Error()}
}

// amount is the purchase's totalGross in currencyId.
func (n Notification) amount() (money.Amount, error) {
	p := n.Purchase
	if _, err := money.Exponent(p.CurrencyID); err != nil {
		return money.Amount{}, &FieldError{Field: "purchase.currencyId", Problem: err.Error()}
	}
	a, err := money.New(string(p.TotalGross), p.CurrencyID)
	if err != nil || a.Value.IsNegative() {
		return money.Amount{}, &FieldError{Field: "purchase.totalGross", Problem: fmt.Sprintf("want a decimal amount >= 0, got %q", p.TotalGross)}
	}
	// Cleverbridge counts in ISO 4217's decimals: finer, or beyond any
	// payment, is no purchase.
	if _, err := a.Minor(); err != nil {
		return money.Amount{}, &FieldError{Field: "purchase.totalGross", Problem: err.Error()}
	}
	return a, nil
}

// SubscriptionID is the Cleverbridge subscription the purchase bills.
func (n Notification) SubscriptionID() string {
	for _, it := range n.Purchase.Items {
		if it.RecurringBilling != nil && it.RecurringBilling.SubscriptionID != "" {
			return it.RecurringBilling.SubscriptionID
		}
	}
	return ""
}

// DedupID identifies a notification across Cleverbridge's re-sends:
// purchase id + event type + notification id.
func DedupID(n Notification) string {
	return "cleverbridge:" + n.Purchase.ID + ":" + n.EventType + ":" + n.ID
}

// Subject is the JetStream subject of a notification:
// gateway.cleverbridge.<eventType>, characters a subject token cannot hold
// replaced by '_'.
func Subject(n Notification) string {
	event := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, n.EventType)
	if event == "" {
		event = "_"
	}
	return "gateway." + Name + "." + event
}

// ToEvent normalises a notification: PurchasePaid is a successful
// EventPurchase, PurchaseDeclined a failed one with its reason; other event
// types are EventOther. Metadata holds the x-parameters (customerId,
// subscriptionId, orderId), MerchantReference the orderId, Token the
// Cleverbridge subscription id.
func ToEvent(n Notification) (gateways.Event, error) {
	ev := gateways.Event{
		Gateway:          Name,
		Code:             n.EventType,
		Kind:             gateways.EventOther,
		PaymentReference: n.Purchase.ID,
		Token:            n.SubscriptionID(),
		Metadata:         n.Purchase.ExtraParameters.Metadata(),
	}
	ev.MerchantReference = ev.Metadata["orderId"]
	if n.Purchase.CurrencyID != "" {
		a, err := n.amount()
		if err != nil {
			return ev, invalid(err)
		}
		ev.Amount = a
	}
	switch n.EventType {
	case EventPurchasePaid:
		ev.Kind, ev.Success = gateways.EventPurchase, true
	case EventPurchaseDeclined:
		ev.Kind, ev.Reason = gateways.EventPurchase, reasonDeclined
		if e := n.Purchase.Error; e != nil && (e.Code != "" || e.Message != "") {
			ev.Reason = paymentErrorReason(*e)
		}
	}
	return ev, nil
}

// DecodeEvent decodes a notification as the ingress stored it (the raw
// body) into a gateways.Event, for the gateway-events flow.
func DecodeEvent(data []byte) (gateways.Event, error) {
	n, err := ParseNotification(data)
	if err != nil {
		return gateways.Event{}, err
	}
	return ToEvent(n)
}
