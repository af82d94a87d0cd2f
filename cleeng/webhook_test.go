package cleeng_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/failure"
)

// Payload examples, one per topic, built from the field lists of
// cleeng-api.md; ids mix numbers and strings as Cleeng's examples do.
var (
	exampleAuthorisation = `{"broadcasterId": 123456789, "topic": "subscriptionReadyForPaymentAuthorisation", "data": {
		"subscriptionId": 826715352, "offerId": "S619117184_US", "customerId": "927751142",
		"customerEmail": "matthew.brown@example.com", "paymentDetailsId": 193925086, "active": true,
		"dunningAttemptDate": "2024-05-17T10:00:00+00:00", "dunningStatus": "authorize",
		"expirationDate": "2024-05-20T10:00:00+00:00", "currency": "USD", "paymentCountry": "US",
		"paymentMethodId": 123876432, "token": "z7xariumf493GHBjEs9D-UpN-9kyESWYPUQo9S6nEewThuD8",
		"paymentGateway": "adyen"}}`
	exampleCapture = strings.NewReplacer(
		"subscriptionReadyForPaymentAuthorisation", "subscriptionReadyForPaymentCapture",
		`"authorize"`, `"capture"`, "2024-05-17T10", "2024-05-20T10").Replace(exampleAuthorisation)
	exampleTermination = `{"broadcasterId": "123456789", "topic": "subscriptionReadyForTermination",
		"data": {"subscriptionId": "826715352", "customerId": 927751142, "offerId": "S619117184_US"}}`
	exampleRefund = `{"broadcasterId": 123456789, "topic": "refundPayment", "data": {"paymentId": 5551234,
		"orderId": 343967543, "customerId": 927751142, "externalPaymentId": "PSP-8535296650153317",
		"amount": 9.99, "currency": "USD", "reason": "customer request"}}`
	exampleDeactivated = `{"broadcasterId": 123456789, "topic": "paymentDetailsDeactivated", "data": {
		"paymentDetailsId": 193925086, "customerId": 927751142, "paymentMethodId": 123876432,
		"token": "z7xariumf493GHBjEs9D-UpN-9kyESWYPUQo9S6nEewThuD8"}}`
	exampleDeactivatedSeedSpelling = strings.Replace(exampleDeactivated, `"paymentDetailsDeactivated"`, `"PaymentDetailsDeactivated"`, 1)
	exampleCapturePayment          = `{"broadcasterId": 123456789, "topic": "capturePayment", "data": {"anything": [1, 2]}}`
)

