package chaos

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/ops"
)

// cleanLedgers are one Adyen renewal and one Cleverbridge renewal, each
// charged once and reported once, agreeing at both sides.
func cleanLedgers() ledgers {
	var l ledgers
	l.cleeng.Orders = []cleengsandbox.Order{
		{Order: cleeng.Order{ID: "1", SubscriptionID: "10", PaymentOperation: cleeng.OperationRecurringPayment}},
		{Order: cleeng.Order{ID: "2", SubscriptionID: "20", PaymentOperation: cleeng.OperationRecurringPayment}},
	}
	l.cleeng.Payments = []cleeng.Payment{
		{ID: "P1", OrderID: "1", Status: cleeng.StatusCaptured, ExternalPaymentID: "PSP1", Amount: cleeng.MustDecimal("1200"), Currency: "JPY", SubscriptionID: "10"},
		{ID: "P2", OrderID: "2", Status: cleeng.StatusCaptured, ExternalPaymentID: "CB1", Amount: cleeng.MustDecimal("3.125"), Currency: "KWD", SubscriptionID: "20"},
	}
	l.cleeng.PaymentRequests = []cleengsandbox.PaymentRequest{{OrderID: "1", ExternalPaymentID: "PSP1", Answer: 200}, {OrderID: "2", ExternalPaymentID: "CB1", Answer: 200}}
	for _, sub := range []cleeng.ID{"10", "20"} {
		body, _ := json.Marshal(map[string]any{"data": cleeng.DunningData{SubscriptionID: sub, DunningAttemptDate: "2026-12-01T00:00:00Z"}})
		l.cleeng.Webhooks = append(l.cleeng.Webhooks, cleengsandbox.Delivery{Topic: string(cleeng.TopicPaymentCapture), Body: body})
	}
	l.adyen.PaymentList = []sandbox.Payment{{PSPReference: "PSP1", Reference: "1", Currency: "JPY", Amount: 1200, Captured: 1200, Status: sandbox.StatusCaptured, Recurring: true}}
	l.cleverbridge.Purchases = []cbsandbox.Purchase{{ID: "CB1", Status: "Paid", Amount: decimal.RequireFromString("3.125"), Currency: "KWD",
		Extra: cleverbridge.ExtraParametersFrom(map[string]string{"orderId": "2", "subscriptionId": "20"})}}
	return l
}

