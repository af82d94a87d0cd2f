package ingress_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

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