func TestDecodeWebhook_EveryTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		topic cleeng.Topic
		flow  cleeng.Flow
		check func(t *testing.T, w cleeng.Webhook)
	}{
		{"authorisation", exampleAuthorisation, cleeng.TopicPaymentAuthorisation, cleeng.FlowAuthorise, func(t *testing.T, w cleeng.Webhook) {
			d := w.Dunning
			if d == nil || d.SubscriptionID != "826715352" || d.CustomerID != "927751142" || d.PaymentMethodID != "123876432" ||
				d.DunningAttemptDate != "2024-05-17T10:00:00+00:00" || d.Currency != "USD" || !d.Active ||
				string(d.Token) != "z7xariumf493GHBjEs9D-UpN-9kyESWYPUQo9S6nEewThuD8" || d.DunningStatus != "authorize" {
				t.Fatalf("dunning data = %+v", d)
			}
		}},
		{"capture", exampleCapture, cleeng.TopicPaymentCapture, cleeng.FlowCapture, func(t *testing.T, w cleeng.Webhook) {
			if w.Dunning == nil || w.Dunning.DunningStatus != "capture" || w.Dunning.PaymentDetailsID != "193925086" {
				t.Fatalf("dunning data = %+v", w.Dunning)
			}
		}},
		{"termination", exampleTermination, cleeng.TopicTermination, cleeng.FlowTerminate, func(t *testing.T, w cleeng.Webhook) {
			if w.Termination == nil || w.Termination.SubscriptionID != "826715352" || w.BroadcasterID != "123456789" {
				t.Fatalf("termination = %+v, broadcaster %q", w.Termination, w.BroadcasterID)
			}
		}},
		{"refund", exampleRefund, cleeng.TopicRefundPayment, cleeng.FlowRefund, func(t *testing.T, w cleeng.Webhook) {
			r := w.Refund
			if r == nil || r.PaymentID != "5551234" || r.OrderID != "343967543" || r.Amount.String() != "9.99" || r.ExternalPaymentID != "PSP-8535296650153317" {
				t.Fatalf("refund = %+v", r)
			}
		}},
		{"deactivated", exampleDeactivated, cleeng.TopicPaymentDetailsDeactivated, cleeng.FlowDeactivateDetails, func(t *testing.T, w cleeng.Webhook) {
			if w.Deactivation == nil || w.Deactivation.PaymentDetailsID != "193925086" {
				t.Fatalf("deactivation = %+v", w.Deactivation)
			}
		}},
		{"deactivated, seed spelling", exampleDeactivatedSeedSpelling, cleeng.TopicPaymentDetailsDeactivated, cleeng.FlowDeactivateDetails, nil},
		{"capturePayment", exampleCapturePayment, cleeng.TopicCapturePayment, cleeng.FlowNone, func(t *testing.T, w cleeng.Webhook) {
			if string(w.Unparsed) != `{"anything":[1,2]}` {
				t.Fatalf("unparsed = %s", w.Unparsed)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := cleeng.DecodeWebhook([]byte(tt.body))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if w.Topic != tt.topic || w.Flow() != tt.flow {
				t.Fatalf("topic %q flow %q, want %q %q", w.Topic, w.Flow(), tt.topic, tt.flow)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}

func TestDecodeWebhook_MissingOrMalformedFieldIsNamed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
	}{
		{"no subscriptionId", strings.Replace(exampleAuthorisation, `"subscriptionId": 826715352,`, "", 1), "data.subscriptionId"},
		{"no dunningAttemptDate", strings.Replace(exampleCapture, `"dunningAttemptDate": "2024-05-20T10:00:00+00:00",`, "", 1), "data.dunningAttemptDate"},
		{"no token", strings.Replace(exampleAuthorisation, `"token": "z7xariumf493GHBjEs9D-UpN-9kyESWYPUQo9S6nEewThuD8",`, "", 1), "data.token"},
		{"termination without subscription", `{"broadcasterId":1,"topic":"subscriptionReadyForTermination","data":{"customerId":1}}`, "data.subscriptionId"},
		{"refund without amount", strings.Replace(exampleRefund, `"amount": 9.99,`, "", 1), "data.amount"},
		{"refund with a zero amount", strings.Replace(exampleRefund, `"amount": 9.99,`, `"amount": 0,`, 1), "data.amount"},
		{"deactivation without details id", strings.Replace(exampleDeactivated, `"paymentDetailsId": 193925086,`, "", 1), "data.paymentDetailsId"},
		{"id of the wrong type", strings.Replace(exampleTermination, `"subscriptionId": "826715352"`, `"subscriptionId": {"x":1}`, 1), "data.subscriptionId"},
		{"amount of the wrong type", strings.Replace(exampleRefund, `"amount": 9.99`, `"amount": true`, 1), "data.amount"},
		{"currency no ISO 4217 list holds", strings.Replace(exampleAuthorisation, `"currency": "USD"`, `"currency": "XXX"`, 1), "data.currency"},
		{"refund in an unknown currency", strings.Replace(exampleRefund, `"currency": "USD"`, `"currency": "usd"`, 1), "data.currency"},
		{"refund beyond any payment", strings.Replace(exampleRefund, `"amount": 9.99`, `"amount": 1e300`, 1), "data.amount"},
		{"refund finer than the currency", strings.Replace(exampleRefund, `"amount": 9.99`, `"amount": 9.999`, 1), "data.amount"},
		{"refund finer than a currency without decimals", strings.NewReplacer(`"amount": 9.99`, `"amount": 1000.5`, `"USD"`, `"JPY"`).Replace(exampleRefund), "data.amount"},
		{"dunningAttemptDate not a timestamp", strings.Replace(exampleCapture, `"2024-05-20T10:00:00+00:00",`, `"next tuesday",`, 1), "data.dunningAttemptDate"},
		{"dunningAttemptDate without a zone", strings.Replace(exampleCapture, `"2024-05-20T10:00:00+00:00",`, `"2024-05-20T10:00:00",`, 1), "data.dunningAttemptDate"},
		{"no topic", `{"broadcasterId":1,"data":{}}`, "topic"},
		{"no broadcaster", `{"topic":"refundPayment","data":{}}`, "broadcasterId"},
		{"no data", `{"broadcasterId":1,"topic":"refundPayment"}`, "data"},
		{"data not an object", `{"broadcasterId":1,"topic":"refundPayment","data":[1]}`, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cleeng.DecodeWebhook([]byte(tt.body))
			var fe *cleeng.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError for %s", err, tt.field)
			}
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("err class = %v, want permanent", failure.ClassOf(err))
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Fatalf("message %q does not start with the field", err)
			}
		})
	}
}