// TestCheck_ReportsEachPlantedViolation shows the checker can fail: each
// row plants one broken promise in clean ledgers and records, and the
// table must flag exactly the measure that names it.
func TestCheck_ReportsEachPlantedViolation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		plant   func(*ledgers, *records)
		flagged string
	}{
		{"a clean run", func(*ledgers, *records) {}, ""},
		{"an order charged twice", func(l *ledgers, _ *records) {
			l.adyen.PaymentList = append(l.adyen.PaymentList, sandbox.Payment{PSPReference: "PSP2", Reference: "1", Currency: "JPY", Amount: 1200, Status: sandbox.StatusRefused, Recurring: true})
		}, "gateway charges per order"},
		{"a second successful renewal charge for one dunning attempt", func(l *ledgers, _ *records) {
			l.cleeng.Orders = append(l.cleeng.Orders, cleengsandbox.Order{Order: cleeng.Order{ID: "3", SubscriptionID: "10", PaymentOperation: cleeng.OperationRecurringPayment}})
			l.cleeng.Payments = append(l.cleeng.Payments, cleeng.Payment{ID: "P3", OrderID: "3", Status: cleeng.StatusCaptured, ExternalPaymentID: "PSP3", Amount: cleeng.MustDecimal("1200"), Currency: "JPY"})
			l.adyen.PaymentList = append(l.adyen.PaymentList, sandbox.Payment{PSPReference: "PSP3", Reference: "3", Currency: "JPY", Amount: 1200, Captured: 1200, Status: sandbox.StatusCaptured, Recurring: true})
		}, "per (subscription, dunning attempt)"},
		{"two Cleeng payments for one externalPaymentId", func(l *ledgers, _ *records) {
			l.cleeng.Payments = append(l.cleeng.Payments, cleeng.Payment{ID: "P9", OrderID: "1", Status: cleeng.StatusCaptured, ExternalPaymentID: "PSP1", Amount: cleeng.MustDecimal("1200"), Currency: "JPY"})
		}, "Cleeng payments per externalPaymentId"},
		{"a payment captured at the gateway, authorised in Cleeng", func(l *ledgers, _ *records) {
			l.cleeng.Payments[0].Status = cleeng.StatusAuthorized
		}, "disagree"},
		{"an amount converted with the wrong exponent", func(l *ledgers, _ *records) {
			l.cleverbridge.Purchases[0].Amount = decimal.RequireFromString("3.13")
		}, "disagree"},
		{"a charge Cleeng never heard of", func(l *ledgers, _ *records) {
			l.adyen.PaymentList = append(l.adyen.PaymentList, sandbox.Payment{PSPReference: "PSP7", Reference: "7", Currency: "EUR", Amount: 999, Captured: 999, Status: sandbox.StatusCaptured})
		}, "disagree"},
		{"an operation left in progress", func(_ *ledgers, r *records) {
			r.inProgress = append(r.inProgress, &ops.Record[json.RawMessage]{Key: "charge.10.x", Step: "gateway"})
		}, "not in a terminal state"},
		{"a renewal left in doubt though Cleverbridge charged it", func(_ *ledgers, r *records) {
			r.inDoubtOrders = append(r.inDoubtOrders, "2")
		}, "in doubt that Cleverbridge charged"},
		{"a renewal refused for a subscription terminated meanwhile", func(l *ledgers, r *records) {
			l.cleeng.Subscriptions = []cleengsandbox.Subscription{{Subscription: cleeng.Subscription{SubscriptionID: "10", Status: cleeng.SubscriptionTerminated}}}
			r.lateForTerminated = append(r.lateForTerminated, "10")
		}, ""},
		{"a renewal refused as terminated for a subscription Cleeng holds active", func(l *ledgers, r *records) {
			l.cleeng.Subscriptions = []cleengsandbox.Subscription{{Subscription: cleeng.Subscription{SubscriptionID: "10", Status: cleeng.SubscriptionActive}}}
			r.lateForTerminated = append(r.lateForTerminated, "10")
		}, "does not explain"},
		{"a capture whose authorisation a card update cancelled first", func(l *ledgers, r *records) {
			l.cleeng.Payments = append(l.cleeng.Payments, cleeng.Payment{ID: "P4", OrderID: "4", Status: cleeng.StatusCancelled, SubscriptionID: "10"})
			r.captureGone = append(r.captureGone, "10")
		}, ""},
		{"a capture that found its authorisation gone, none cancelled", func(_ *ledgers, r *records) {
			r.captureGone = append(r.captureGone, "10")
		}, "does not explain"},
		{"a dead letter nothing explains", func(_ *ledgers, r *records) {
			r.deadLetters["capture: cleeng: invalid_transition"] = 1
		}, "does not explain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, r := cleanLedgers(), records{deadLetters: map[string]int{}}
			tt.plant(&l, &r)
			var v verdict
			checkInvariants(&v, l, r)
			var flagged []string
			for _, row := range v.rows {
				if row.violated {
					flagged = append(flagged, row.what)
				}
			}
			if tt.flagged == "" {
				if len(flagged) > 0 {
					t.Fatalf("explained ledgers flagged %q", flagged)
				}
				return
			}
			if len(flagged) != 1 || !strings.Contains(flagged[0], tt.flagged) {
				t.Fatalf("flagged %q, want only the row about %q", flagged, tt.flagged)
			}
		})
	}
}
