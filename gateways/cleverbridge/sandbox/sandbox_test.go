package sandbox_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// receiver records notifications, answering fail first with 503.
type receiver struct {
	srv    *httptest.Server
	fail   atomic.Int32
	bodies chan cleverbridge.Notification
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{bodies: make(chan cleverbridge.Notification, 16)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "hook" || p != "hook-pw" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		if rc.fail.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		n, err := cleverbridge.ParseNotification(body)
		if err != nil {
			t.Errorf("notification: %v", err)
		}
		rc.bodies <- n
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) next(t *testing.T) cleverbridge.Notification {
	t.Helper()
	select {
	case n := <-rc.bodies:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
		return cleverbridge.Notification{}
	}
}

func newSandbox(t *testing.T, rc *receiver) (*sandbox.Sandbox, string) {
	t.Helper()
	opts := sandbox.Options{NotifyRetryBase: 5 * time.Millisecond}
	if rc != nil {
		opts.NotifyURL, opts.NotifyUsername, opts.NotifyPassword = rc.srv.URL, "hook", "hook-pw"
	}
	sb := sandbox.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/cleverbridge/", http.StripPrefix("/cleverbridge", sb))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, srv.URL + "/cleverbridge"
}

func cart(sub string) string {
	return `{"processCartRequest": {"cart": {"items": [{"productId": 226544, "quantity": 1,
	  "dynamicPrice": {"amount": 9.99, "currencyId": "EUR", "isGross": true}}]},
	  "defaultLanguageId": "en", "processCartMode": "NonInteractive",
	  "extraParameters": {"extraParameter": [{"key": "x-orderid", "value": "o-1"}]},
	  "subscription": {"subscriptionId": "` + sub + `"}}}`
}

func do(t *testing.T, method, url, user, pass, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, b := testkit.Do(t, req)
	return resp.StatusCode, b
}

func processCart(t *testing.T, sb *sandbox.Sandbox, base, body string) (int, cleverbridge.ProcessCartResponse) {
	t.Helper()
	status, b := do(t, http.MethodPost, base+cleverbridge.ProcessCartPath, sb.Username(), sb.Password(), body)
	var resp cleverbridge.ProcessCartResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("answer %d %s: %v", status, b, err)
	}
	return status, resp
}

func TestSandbox_RequiresBasicAuthAndRecordsTheRefusedCall(t *testing.T) {
	t.Parallel()
	sb, base := newSandbox(t, nil)
	for _, c := range []struct{ user, pass string }{{"", ""}, {sb.Username(), "wrong"}, {"other", sb.Password()}} {
		if status, _ := do(t, http.MethodPost, base+cleverbridge.ProcessCartPath, c.user, c.pass, cart("S1")); status != http.StatusUnauthorized {
			t.Fatalf("credentials %q/%q: %d, want 401", c.user, c.pass, status)
		}
	}
	if calls := sb.Calls(); len(calls) != 3 || calls[0].HTTPStatus != http.StatusUnauthorized {
		t.Fatalf("calls %+v, want 3 refused", calls)
	}
	if n := len(sb.Purchases()); n != 0 {
		t.Fatalf("%d purchases, want 0", n)
	}
}