func TestWebhookCheckAttempt_RefusesStaleAndFutureAttempts(t *testing.T) {
	t.Parallel()
	hook, err := cleeng.DecodeWebhook([]byte(exampleAuthorisation)) // attempt of 2024-05-17T10:00:00Z
	if err != nil {
		t.Fatal(err)
	}
	attempt := time.Date(2024, 5, 17, 10, 0, 0, 0, time.UTC)
	window := cleeng.AttemptWindow{MaxAge: 72 * time.Hour, MaxAhead: 5 * time.Minute}
	for _, tt := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at the attempt", attempt, true},
		{"as old as the window", attempt.Add(72 * time.Hour), true},
		{"older than the window", attempt.Add(72*time.Hour + time.Second), false},
		{"a month later (replayed)", attempt.AddDate(0, 1, 0), false},
		{"ahead within the skew", attempt.Add(-5 * time.Minute), true},
		{"ahead beyond the skew", attempt.Add(-5*time.Minute - time.Second), false},
	} {
		err := hook.CheckAttempt(tt.now, window)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, cleeng.ErrAttemptOutsideWindow)) {
			t.Errorf("%s: %v, want ok %t", tt.name, err, tt.ok)
		}
	}
	refund, err := cleeng.DecodeWebhook([]byte(exampleRefund))
	if err != nil {
		t.Fatal(err)
	}
	if err := refund.CheckAttempt(attempt.AddDate(1, 0, 0), window); err != nil {
		t.Errorf("a refund has no dunning attempt: %v", err)
	}
}

func TestDecodeWebhook_UnknownTopicIsDistinguishable(t *testing.T) {
	t.Parallel()
	w, err := cleeng.DecodeWebhook([]byte(`{"broadcasterId":1,"topic":"somethingNew","data":{}}`))
	if !errors.Is(err, cleeng.ErrUnknownTopic) || w.Topic != "somethingNew" {
		t.Fatalf("err %v topic %q, want ErrUnknownTopic and the topic", err, w.Topic)
	}
	_, err = cleeng.DecodeWebhook([]byte(`{"topic":`))
	if err == nil || errors.Is(err, cleeng.ErrUnknownTopic) {
		t.Fatalf("malformed JSON: err %v", err)
	}
}

func TestWebhookDedupID_SameEventSameIDNextAttemptNewID(t *testing.T) {
	t.Parallel()
	id := func(body string) string {
		t.Helper()
		w, err := cleeng.DecodeWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return w.DedupID()
	}
	auth := id(exampleAuthorisation)
	// A re-sent copy, with other field order and whitespace, and the email changed.
	resent := id(strings.Replace(exampleAuthorisation, "matthew.brown@example.com", "m@example.com", 1))
	if auth != resent {
		t.Fatal("a re-sent authorisation webhook got a new dedup id")
	}
	nextAttempt := id(strings.Replace(exampleAuthorisation, "2024-05-17T10", "2024-05-18T10", 1))
	if nextAttempt == auth {
		t.Fatal("the next dunning attempt has the same dedup id")
	}
	if id(exampleCapture) == id(strings.Replace(exampleCapture, "Capture", "Authorisation", 1)) {
		t.Fatal("capture and authorisation of the same attempt share a dedup id")
	}
	if id(exampleDeactivated) != id(exampleDeactivatedSeedSpelling) {
		t.Fatal("the two spellings of the deactivation topic have different dedup ids")
	}
	if id(exampleRefund) == id(strings.Replace(exampleRefund, "5551234", "5551235", 1)) {
		t.Fatal("refunds of two payments share a dedup id")
	}
	if id(exampleRefund) != id(strings.Replace(exampleRefund, "customer request", "other", 1)) {
		t.Fatal("a re-sent refund with another reason got a new dedup id")
	}
	if id(exampleCapturePayment) != id(`{"topic":"capturePayment","broadcasterId":123456789,"data":{ "anything" : [1,2] }}`) {
		t.Fatal("capturePayment: whitespace changed the dedup id")
	}
}

