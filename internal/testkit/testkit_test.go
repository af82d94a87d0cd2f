package testkit_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and
// panics, to stop Eventually as the real Fatalf stops a test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r) // recovered by the test
}

func TestEventually_ReturnsOnceTheConditionHolds(t *testing.T) {
	var polls atomic.Int32
	testkit.Eventually(t, 10*time.Second, "third poll", func() bool { return polls.Add(1) == 3 })
	if n := polls.Load(); n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
}

func TestEventually_FailsTheTestAfterTheDeadline(t *testing.T) {
	r := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		testkit.Eventually(r, 20*time.Millisecond, "never", func() bool { return false })
	}()
	if r.msg != "not within 20ms: never" {
		t.Fatalf("failure %q, want %q", r.msg, "not within 20ms: never")
	}
}

func TestBroker_HasTheConnectorStreams(t *testing.T) {
	b := testkit.Broker(t)
	if _, err := b.JS.Stream(context.Background(), broker.InboxStream); err != nil {
		t.Fatalf("inbox stream: %v", err)
	}
}

func TestClock_AdvancesOnlyWhenTold(t *testing.T) {
	start := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	c := testkit.NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("now %v, want %v", c.Now(), start)
	}
	c.Advance(time.Hour)
	if want := start.Add(time.Hour); !c.Now().Equal(want) {
		t.Fatalf("after Advance: %v, want %v", c.Now(), want)
	}
}

func TestDo_ReturnsTheAnswerWithItsBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "short and stout")
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPut, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := testkit.Do(t, req)
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Method") != "PUT" || string(body) != "short and stout" {
		t.Fatalf("%d %v %q", resp.StatusCode, resp.Header, body)
	}
}
