package webhookout

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestOutbox_WaitsForATargetThenDeliversAndObservesEveryAttempt(t *testing.T) {
	t.Parallel()
	ob := NewOutbox(Policy{Backoff: fast}, Target{})
	defer ob.Close()
	var mu sync.Mutex
	var seen []int
	accepted := make(chan struct{})
	ok := ob.Send("k", []byte(`{"n":1}`), func(a Attempt) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a.Status)
		if a.Status == http.StatusOK {
			close(accepted)
		}
	})
	if !ok {
		t.Fatal("Send refused on an open outbox")
	}
	rc := newReceiver(t, http.StatusServiceUnavailable)
	ob.SetTarget(Target{URL: rc.srv.URL})
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered after SetTarget")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != http.StatusServiceUnavailable {
		t.Fatalf("attempts seen %v, want 503 then 200", seen)
	}
}

func TestOutbox_CloseStopsRetryingAndRefusesNewSends(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	ob := NewOutbox(Policy{Backoff: func(int) time.Duration { return time.Hour }}, Target{URL: rc.srv.URL})
	ob.Send("k", []byte(`{}`), nil)
	<-rc.bodies // refused once; now waiting an hour
	done := make(chan struct{})
	go func() { ob.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop a waiting delivery")
	}
	if ob.Send("k", []byte(`{}`), nil) {
		t.Fatal("Send started a delivery after Close")
	}
	if n := rc.calls.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