func TestSandbox_InvalidRequestsAnswer400NamingTheProblem(t *testing.T) {
	t.Parallel()
	sb, base := newSandbox(t, nil)
	valid := cart("S1")
	tests := []struct{ name, body, mention string }{
		{"not JSON", `{`, "body"},
		{"unknown field", strings.Replace(valid, `"defaultLanguageId"`, `"languageId": "en", "defaultLanguageId"`, 1), "languageId"},
		{"no wrapper", `{"cart": {}}`, "cart"},
		{"no subscription", strings.Replace(valid, `"subscription": {"subscriptionId": "S1"}`, `"subscription": {"subscriptionId": ""}`, 1), "subscription.subscriptionId"},
		{"no language", strings.Replace(valid, `"defaultLanguageId": "en"`, `"defaultLanguageId": ""`, 1), "defaultLanguageId"},
		{"bad mode", strings.Replace(valid, `"NonInteractive"`, `"Batch"`, 1), "processCartMode"},
		{"x-parameter without x-", strings.Replace(valid, `"x-orderid"`, `"orderid"`, 1), "x-parameters must begin with x-"},
		{"no items", strings.Replace(valid, `"items": [`, `"items": [], "x": [`, 1), ""},
		{"quantity 0", strings.Replace(valid, `"quantity": 1`, `"quantity": 0`, 1), "cart.items[0].quantity"},
		{"product not an integer", strings.Replace(valid, `226544`, `2.5`, 1), "cart.items[0].productId"},
		{"too many decimals", strings.Replace(valid, `9.99`, `9.999`, 1), "cart.items[0].dynamicPrice"},
		{"bad currency", strings.Replace(valid, `"EUR"`, `"EURO"`, 1), "cart.items[0].dynamicPrice"},
		{"no dynamic price", strings.Replace(valid, `,
	  "dynamicPrice": {"amount": 9.99, "currencyId": "EUR", "isGross": true}`, "", 1), "dynamicPrice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := processCart(t, sb, base, tt.body)
			if status != http.StatusBadRequest || resp.Status != cleverbridge.StatusInvalidRequest || !strings.Contains(resp.ResultMessage, tt.mention) {
				t.Fatalf("got %d %+v, want 400 InvalidRequest mentioning %q", status, resp, tt.mention)
			}
		})
	}
	if n := len(sb.Purchases()); n != 0 {
		t.Fatalf("%d purchases after invalid requests, want 0", n)
	}
}

func TestSandbox_ScenarioControlsSelectStatusAndErrorCode(t *testing.T) {
	t.Parallel()
	sb, base := newSandbox(t, nil)
	url := base + "/sandbox/scenarios/S42"
	if status, b := do(t, http.MethodPut, url, "", "", `{"status": "Pending", "errorCode": "PAY_DEC", "retryScheduled": true}`); status != http.StatusOK {
		t.Fatalf("PUT scenario: %d %s", status, b)
	}
	status, resp := processCart(t, sb, base, cart("S42"))
	if status != http.StatusOK || resp.Status != cleverbridge.StatusPending || resp.Error == nil || resp.Error.Code != "PAY_DEC" ||
		resp.Error.Message != "General decline" || !resp.IsPaymentRetryScheduled || resp.URL == "" || resp.PurchaseID == "" {
		t.Fatalf("got %d %+v", status, resp)
	}
	if status, _ := do(t, http.MethodDelete, url, "", "", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE scenario: %d", status)
	}
	if _, resp := processCart(t, sb, base, cart("S42")); resp.Status != cleverbridge.StatusPaid {
		t.Fatalf("after clearing: %+v, want Paid", resp)
	}
	for _, bad := range []string{`{"status": "Maybe"}`, `{"status": "Paid", "errorCode": "PAY_DEC"}`, `{"stauts": "Paid"}`} {
		if status, _ := do(t, http.MethodPut, url, "", "", bad); status != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", bad, status)
		}
	}
	status, b := do(t, http.MethodGet, base+"/sandbox/state", "", "", "")
	var st sandbox.State
	if err := json.Unmarshal(b, &st); err != nil || status != http.StatusOK || len(st.Calls) != 2 || len(st.Purchases) != 2 {
		t.Fatalf("state %d: %d calls %d purchases, %v", status, len(st.Calls), len(st.Purchases), err)
	}
}

