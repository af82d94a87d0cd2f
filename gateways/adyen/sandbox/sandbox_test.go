package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/testkit"
)

func newServer(t *testing.T, opts Options) (*Sandbox, *httptest.Server) {
	t.Helper()
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Contract == nil {
		opts.Contract = c
	}
	if opts.NotifyRetryBase == 0 {
		opts.NotifyRetryBase = 5 * time.Millisecond
	}
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, srv
}

func post(t *testing.T, url, apiKey string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		r.Header.Set("X-API-Key", apiKey)
	}
	return testkit.Do(t, r)
}

func validPayment(sb *Sandbox, ref string) map[string]any {
	return map[string]any{
		"amount": map[string]any{"currency": "EUR", "value": 1000}, "merchantAccount": sb.MerchantAccount(),
		"reference": ref, "returnUrl": "https://shop.example/return",
		"paymentMethod": json.RawMessage(CardMethod(CardVisa, "Jane Smith")),
	}
}

func TestSandbox_RequiresAPIKeyAndAnswersJSON(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{})
	for _, key := range []string{"", "wrong"} {
		resp, _ := post(t, srv.URL+"/v71/payments", key, validPayment(sb, "order-1"))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("key %q: %d %q", key, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, body := post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-1"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"Authorised"`) {
		t.Fatalf("valid payment: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if len(sb.PaymentsFor("order-1")) != 1 {
		t.Fatal("unauthenticated calls created payments")
	}
}

func TestSandbox_StrictModeRejectsContractViolations(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{})
	noReturnURL := validPayment(sb, "order-2")
	delete(noReturnURL, "returnUrl")
	unknownField := validPayment(sb, "order-3")
	unknownField["favouriteColour"] = "blue"
	for name, body := range map[string]map[string]any{"missing returnUrl": noReturnURL, "unknown field": unknownField} {
		resp, out := post(t, srv.URL+"/v71/payments", sb.APIKey(), body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(out), "CheckoutService-v71.json") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, out)
		}
	}
	if v := sb.Violations(); len(v) != 2 {
		t.Fatalf("violations = %q, want 2", v)
	}
	if n := sb.State().Payments; n != 0 {
		t.Fatalf("non-conforming requests created %d payments", n)
	}
}

func TestContract_NotificationChecks(t *testing.T) {
	t.Parallel()
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	good := `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"x"},"amount":{"currency":"EUR","value":1},"eventCode":"CAPTURE","eventDate":"2026-01-01T00:00:00Z","merchantAccountCode":"M","merchantReference":"r","originalReference":"o","pspReference":"p","success":"true"}}]}`
	if v := c.CheckNotification("CAPTURE", []byte(good)); len(v) != 0 {
		t.Fatalf("conforming notification refused: %q", v)
	}
	noDate := strings.Replace(good, `"eventDate":"2026-01-01T00:00:00Z",`, "", 1)
	if v := c.CheckNotification("CAPTURE", []byte(noDate)); len(v) == 0 {
		t.Fatal("notification without eventDate accepted")
	}
	unknownKey := strings.Replace(good, `"hmacSignature":"x"`, `"hmacSignature":"x","cardNumber":"4111"`, 1)
	if v := c.CheckNotification("CAPTURE", []byte(unknownKey)); len(v) == 0 {
		t.Fatal("notification with an unknown additionalData key accepted")
	}
}

func TestSandbox_NotificationRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "user" || p != "pass" {
			t.Errorf("notification without the configured basic auth")
		}
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "[accepted]")
	}))
	defer hook.Close()
	sb, srv := newServer(t, Options{NotifyURL: hook.URL, NotifyUsername: "user", NotifyPassword: "pass"})
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-4"))
	testkit.Eventually(t, 10*time.Second, "delivery", func() bool { return sb.State().NotificationsDelivered == 1 })
	n := sb.Notifications()[0]
	if n.Item.EventCode != "AUTHORISATION" || n.Attempts != 3 || n.Item.AdditionalData["hmacSignature"] == "" {
		t.Fatalf("notification = %+v", n)
	}
	if v := sb.Violations(); len(v) != 0 {
		t.Fatalf("violations: %q", v)
	}
}

func TestSandbox_NotificationWaitsForTargetAndStopsOnClose(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{})
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-5"))
	var accepting atomic.Bool
	accepting.Store(true)
	var refused atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accepting.Load() {
			refused.Add(1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "[accepted]")
	}))
	defer hook.Close()
	sb.SetNotifyTarget(hook.URL, "", "")
	testkit.Eventually(t, time.Minute, "the notification waiting for a target delivered once it had one", func() bool {
		return sb.State().NotificationsDelivered == 1
	})

	// A notification the receiver keeps refusing is re-sent until Close.
	accepting.Store(false)
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-6"))
	testkit.Eventually(t, time.Minute, "the second notification refused and re-sent", func() bool { return refused.Load() >= 2 })
	sb.Close()            // returns once every delivery has ended
	accepting.Store(true) // nothing is sent any more to be accepted
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-7"))
	sent := sb.Notifications()
	if len(sent) != 3 || sent[1].Delivered || sent[1].Attempts < 2 || sent[2].Attempts != 0 {
		t.Fatalf("notifications after Close %+v: want the refused one given up after its attempts and the new one never sent", sent)
	}
}

func TestSandbox_StateEndpoint(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{})
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-7"))
	resp, err := http.Get(srv.URL + "/sandbox/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "application/json" || st.Payments != 1 || st.ByStatus[StatusCaptured] != 1 {
		t.Fatalf("state = %+v", st)
	}
	if strings.Contains(mustJSON(t, st), CardVisa) {
		t.Fatal("state exposes the card number")
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSandbox_PaymentMethodsRefusesBadRequests(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{})
	valid := func() map[string]any {
		return map[string]any{"merchantAccount": sb.MerchantAccount(), "countryCode": "NL",
			"amount": map[string]any{"currency": "EUR", "value": 999}, "channel": "Web"}
	}
	resp, body := post(t, srv.URL+"/v71/paymentMethods", sb.APIKey(), valid())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"type":"ideal"`) {
		t.Fatalf("valid request: %d %s", resp.StatusCode, body)
	}
	wrongMerchant := valid()
	wrongMerchant["merchantAccount"] = "SomeoneElse"
	if resp, body := post(t, srv.URL+"/v71/paymentMethods", sb.APIKey(), wrongMerchant); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another merchant account: %d %s", resp.StatusCode, body)
	}
	badChannel := valid()
	badChannel["channel"] = "Fax"
	unknownField := valid()
	unknownField["shopperName"] = "Jane"
	for name, req := range map[string]map[string]any{"channel outside the enum": badChannel, "unknown field": unknownField} {
		if resp, body := post(t, srv.URL+"/v71/paymentMethods", sb.APIKey(), req); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(string(body), "CheckoutService-v71.json") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	if v := sb.Violations(); len(v) != 2 {
		t.Fatalf("violations = %q, want the two non-conforming requests", v)
	}
}
