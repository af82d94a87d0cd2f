package ingress_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/testkit"
)

var webhookSecret = []byte("0123456789abcdef0123456789abcdef")

const authorisationWebhook = `{"broadcasterId": 123456789, "topic": "subscriptionReadyForPaymentAuthorisation", "data": {
 "subscriptionId": 555, "offerId": "S619117184_US", "customerId": 927751142, "customerEmail": "a@example.com",
 "paymentDetailsId": 77, "active": true, "dunningAttemptDate": "2026-11-22T10:00:00+00:00", "dunningStatus": "authorize",
 "expirationDate": "2026-11-25T10:00:00+00:00", "currency": "EUR", "paymentCountry": "DE", "paymentMethodId": 123876432,
 "token": "tok_secret", "paymentGateway": "adyen"}}`

func mountWebhooks(t *testing.T, e *env) {
	t.Helper()
	v, err := adyen.NewVerifier(adyenKey)
	if err != nil {
		t.Fatal(err)
	}
	e.ing.MountCleeng(ingress.CleengWebhookConfig{Secret: webhookSecret, PublisherID: "123456789"})
	e.ing.MountAdyen(ingress.AdyenWebhookConfig{Verifier: v, Username: "adyen", Password: "pw"})
}

func postSigned(t *testing.T, e *env, body, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/cleeng", strings.NewReader(body))
	req.Header.Set(cleeng.DefaultSignatureHeader, sig)
	resp, b := testkit.Do(t, req)
	return resp.StatusCode, string(b)
}

func TestCleengWebhook_StoredOnceEvenWhenSentThreeTimesConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	sig := cleeng.Sign(webhookSecret, []byte(authorisationWebhook))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := postSigned(t, e, authorisationWebhook, sig); code != http.StatusOK || !strings.Contains(body, `"accepted"`) {
				t.Errorf("got %d %s, want 200 accepted", code, body)
			}
		}()
	}
	wg.Wait()
	if code, _ := postSigned(t, e, authorisationWebhook, sig); code != http.StatusOK {
		t.Fatalf("fourth copy: %d", code)
	}
	if got := e.stored(); got != 1 {
		t.Fatalf("stored %d messages, want 1", got)
	}
}

func TestCleengWebhook_RejectedRequestsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	missingField := strings.Replace(authorisationWebhook, `"subscriptionId": 555, `, "", 1)
	wrongBroadcaster := strings.Replace(authorisationWebhook, "123456789", "42", 1)
	const signed = "(signed with the right secret)"
	tests := []struct {
		name, body, sig string
		status          int
		mention         string
	}{
		{"bad signature", authorisationWebhook, cleeng.Sign([]byte("another secret of 32 bytes......"), []byte(authorisationWebhook)), 401, "signature"},
		{"no signature", authorisationWebhook, "", 401, "signature"},
		{"malformed JSON", `{"topic": `, signed, 400, "JSON"},
		{"missing field", missingField, signed, 400, "data.subscriptionId"},
		{"wrong broadcaster", wrongBroadcaster, signed, 401, "broadcasterId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			if sig == signed {
				sig = cleeng.Sign(webhookSecret, []byte(tt.body))
			}
			code, body := postSigned(t, e, tt.body, sig)
			if code != tt.status || !strings.Contains(body, tt.mention) {
				t.Errorf("got %d %s, want %d mentioning %q", code, body, tt.status, tt.mention)
			}
		})
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("rejected webhooks stored %d messages, want 0", got)
	}
}

func TestCleengWebhook_UnknownTopicIsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	for _, body := range []string{
		`{"broadcasterId": 123456789, "topic": "offerCreated", "data": {}}`,
		`{"broadcasterId": 123456789, "topic": "capturePayment", "data": {"x": 1}}`,
	} {
		code, resp := postSigned(t, e, body, cleeng.Sign(webhookSecret, []byte(body)))
		if code != http.StatusOK || !strings.Contains(resp, `"ignored"`) {
			t.Errorf("%s: got %d %s, want 200 ignored", body, code, resp)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("ignored webhooks stored %d messages, want 0", got)
	}
}

// Adyen's published test vector (adyen-notes.md), as a notification body.
const adyenKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

func adyenBody(t *testing.T, reference, signature string, withAdditionalData bool) string {
	t.Helper()
	item := map[string]any{
		"pspReference": "7914073381342284", "merchantAccountCode": "TestMerchant", "merchantReference": reference,
		"amount": map[string]any{"value": 1130, "currency": "EUR"}, "eventCode": "AUTHORISATION", "success": "true",
		"eventDate": "2026-11-22T10:00:00+01:00", "paymentMethod": "visa", "operations": []string{"CAPTURE"}, "reason": "",
	}
	if withAdditionalData {
		item["additionalData"] = map[string]string{"hmacSignature": signature}
	}
	b, _ := json.Marshal(map[string]any{"live": "false", "notificationItems": []any{map[string]any{"NotificationRequestItem": item}}})
	return string(b)
}

func postAdyen(t *testing.T, e *env, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/adyen", strings.NewReader(body))
	req.SetBasicAuth("adyen", "pw")
	resp, b := testkit.Do(t, req)
	return resp.StatusCode, string(b)
}

func TestAdyenWebhook_PublishedVector(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	const genuine = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
	if code, body := postAdyen(t, e, adyenBody(t, "TestPayment-1407325143704", genuine, true)); code != 200 || body != "[accepted]" {
		t.Fatalf("genuine item: %d %q, want 200 [accepted]", code, body)
	}
	if code, _ := postAdyen(t, e, adyenBody(t, "TestPayment-1407325143705", genuine, true)); code != http.StatusUnauthorized {
		t.Errorf("one character changed: %d, want 401", code)
	}
	if code, _ := postAdyen(t, e, adyenBody(t, "TestPayment-1407325143704", "", false)); code != http.StatusUnauthorized {
		t.Errorf("no additionalData: %d, want 401", code)
	}
	if code, _ := postAdyen(t, e, adyenBody(t, "TestPayment-1407325143704", genuine, true)); code != 200 {
		t.Errorf("re-sent genuine item: %d, want 200", code)
	}
	if got := e.stored(); got != 1 {
		t.Fatalf("stored %d, want 1 (the genuine item, once)", got)
	}
}