func TestSandbox_OfflinePaymentSettledByControlSendsPaidNotification(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	sb, base := newSandbox(t, rc)
	_, resp := processCart(t, sb, base, cart(sandbox.SubscriptionWaitingForOffline))
	if resp.Status != cleverbridge.StatusWaitingForOfflinePayment || resp.PurchaseID == "" {
		t.Fatalf("answer %+v", resp)
	}
	if n := rc.next(t); n.EventType != cleverbridge.EventPurchaseAwaitingPayment || n.Purchase.ID != resp.PurchaseID {
		t.Fatalf("first notification %+v, want awaiting payment", n)
	}
	settle := base + "/sandbox/purchases/" + resp.PurchaseID + "/settle"
	if status, b := do(t, http.MethodPost, settle, "", "", `{"paid": true}`); status != http.StatusOK {
		t.Fatalf("settle: %d %s", status, b)
	}
	n := rc.next(t)
	if n.EventType != cleverbridge.EventPurchasePaid || n.Purchase.ID != resp.PurchaseID || n.Purchase.ExtraParameters.Metadata()["orderId"] != "o-1" ||
		n.SubscriptionID() != sandbox.SubscriptionWaitingForOffline || n.Purchase.TotalGross != "9.99" || n.Purchase.CurrencyID != "EUR" {
		t.Fatalf("paid notification %+v", n)
	}
	if status, _ := do(t, http.MethodPost, settle, "", "", `{"paid": true}`); status != http.StatusConflict {
		t.Fatalf("settling a paid purchase: %d, want 409", status)
	}
}

func TestSandbox_NotificationResentUntilAnswered200(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.fail.Store(2)
	sb, base := newSandbox(t, rc)
	processCart(t, sb, base, cart(sandbox.SubscriptionPaid))
	if n := rc.next(t); n.EventType != cleverbridge.EventPurchasePaid {
		t.Fatalf("notification %+v", n)
	}
	if !sb.WaitFor(5*time.Second, func(st sandbox.State) bool { return len(st.Notifications) == 1 && st.Notifications[0].Delivered }) {
		t.Fatal("not marked delivered")
	}
	if d := sb.Notifications()[0]; d.Attempts != 3 {
		t.Fatalf("attempts %d, want 3 (two 503s, then 200)", d.Attempts)
	}
}

func TestSandbox_DropResponseMakesThePurchaseAndSendsTheNotification(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	sb, base := newSandbox(t, rc)
	fault := fmt.Sprintf(`{"pathPrefix": %q, "dropResponse": true, "count": 1}`, cleverbridge.ProcessCartPath)
	if status, b := do(t, http.MethodPost, base+"/sandbox/faults", "", "", fault); status != http.StatusOK {
		t.Fatalf("fault: %d %s", status, b)
	}
	req, _ := http.NewRequest(http.MethodPost, base+cleverbridge.ProcessCartPath, strings.NewReader(cart(sandbox.SubscriptionPaid)))
	req.SetBasicAuth(sb.Username(), sb.Password())
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answer %d, want the connection closed without one", resp.StatusCode)
	}
	purchases := sb.Purchases()
	if len(purchases) != 1 || purchases[0].Status != cleverbridge.StatusPaid {
		t.Fatalf("purchases %+v, want one paid", purchases)
	}
	if n := rc.next(t); n.Purchase.ID != purchases[0].ID || n.EventType != cleverbridge.EventPurchasePaid {
		t.Fatalf("notification %+v", n)
	}
}

func TestSandbox_NotificationsWaitForATargetSetLater(t *testing.T) {
	t.Parallel()
	sb, base := newSandbox(t, nil)
	processCart(t, sb, base, cart(sandbox.SubscriptionPaid))
	rc := newReceiver(t)
	target := fmt.Sprintf(`{"URL": %q, "Username": "hook", "Password": "hook-pw"}`, rc.srv.URL)
	if status, b := do(t, http.MethodPost, base+"/sandbox/notify-target", "", "", target); status != http.StatusNoContent {
		t.Fatalf("notify-target: %d %s", status, b)
	}
	if n := rc.next(t); n.EventType != cleverbridge.EventPurchasePaid {
		t.Fatalf("notification %+v", n)
	}
}
