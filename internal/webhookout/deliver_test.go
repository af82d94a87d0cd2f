package webhookout

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fast re-sends after a millisecond.
func fast(int) time.Duration { return time.Millisecond }

// receiver answers the statuses in order, then 200; it records the last
// request's body and headers.
type receiver struct {
	srv      *httptest.Server
	calls    atomic.Int32
	statuses []int
	last     atomic.Pointer[http.Request]
	bodies   chan string
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses, bodies: make(chan string, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.calls.Add(1))
		b, _ := io.ReadAll(r.Body)
		rc.last.Store(r)
		rc.bodies <- string(b)
		if n <= len(rc.statuses) {
			w.WriteHeader(rc.statuses[n-1])
			return
		}
		_, _ = io.WriteString(w, "[accepted]")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func TestDeliver_ResentUntilAnswered200WithAuthAndHeaders(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	target := Target{URL: rc.srv.URL, Username: "hook", Password: "hook-pw", Header: http.Header{"X-Signature": {"sig"}}}
	res := Policy{Backoff: fast}.Deliver(context.Background(), target, []byte(`{"a":1}`))
	if !res.Accepted || res.Attempts != 3 || res.Status != http.StatusOK || res.Err != nil {
		t.Fatalf("result %+v, want accepted at the third attempt", res)
	}
	r := rc.last.Load()
	if u, p, ok := r.BasicAuth(); !ok || u != "hook" || p != "hook-pw" {
		t.Fatal("basic auth not sent")
	}
	if r.Header.Get("X-Signature") != "sig" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
	if got := <-rc.bodies; got != `{"a":1}` {
		t.Fatalf("body %q", got)
	}
}

func TestDeliver_StopsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 500, 500, 500, 500)
	res := Policy{Backoff: fast, MaxAttempts: 3}.Deliver(context.Background(), Target{URL: rc.srv.URL}, []byte(`{}`))
	if res.Accepted || res.Attempts != 3 || res.Status != 500 || rc.calls.Load() != 3 {
		t.Fatalf("result %+v after %d calls, want 3 refused attempts", res, rc.calls.Load())
	}
}

func TestDeliver_AcceptDecidesOnTheAnswer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			_, _ = io.WriteString(w, "ok") // 200, but not what Adyen's receiver must say
			return
		}
		_, _ = io.WriteString(w, "[accepted]")
	}))
	defer srv.Close()
	p := Policy{Backoff: fast, Accept: func(a Attempt) bool { return a.Status == 200 && string(a.Answer) == "[accepted]" }}
	if res := p.Deliver(context.Background(), Target{URL: srv.URL}, []byte(`{}`)); !res.Accepted || res.Attempts != 2 {
		t.Fatalf("result %+v, want accepted at the second attempt", res)
	}
}

func TestDeliver_NoAnswerIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	res := Policy{Backoff: fast, MaxAttempts: 2}.Deliver(context.Background(), Target{URL: url}, []byte(`{}`))
	if res.Accepted || res.Attempts != 2 || res.Status != 0 || res.Err == nil {
		t.Fatalf("result %+v, want two attempts without an answer", res)
	}
}

func TestDeliver_EndsWithTheContext(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() {
		done <- Policy{Backoff: func(int) time.Duration { return time.Hour }}.Deliver(ctx, Target{URL: rc.srv.URL}, []byte(`{}`))
	}()
	<-rc.bodies // the first attempt was sent; the delivery now waits an hour
	cancel()
	select {
	case res := <-done:
		if res.Accepted || res.Attempts != 1 || !errors.Is(res.Err, context.Canceled) {
			t.Fatalf("result %+v, want one attempt and the context's error", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delivery did not end with its context")
	}
}

func TestExponential_DoublesUpToTheMaximum(t *testing.T) {
	t.Parallel()
	b := Exponential(50*time.Millisecond, 2*time.Second)
	for _, tc := range []struct {
		round int
		want  time.Duration
	}{{1, 50 * time.Millisecond}, {2, 100 * time.Millisecond}, {3, 200 * time.Millisecond}, {6, 1600 * time.Millisecond}, {7, 2 * time.Second}, {1000, 2 * time.Second}} {
		if got := b(tc.round); got != tc.want {
			t.Errorf("round %d: %v, want %v", tc.round, got, tc.want)
		}
	}
}
