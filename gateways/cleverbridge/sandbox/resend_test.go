package sandbox_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestSandbox_ResendDeliversTheSameNotificationAgain(t *testing.T) {
	rc := newReceiver(t)
	sb, base := newSandbox(t, rc)
	processCart(t, sb, base, cart("S1"))
	first := rc.next(t)
	if status, b := do(t, http.MethodPost, base+"/sandbox/notifications/0/resend", "", "", ""); status != http.StatusAccepted {
		t.Fatalf("resend answered %d %s", status, b)
	}
	if again := rc.next(t); again.ID != first.ID || again.EventType != first.EventType || again.Purchase.ID != first.Purchase.ID {
		t.Fatalf("re-sent %+v, want the same notification as %+v", again, first)
	}
	testkit.Eventually(t, 10*time.Second, "both deliveries counted", func() bool {
		n := sb.Notifications()
		return len(n) == 1 && n[0].Attempts == 2 && n[0].Delivered
	})
	if status, _ := do(t, http.MethodPost, base+"/sandbox/notifications/1/resend", "", "", ""); status != http.StatusNotFound {
		t.Fatalf("resend of a notification that does not exist answered %d", status)
	}
}
