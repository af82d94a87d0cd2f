package testkit_test

import (
	"context"
	"errors"
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
func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	panic(r)
}

// failure runs helper with a fatalRecorder and returns what it failed the
// test with ("" when it did not).
func failure(t *testing.T, helper func(tb testing.TB)) (msg string) {
	r := &fatalRecorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		msg = r.msg
	}()
	helper(r)
	return ""
}

func TestEventually_ReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	testkit.Eventually(t, 10*time.Second, "third poll", func() bool { return polls.Add(1) == 3 })
	if n := polls.Load(); n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
}

func TestEventually_FailsTheTestAfterTheDeadline(t *testing.T) {
	t.Parallel()
	msg := failure(t, func(tb testing.TB) {
		testkit.Eventually(tb, 20*time.Millisecond, "never", func() bool { return false })
	})
	if msg != "not within 20ms: never" {
		t.Fatalf("failure %q, want %q", msg, "not within 20ms: never")
	}
}

func TestBroker_HasTheConnectorStreams(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	if _, err := b.JS.Stream(context.Background(), broker.InboxStream); err != nil {
		t.Fatalf("inbox stream: %v", err)
	}
}

func TestStreamMsgs_CountsWhatTheStreamHolds(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	for i := range 3 {
		if _, err := b.JS.Publish(context.Background(), "checkout.count", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := testkit.StreamMsgs(t, b.JS, broker.InboxStream); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

func TestFanOut_RunsEveryIndexOnce(t *testing.T) {
	t.Parallel()
	var runs [100]atomic.Int32
	testkit.FanOut(t, 8, len(runs), func(i int) error {
		runs[i].Add(1)
		return nil
	})
	for i := range runs {
		if n := runs[i].Load(); n != 1 {
			t.Fatalf("index %d ran %d times, want once", i, n)
		}
	}
}

func TestFanOut_FailsTheTestWithTheError(t *testing.T) {
	t.Parallel()
	msg := failure(t, func(tb testing.TB) {
		testkit.FanOut(tb, 4, 10, func(i int) error {
			if i == 5 {
				return errors.New("index 5 refused")
			}
			return nil
		})
	})
	if msg != "index 5 refused" {
		t.Fatalf("failure %q, want the error", msg)
	}
}

func TestClock_AdvancesOnlyWhenTold(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
