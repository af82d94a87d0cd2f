package ingress_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/testkit"
)

const (
	cbUser = "cb-user"
	cbPass = "cb-pass"
)

const cbPaid = `{"id": "N1", "eventType": "PurchasePaid", "purchase": {"id": "P77", "status": "Paid",
 "currencyId": "EUR", "totalGross": 9.99,
 "items": [{"productId": 226544, "quantity": 1, "recurringBilling": {"subscriptionId": "S9073119"}}],
 "extraParameters": {"extraParameter": [{"key": "x-customerid", "value": "927751142"},
  {"key": "x-subscriptionid", "value": "555"}, {"key": "x-orderid", "value": "order-9"}]}}}`

// postCleverbridge posts body with basic auth (user "" sends none).
func postCleverbridge(t *testing.T, e *env, user, pass, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/cleverbridge", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, b := testkit.Do(t, req)
	return resp.StatusCode, string(b)
}

// storedOn returns the last message stored on subject.
func storedOn(t *testing.T, e *env, subject string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.broker.JS.Stream(ctx, broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		t.Fatalf("nothing stored on %s: %v", subject, err)
	}
	return msg.Data
}

func TestCleverbridgeWebhook_SameNotificationThreeTimesStoredOnceRawAndAnswered200(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleverbridge(ingress.CleverbridgeWebhookConfig{Username: cbUser, Password: cbPass})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := postCleverbridge(t, e, cbUser, cbPass, cbPaid); code != http.StatusOK || !strings.Contains(body, `"accepted"`) {
				t.Errorf("got %d %s, want 200 accepted", code, body)
			}
		}()
	}
	wg.Wait()
	if got := e.stored(); got != 1 {
		t.Fatalf("stored %d messages, want 1", got)
	}
	data := storedOn(t, e, "gateway.cleverbridge.PurchasePaid")
	if string(data) != cbPaid {
		t.Fatalf("stored body differs from the one received:\n%s", data)
	}
	ev, err := cleverbridge.DecodeEvent(data)
	if err != nil || !ev.Success || ev.Metadata["orderId"] != "order-9" || ev.PaymentReference != "P77" {
		t.Fatalf("stored notification decodes to %+v, %v", ev, err)
	}
}

func TestCleverbridgeWebhook_BadCredentialsAnswer401AndStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleverbridge(ingress.CleverbridgeWebhookConfig{Username: cbUser, Password: cbPass})
	for _, c := range []struct{ name, user, pass string }{
		{"none", "", ""}, {"wrong user", "someone", cbPass}, {"wrong password", cbUser, "guess"},
	} {
		if code, _ := postCleverbridge(t, e, c.user, c.pass, cbPaid); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.name, code)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("stored %d, want 0", got)
	}
}

func TestCleverbridgeWebhook_WithoutConfiguredCredentialsEverythingIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleverbridge(ingress.CleverbridgeWebhookConfig{})
	for _, user := range []string{"", "any"} {
		if code, _ := postCleverbridge(t, e, user, "", cbPaid); code != http.StatusUnauthorized {
			t.Fatalf("user %q: %d, want 401", user, code)
		}
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("stored %d, want 0", got)
	}
}

func TestCleverbridgeWebhook_BadInputAnswers400NamingTheFieldAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleverbridge(ingress.CleverbridgeWebhookConfig{Username: cbUser, Password: cbPass})
	tests := []struct {
		name, body, field string
		status            int
	}{
		{"not JSON", `{"id": `, "", http.StatusBadRequest},
		{"no id", strings.Replace(cbPaid, `"id": "N1", `, "", 1), "id", http.StatusBadRequest},
		{"no event type", strings.Replace(cbPaid, `"eventType": "PurchasePaid", `, "", 1), "eventType", http.StatusBadRequest},
		{"no purchase id", strings.Replace(cbPaid, `"id": "P77", `, "", 1), "purchase.id", http.StatusBadRequest},
		{"bad amount", strings.Replace(cbPaid, `9.99`, `"lots"`, 1), "purchase.totalGross", http.StatusBadRequest},
		{"bad currency", strings.Replace(cbPaid, `"EUR"`, `"E"`, 1), "purchase.currencyId", http.StatusBadRequest},
		{"too large", strings.Replace(cbPaid, `"status": "Paid",`, `"status": "Paid", "pad": "`+strings.Repeat("x", 2048)+`",`, 1), "", http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := postCleverbridge(t, e, cbUser, cbPass, tt.body)
			if code != tt.status {
				t.Fatalf("status %d (%s), want %d", code, body, tt.status)
			}
			var got struct{ Error, Field string }
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.Error == "" {
				t.Fatalf("body %s: want a JSON error", body)
			}
			if got.Field != tt.field {
				t.Fatalf("field %q (%s), want %q", got.Field, got.Error, tt.field)
			}
		})
	}
	if got := e.stored(); got != 0 {
		t.Fatalf("rejected notifications stored %d messages, want 0", got)
	}
}

// TestCleverbridgeWebhook_DroppedProcessCartAnswerStillStoresThePurchaseNotification
// runs the real gateway against the sandbox with the answer dropped: the
// gateway reports an unknown outcome after one call, and the sandbox's
// notification reaches the ingress with the x-parameters that match it.
func TestCleverbridgeWebhook_DroppedProcessCartAnswerStillStoresThePurchaseNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ing.MountCleverbridge(ingress.CleverbridgeWebhookConfig{Username: cbUser, Password: cbPass})
	sb := sandbox.New(sandbox.Options{NotifyURL: e.srv.URL + "/webhooks/cleverbridge", NotifyUsername: cbUser, NotifyPassword: cbPass,
		NotifyRetryBase: 10 * time.Millisecond})
	api := httptest.NewServer(sb)
	t.Cleanup(func() { api.Close(); sb.Close() })
	gw, err := cleverbridge.New(cleverbridge.Config{BaseURL: api.URL, Username: sb.Username(), Password: sb.Password(), ProductID: "226544"})
	if err != nil {
		t.Fatal(err)
	}
	sb.Faults().Add(faultinject.Fault{PathPrefix: cleverbridge.ProcessCartPath, DropResponse: true, Count: 1})
	amount, _ := money.New("9.99", "EUR")
	_, err = gw.Pay(context.Background(), gateways.PayRequest{
		Reference: "order-lost", Amount: amount, Token: sandbox.SubscriptionPaid,
		Metadata: map[string]string{"customerId": "927751142", "subscriptionId": "555", "orderId": "order-lost"},
	})
	if !failure.Is(err, failure.ClassUnknownOutcome) {
		t.Fatalf("err = %v, want unknown outcome", err)
	}
	if !sb.WaitFor(10*time.Second, func(st sandbox.State) bool { return len(st.Notifications) == 1 && st.Notifications[0].Delivered }) {
		t.Fatalf("notification not delivered: %+v", sb.Notifications())
	}
	if n := len(sb.Calls()); n != 1 {
		t.Fatalf("%d Process Cart calls, want 1", n)
	}
	ev, err := cleverbridge.DecodeEvent(storedOn(t, e, "gateway.cleverbridge.PurchasePaid"))
	if err != nil || !ev.Success || ev.MerchantReference != "order-lost" || ev.PaymentReference != sb.Purchases()[0].ID {
		t.Fatalf("stored event %+v, %v", ev, err)
	}
}
