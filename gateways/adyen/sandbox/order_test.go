package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cleeng-connector/connector/internal/faultinject"
)

// hookServer accepts every notification, counting them and passing on
// their event codes.
func hookServer(t *testing.T) (*httptest.Server, *atomic.Int32, chan string) {
	t.Helper()
	var accepted atomic.Int32
	events := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notificationRequest
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &n)
		accepted.Add(1)
		_, _ = io.WriteString(w, "[accepted]")
		events <- n.NotificationItems[0].NotificationRequestItem.EventCode
	}))
	t.Cleanup(hook.Close)
	return hook, &accepted, events
}

func addFault(t *testing.T, srvURL string, f faultinject.Fault) {
	t.Helper()
	if resp, _ := post(t, srvURL+"/sandbox/faults", "", f); resp.StatusCode != http.StatusOK {
		t.Fatalf("fault %+v answered %d", f, resp.StatusCode)
	}
}

func TestSandbox_NotifyFirstDeliversTheNotificationBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	hook, accepted, _ := hookServer(t)
	sb, srv := newServer(t, Options{NotifyURL: hook.URL})
	addFault(t, srv.URL, faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments", NotifyFirst: true, Count: 1})
	resp, body := post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-early"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Authorised") {
		t.Fatalf("payment answered %d %s", resp.StatusCode, body)
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("%d notifications accepted when the answer came, want the AUTHORISATION first", n)
	}
}

func TestSandbox_ReorderedNotificationComesAfterTheNextOneOfItsPayment(t *testing.T) {
	t.Parallel()
	hook, _, events := hookServer(t)
	sb, srv := newServer(t, Options{NotifyURL: hook.URL})
	addFault(t, srv.URL, faultinject.Fault{ReorderNotifications: true, Count: 1})
	pay := validPayment(sb, "order-reorder")
	pay["additionalData"] = map[string]string{"manualCapture": "true"}
	resp, body := post(t, srv.URL+"/v71/payments", sb.APIKey(), pay)
	var authorised struct{ PSPReference string }
	if err := json.Unmarshal(body, &authorised); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("payment answered %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, srv.URL+"/v71/payments/"+authorised.PSPReference+"/captures", sb.APIKey(), map[string]any{
		"amount": map[string]any{"currency": "EUR", "value": 1000}, "merchantAccount": sb.MerchantAccount(),
	}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("capture answered %d %s", resp.StatusCode, body)
	}
	if first, second := receive(t, events), receive(t, events); first != "CAPTURE" || second != "AUTHORISATION" {
		t.Fatalf("delivered %s then %s, want the held AUTHORISATION after the CAPTURE", first, second)
	}
	if n := sb.State().NotificationsReordered; n != 1 {
		t.Fatalf("notificationsReordered %d, want 1", n)
	}

	// Held back with no later notification of its payment: sent once the
	// faults are reset.
	addFault(t, srv.URL, faultinject.Fault{ReorderNotifications: true, Count: 1})
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-alone"))
	if n := sb.Notifications(); len(n) != 3 || n[2].Attempts != 0 {
		t.Fatalf("notifications %+v, want the third held back", n)
	}
	r, _ := http.NewRequest(http.MethodDelete, srv.URL+"/sandbox/faults", nil)
	if resp, err := http.DefaultClient.Do(r); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %v %v", resp, err)
	}
	if got := receive(t, events); got != "AUTHORISATION" {
		t.Fatalf("delivered %s after the reset, want the held AUTHORISATION", got)
	}
}
