package cleverbridge_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/failure"
)

const paidNotification = `{"id": "N1", "eventType": "PurchasePaid", "createdAt": "2026-01-02T03:04:05Z",
 "purchase": {"id": "P77", "status": "Paid", "currencyId": "EUR", "totalGross": 9.99,
  "items": [{"productId": 226544, "quantity": 1, "recurringBilling": {"subscriptionId": "S9073119"}}],
  "extraParameters": {"extraParameter": [{"key": "x-customerid", "value": "927751142"},
   {"key": "x-subscriptionid", "value": "555"}, {"key": "x-orderid", "value": "order-9"}]}}}`

func TestDecodeEvent_PaidDeclinedAndOtherNotifications(t *testing.T) {
	t.Parallel()
	declined := strings.NewReplacer(`"PurchasePaid"`, `"PurchaseDeclined"`, `"status": "Paid"`, `"status": "Declined", "error": {"code": "FRA_REJ", "message": "Rejected for fraud"}`).Replace(paidNotification)
	declinedNoCode := strings.Replace(paidNotification, `"PurchasePaid"`, `"PurchaseDeclined"`, 1)
	awaiting := strings.Replace(paidNotification, `"PurchasePaid"`, `"PurchaseAwaitingPayment"`, 1)
	tests := []struct {
		name    string
		body    string
		code    string
		kind    gateways.EventKind
		success bool
		reason  string
	}{
		{"paid", paidNotification, cleverbridge.EventPurchasePaid, gateways.EventPurchase, true, ""},
		{"declined with code", declined, cleverbridge.EventPurchaseDeclined, gateways.EventPurchase, false, "Rejected for fraud"},
		{"declined without code", declinedNoCode, cleverbridge.EventPurchaseDeclined, gateways.EventPurchase, false, "Payment declined by Cleverbridge; the customer can change the payment details at Cleverbridge"},
		{"awaiting payment", awaiting, cleverbridge.EventPurchaseAwaitingPayment, gateways.EventOther, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := cleverbridge.DecodeEvent([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Gateway != "cleverbridge" || ev.Code != tt.code || ev.Kind != tt.kind || ev.Success != tt.success || ev.Reason != tt.reason {
				t.Fatalf("event %+v", ev)
			}
			if ev.PaymentReference != "P77" || ev.MerchantReference != "order-9" || ev.Token != "S9073119" {
				t.Fatalf("references %q %q %q", ev.PaymentReference, ev.MerchantReference, ev.Token)
			}
			want := map[string]string{"customerId": "927751142", "subscriptionId": "555", "orderId": "order-9"}
			if len(ev.Metadata) != 3 || ev.Metadata["customerId"] != want["customerId"] || ev.Metadata["subscriptionId"] != want["subscriptionId"] || ev.Metadata["orderId"] != want["orderId"] {
				t.Fatalf("metadata %v, want %v", ev.Metadata, want)
			}
			if ev.Amount.String() != "9.99 EUR" {
				t.Fatalf("amount %s", ev.Amount)
			}
		})
	}
}

func TestParseNotification_BadInputNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
	}{
		{"not JSON", `{"id":`, ""},
		{"no id", strings.Replace(paidNotification, `"id": "N1", `, "", 1), "id"},
		{"no event type", strings.Replace(paidNotification, `"eventType": "PurchasePaid", `, "", 1), "eventType"},
		{"no purchase id", strings.Replace(paidNotification, `"id": "P77", `, "", 1), "purchase.id"},
		{"bad currency", strings.Replace(paidNotification, `"EUR"`, `"euro"`, 1), "purchase.currencyId"},
		{"amount not a number", strings.Replace(paidNotification, `9.99`, `"nine"`, 1), "purchase.totalGross"},
		{"negative amount", strings.Replace(paidNotification, `9.99`, `-1`, 1), "purchase.totalGross"},
		{"finer than the currency", strings.Replace(paidNotification, `9.99`, `9.999`, 1), "purchase.totalGross"},
		{"beyond any payment", strings.Replace(paidNotification, `9.99`, `1e300`, 1), "purchase.totalGross"},
		{"no currency", strings.Replace(paidNotification, `"EUR"`, `"XXX"`, 1), "purchase.currencyId"},
		{"paid without amount", strings.Replace(paidNotification, `"totalGross": 9.99,`, "", 1), "purchase.totalGross"},
		{"items not a list", strings.Replace(paidNotification, `"items": [`, `"items": {"x": [`, 1) + "}", ""},
		{"extraParameters not an object", strings.Replace(paidNotification, `"extraParameters": {"extraParameter": [{"key": "x-customerid", "value": "927751142"},
   {"key": "x-subscriptionid", "value": "555"}, {"key": "x-orderid", "value": "order-9"}]}`, `"extraParameters": 5`, 1), "purchase.extraParameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cleverbridge.ParseNotification([]byte(tt.body))
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("err = %v, want permanent", err)
			}
			var fe *cleverbridge.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if tt.field != "" && fe.Field != tt.field {
				t.Fatalf("field %q (%v), want %q", fe.Field, err, tt.field)
			}
		})
	}
}

func TestExtraParameters_ReadInBothFormsAndBackToMetadata(t *testing.T) {
	t.Parallel()
	// The page's literal form repeats the "extraParameter" key.
	literal := `{"extraParameter": {"key": "x-customerid", "value": "51254"},
	             "extraParameter": {"key": "x-vendors-subscription-id", "value": "544920"}}`
	array := `{"extraParameter": [{"key": "x-customerid", "value": "51254"}, {"key": "x-vendors-subscription-id", "value": "544920"}]}`
	for _, body := range []string{literal, array} {
		var p cleverbridge.ExtraParameters
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		md := p.Metadata()
		if len(p) != 2 || md["customerId"] != "51254" || md["vendors-subscription-id"] != "544920" {
			t.Fatalf("%s read as %v, metadata %v", body, p, md)
		}
	}
	out, err := json.Marshal(cleverbridge.ExtraParametersFrom(map[string]string{"orderId": "7", "customerId": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"extraParameter":[{"key":"x-customerid","value":"9"},{"key":"x-orderid","value":"7"}]}`; string(out) != want {
		t.Fatalf("written as %s, want %s", out, want)
	}
}

func TestNotification_SubjectAndDedupID(t *testing.T) {
	t.Parallel()
	n, err := cleverbridge.ParseNotification([]byte(paidNotification))
	if err != nil {
		t.Fatal(err)
	}
	if got := cleverbridge.Subject(n); got != "gateway.cleverbridge.PurchasePaid" {
		t.Fatalf("subject %q", got)
	}
	if got := cleverbridge.DedupID(n); got != "cleverbridge:P77:PurchasePaid:N1" {
		t.Fatalf("dedup id %q", got)
	}
	n.EventType = "Purchase.Paid >"
	if got := cleverbridge.Subject(n); got != "gateway.cleverbridge.Purchase_Paid__" {
		t.Fatalf("subject of an odd event type %q", got)
	}
}