func TestWebhook_CheckBroadcaster(t *testing.T) {
	t.Parallel()
	w, err := cleeng.DecodeWebhook([]byte(exampleTermination))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CheckBroadcaster("123456789"); err != nil {
		t.Fatalf("matching broadcaster: %v", err)
	}
	if err := w.CheckBroadcaster(""); !errors.Is(err, cleeng.ErrWrongBroadcaster) {
		t.Fatalf("no broadcaster configured: %v, want every broadcaster refused", err)
	}
	if err := w.CheckBroadcaster("42"); !errors.Is(err, cleeng.ErrWrongBroadcaster) {
		t.Fatalf("other broadcaster: %v", err)
	}
}

func TestFlowMapping(t *testing.T) {
	t.Parallel()
	if got := cleeng.TopicsOf(cleeng.FlowCapture); len(got) != 1 || got[0] != cleeng.TopicPaymentCapture {
		t.Fatalf("TopicsOf(capture) = %v", got)
	}
	if got := cleeng.TopicsOf(cleeng.FlowNone); got != nil {
		t.Fatalf("TopicsOf(none) = %v", got)
	}
	for _, name := range cleeng.RequiredTopics {
		topic, ok := cleeng.ParseTopic(name)
		if !ok || string(topic) != name {
			t.Fatalf("required topic %s does not parse to itself", name)
		}
	}
	if topic, ok := cleeng.ParseTopic("PaymentDetailsDeactivated"); !ok || topic != cleeng.TopicPaymentDetailsDeactivated {
		t.Fatalf("seed spelling parses to %q %v", topic, ok)
	}
}

func TestSecret_HiddenFromFmt(t *testing.T) {
	t.Parallel()
	w, err := cleeng.DecodeWebhook([]byte(exampleAuthorisation))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := sprintf(format, *w.Dunning); strings.Contains(s, "z7xariumf493") {
			t.Fatalf("%s printed the token: %s", format, s)
		}
	}
}

func FuzzDecodeWebhook(f *testing.F) {
	for _, body := range []string{exampleAuthorisation, exampleCapture, exampleTermination, exampleRefund,
		exampleDeactivated, exampleDeactivatedSeedSpelling, exampleCapturePayment, `{}`, `null`, `[]`,
		`{"topic":"refundPayment","broadcasterId":1,"data":{"amount":"1e999999999"}}`} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := cleeng.DecodeWebhook(body)
		if err != nil {
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("unclassified decode error: %v", err)
			}
			return
		}
		// Cleeng's re-sent copy need not be formatted as the first was: the
		// dedup id must not change with whitespace or the envelope's order.
		if resent, ok := reformatted(body); ok {
			again, err := cleeng.DecodeWebhook(resent)
			if err != nil {
				t.Fatalf("the same webhook, reformatted, does not decode: %v\n%s", err, resent)
			}
			if again.DedupID() != w.DedupID() {
				t.Fatalf("reformatting changed the dedup id:\n%s\n%s", body, resent)
			}
		}
		set := 0
		for _, ok := range []bool{w.Dunning != nil, w.Termination != nil, w.Refund != nil, w.Deactivation != nil, w.Unparsed != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("%d data fields set for topic %s", set, w.Topic)
		}
	})
}

// reformatted returns body with its top-level members in reverse order and
// indented: the same JSON object, other bytes. ok is false when body is not
// an object whose member names differ even in case (encoding/json matches
// names without case, so their order would decide which one counts).
func reformatted(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	type member struct {
		name  string
		value json.RawMessage
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		for _, m := range members {
			if strings.EqualFold(m.name, name) {
				return nil, false
			}
		}
		members = append(members, member{name, value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') || dec.More() {
		return nil, false
	}
	var out bytes.Buffer
	out.WriteString("{")
	for i := len(members) - 1; i >= 0; i-- {
		name, _ := json.Marshal(members[i].name)
		fmt.Fprintf(&out, "\n  %s: %s", name, members[i].value)
		if i > 0 {
			out.WriteString(",")
		}
	}
	out.WriteString("\n}")
	var indented bytes.Buffer
	if err := json.Indent(&indented, out.Bytes(), "", "\t"); err != nil {
		return nil, false
	}
	return indented.Bytes(), true
}
