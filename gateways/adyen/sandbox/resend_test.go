package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestSandbox_ResendDeliversTheSameNotificationAgain(t *testing.T) {
	bodies := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		_, _ = io.WriteString(w, "[accepted]")
	}))
	defer hook.Close()
	sb, srv := newServer(t, Options{NotifyURL: hook.URL})
	post(t, srv.URL+"/v71/payments", sb.APIKey(), validPayment(sb, "order-8"))
	first := receive(t, bodies)

	resp, _ := post(t, srv.URL+"/sandbox/notifications/0/resend", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("resend answered %d", resp.StatusCode)
	}
	if again := receive(t, bodies); again != first {
		t.Fatalf("re-sent notification differs:\n%s\n%s", first, again)
	}
	testkit.Eventually(t, 10*time.Second, "both deliveries counted", func() bool {
		n := sb.Notifications()
		return len(n) == 1 && n[0].Attempts == 2 && n[0].Delivered
	})
	if resp, _ := post(t, srv.URL+"/sandbox/notifications/1/resend", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("resend of a notification that does not exist answered %d", resp.StatusCode)
	}
	if sb.Resend(-1) {
		t.Fatal("Resend(-1) reported a delivery")
	}
}

func receive(t *testing.T, bodies <-chan string) string {
	t.Helper()
	select {
	case b := <-bodies:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no notification delivered")
		return ""
	}
}
