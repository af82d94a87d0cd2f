package adyen

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/adyen/adyen-go-api-library/v9/src/hmacvalidator"
	"github.com/adyen/adyen-go-api-library/v9/src/webhook"

	"github.com/cleeng-connector/connector/gateways"
)

// Adyen's published test vector (adyen-notes.md), not produced by this project.
const (
	vectorKey       = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	vectorSignature = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
	otherKey        = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
)

func vectorBody(psp, signature string) []byte {
	item := map[string]any{
		"pspReference":        psp,
		"originalReference":   "",
		"merchantAccountCode": "TestMerchant",
		"merchantReference":   "TestPayment-1407325143704",
		"amount":              map[string]any{"value": 1130, "currency": "EUR"},
		"eventCode":           "AUTHORISATION",
		"eventDate":           "2024-04-26T10:00:00+02:00",
		"success":             "true",
		"paymentMethod":       "visa",
		"reason":              "",
	}
	if signature != "" {
		item["additionalData"] = map[string]any{"hmacSignature": signature}
	}
	b, _ := json.Marshal(map[string]any{"live": "false", "notificationItems": []any{map[string]any{"NotificationRequestItem": item}}})
	return b
}

func TestVerifier_PublishedVectorAccepted(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	items, err := v.Decode(vectorBody("7914073381342284", vectorSignature))
	if err != nil {
		t.Fatalf("genuine item refused: %v", err)
	}
	if len(items) != 1 || items[0].PspReference != "7914073381342284" {
		t.Fatalf("items = %+v", items)
	}
}

func TestVerifier_OneCharacterChangedRefused(t *testing.T) {
	t.Parallel()
	v, _ := NewVerifier(vectorKey)
	if _, err := v.Decode(vectorBody("7914073381342285", vectorSignature)); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("changed pspReference: err = %v, want ErrInvalidSignature", err)
	}
	changedSig := "doqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
	if _, err := v.Decode(vectorBody("7914073381342284", changedSig)); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("changed signature: err = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifier_NoAdditionalDataRefusedWithoutPanic(t *testing.T) {
	t.Parallel()
	v, _ := NewVerifier(vectorKey)
	if _, err := v.Decode(vectorBody("7914073381342284", "")); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("err = %v, want ErrInvalidSignature", err)
	}
	var nilVerifier *Verifier
	if nilVerifier.Valid(Item{}) {
		t.Fatal("nil verifier accepted an item")
	}
}