// dunningWebhook is authorisationWebhook for the attempt dated at.
func dunningWebhook(at time.Time) string {
	return strings.Replace(authorisationWebhook, "2026-11-22T10:00:00+00:00", at.Format(time.RFC3339), 1)
}

func TestCleengWebhook_AttemptOutsideTheWindowRefusedAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleeng(ingress.CleengWebhookConfig{Secret: webhookSecret, PublisherID: "123456789",
		Attempts: cleeng.AttemptWindow{MaxAge: 72 * time.Hour, MaxAhead: 5 * time.Minute}})
	now := time.Now()
	for _, tt := range []struct {
		name    string
		at      time.Time
		mention string
	}{
		{"stale: held back or replayed", now.Add(-73 * time.Hour), "old"},
		{"replayed a month later", now.AddDate(0, -1, 0), "old"},
		{"dated ahead", now.Add(time.Hour), "ahead"},
	} {
		body := dunningWebhook(tt.at)
		code, answer := postSigned(t, e, body, cleeng.Sign(webhookSecret, []byte(body)))
		if code != http.StatusUnprocessableEntity || !strings.Contains(answer, "data.dunningAttemptDate") || !strings.Contains(answer, tt.mention) {
			t.Errorf("%s: %d %s, want 422 naming data.dunningAttemptDate, %q", tt.name, code, answer, tt.mention)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("refused attempts stored %d messages, want 0", got)
	}
	body := dunningWebhook(now.Add(-time.Hour))
	if code, answer := postSigned(t, e, body, cleeng.Sign(webhookSecret, []byte(body))); code != http.StatusOK {
		t.Fatalf("an attempt of an hour ago: %d %s, want 200", code, answer)
	}
	if got := e.stored(); got != 1 {
		t.Fatalf("stored %d, want the attempt within the window", got)
	}
}

func TestCleengWebhook_ImpossibleValuesAnswered400NamingTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	refund := `{"broadcasterId": 123456789, "topic": "refundPayment", "data": {"paymentId": 5551234, "orderId": 343967543,
		"externalPaymentId": "PSP-1", "amount": 9.99, "currency": "EUR"}}`
	for _, tt := range []struct{ name, body, field string }{
		{"currency no ISO 4217 list holds", strings.Replace(authorisationWebhook, `"EUR"`, `"XXX"`, 1), "data.currency"},
		{"attempt date in free text", strings.Replace(authorisationWebhook, "2026-11-22T10:00:00+00:00", "next tuesday", 1), "data.dunningAttemptDate"},
		{"refund beyond any payment", strings.Replace(refund, "9.99", "1e300", 1), "data.amount"},
		{"refund finer than the currency", strings.Replace(refund, "9.99", "9.999", 1), "data.amount"},
		{"refund in an unknown currency", strings.Replace(refund, `"EUR"`, `"XTS"`, 1), "data.currency"},
	} {
		code, answer := postSigned(t, e, tt.body, cleeng.Sign(webhookSecret, []byte(tt.body)))
		if code != http.StatusBadRequest || !strings.Contains(answer, `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.name, code, answer, tt.field)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("impossible webhooks stored %d messages, want 0", got)
	}
}

func TestCleengWebhook_WithoutAuthenticationConfiguredEveryWebhookRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		cfg    ingress.CleengWebhookConfig
		status int
	}{
		{"no secret", ingress.CleengWebhookConfig{PublisherID: "123456789"}, http.StatusUnauthorized},
		{"no publisher", ingress.CleengWebhookConfig{Secret: webhookSecret}, http.StatusUnauthorized},
		{"no publisher, authenticated upstream", ingress.CleengWebhookConfig{AuthenticatedUpstream: true}, http.StatusUnauthorized},
		{"authenticated upstream", ingress.CleengWebhookConfig{AuthenticatedUpstream: true, PublisherID: "123456789"}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ing.MountCleeng(tt.cfg)
			code, answer := postSigned(t, e, authorisationWebhook, cleeng.Sign(webhookSecret, []byte(authorisationWebhook)))
			if code != tt.status {
				t.Fatalf("%d %s, want %d", code, answer, tt.status)
			}
			if want := map[bool]uint64{true: 1, false: 0}[code == http.StatusOK]; e.stored() != want {
				t.Fatalf("stored %d, want %d", e.stored(), want)
			}
		})
	}
}

func TestAdyenWebhook_ImpossibleAmountAnswered400AndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mountWebhooks(t, e)
	for _, amount := range []string{`{"value": 1130, "currency": "XXX"}`, `{"value": -1130, "currency": "EUR"}`} {
		unsigned := strings.Replace(adyenBody(t, "TestPayment-1", "", true), `{"currency":"EUR","value":1130}`, amount, 1)
		items, err := adyen.ParseNotification([]byte(unsigned))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := adyen.Sign(items[0], adyenKey)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Replace(unsigned, `"hmacSignature":""`, `"hmacSignature":"`+sig+`"`, 1)
		if code, answer := postAdyen(t, e, body); code != http.StatusBadRequest || !strings.Contains(answer, "amount") {
			t.Errorf("amount %s: %d %s, want 400 naming the amount", amount, code, answer)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("stored %d, want 0", got)
	}
}