func TestVerifier_RotationAcceptsOldAndNewKey(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(otherKey, vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Decode(vectorBody("7914073381342284", vectorSignature)); err != nil {
		t.Fatalf("item signed with the second key refused: %v", err)
	}
	only, _ := NewVerifier(otherKey)
	if _, err := only.Decode(vectorBody("7914073381342284", vectorSignature)); err == nil {
		t.Fatal("item signed with an unconfigured key accepted")
	}
}

func TestSign_PublishedStringVector(t *testing.T) {
	t.Parallel()
	got, err := hmacvalidator.CalculateHmac("pspReference:originalReference:merchantAccount:reference:1000:EUR:EVENT:true", otherKey)
	if err != nil || got != "ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=" {
		t.Fatalf("got %q, %v", got, err)
	}
	items, _ := ParseNotification(vectorBody("7914073381342284", ""))
	sig, err := Sign(items[0], vectorKey)
	if err != nil || sig != vectorSignature {
		t.Fatalf("Sign = %q, %v; want the published signature", sig, err)
	}
}

func TestNewVerifier_RejectsMissingAndMalformedKeys(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifier("", " "); err == nil {
		t.Fatal("no key accepted")
	}
	if _, err := NewVerifier("zz"); err == nil {
		t.Fatal("non-hex key accepted")
	}
}

func TestParseNotification_ReadsEveryItemByIndex(t *testing.T) {
	t.Parallel()
	body := []byte(`{"live":"false","notificationItems":[
		{"NotificationRequestItem":{"pspReference":"A","eventCode":"CAPTURE","success":"true","amount":{"value":1,"currency":"EUR"}}},
		{"NotificationRequestItem":{"pspReference":"B","eventCode":"REFUND","success":"false","amount":{"value":2,"currency":"EUR"}}}]}`)
	items, err := ParseNotification(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].PspReference != "A" || items[1].PspReference != "B" {
		t.Fatalf("items = %+v", items)
	}
	if _, err := ParseNotification([]byte(`{"live":"false"}`)); err == nil {
		t.Fatal("body without items accepted")
	}
	if _, err := ParseNotification([]byte(`not json`)); err == nil {
		t.Fatal("malformed body accepted")
	}
}

func TestToEvent_MapsEventCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code string
		kind gateways.EventKind
	}{
		{"AUTHORISATION", gateways.EventAuthorisation},
		{"CAPTURE", gateways.EventCapture},
		{"CAPTURE_FAILED", gateways.EventCaptureFailed},
		{"REFUND", gateways.EventRefund},
		{"REFUND_FAILED", gateways.EventRefundFailed},
		{"CANCELLATION", gateways.EventCancellation},
		{"RECURRING_CONTRACT", gateways.EventRecurringContract},
		{"CHARGEBACK", gateways.EventOther},
		{"CANCEL_OR_REFUND", gateways.EventOther},
	}
	for _, c := range cases {
		ad := map[string]any{"recurring.recurringDetailReference": "TOKEN1", "metadata.subscriptionId": "S1", "modification.action": "refund"}
		item := Item{PspReference: "P1", OriginalReference: "O1", MerchantReference: "R1", EventCode: c.code,
			Success: "true", AdditionalData: &ad}
		item.Amount.Value, item.Amount.Currency = 1130, "KWD"
		ev, err := ToEvent(item)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != c.kind || ev.Code != c.code || ev.Modification != "refund" || !ev.Success || ev.Gateway != "adyen" || ev.OriginalReference != "O1" ||
			ev.Token != "TOKEN1" || ev.Metadata["subscriptionId"] != "S1" || ev.Amount.String() != "1.130 KWD" {
			t.Errorf("%s: event = %+v", c.code, ev)
		}
	}
}

func TestToEvent_EventWithoutAmountDecodes(t *testing.T) {
	t.Parallel()
	ev, err := ToEvent(Item{PspReference: "P2", EventCode: "REPORT_AVAILABLE", Success: "true"})
	if err != nil || ev.Kind != gateways.EventOther || !ev.Amount.Value.IsZero() {
		t.Fatalf("event = %+v, %v; want an amountless other event", ev, err)
	}
}

func TestToEvent_ImpossibleAmountRefused(t *testing.T) {
	t.Parallel()
	for _, amount := range []webhook.Amount{{Currency: "XXX", Value: 100}, {Currency: "euro", Value: 100}, {Currency: "EUR", Value: -1}} {
		if _, err := ToEvent(Item{PspReference: "P3", EventCode: "AUTHORISATION", Success: "true", Amount: amount}); err == nil || !strings.Contains(err.Error(), "amount") {
			t.Errorf("amount %+v: err %v, want one naming the amount", amount, err)
		}
	}
}

func TestDedupIDAndSubject(t *testing.T) {
	t.Parallel()
	a := Item{PspReference: "P", EventCode: "CAPTURE", Success: "true"}
	b := a
	b.Success = "false"
	if DedupID(a) == DedupID(b) {
		t.Fatal("success must be part of the dedup id")
	}
	if got := ItemSubject(Item{EventCode: "CAPTURE_FAILED"}); got != "gateway.adyen.CAPTURE_FAILED" {
		t.Fatalf("subject = %q", got)
	}
	if got := ItemSubject(Item{EventCode: "A.B *>"}); got != "gateway.adyen.A_B___" {
		t.Fatalf("subject = %q", got)
	}
}

func TestDecodeEvent_ReadsAStoredItem(t *testing.T) {
	t.Parallel()
	items, err := ParseNotification(vectorBody("7914073381342284", vectorSignature))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := json.Marshal(items[0])
	ev, err := DecodeEvent(stored)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != gateways.EventAuthorisation || !ev.Success || ev.PaymentReference != "7914073381342284" || ev.Amount.String() != "11.30 EUR" {
		t.Fatalf("event = %+v", ev)
	}
	if _, err := DecodeEvent([]byte("{")); err == nil {
		t.Fatal("malformed item accepted")
	}
}
