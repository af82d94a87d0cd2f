package faultinject_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// server counts the requests its handler applied.
func server(t *testing.T) (*faultinject.Injector, *httptest.Server, *atomic.Int64) {
	t.Helper()
	var applied atomic.Int64
	in := &faultinject.Injector{}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/faults", in.Handler())
	mux.Handle("/", in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		_, _ = w.Write([]byte("ok"))
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return in, srv, &applied
}

func TestDropResponse_AppliesThenClosesWithoutAnswer(t *testing.T) {
	t.Parallel()
	in, srv, applied := server(t)
	in.Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/payments", DropResponse: true, Count: 1})
	if _, err := http.Post(srv.URL+"/payments", "application/json", strings.NewReader("{}")); err == nil {
		t.Fatal("got an answer, want the connection closed")
	}
	if applied.Load() != 1 {
		t.Fatalf("applied %d times, want 1", applied.Load())
	}
	resp, err := http.Post(srv.URL+"/payments", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("the fault outlived its count: %v", err)
	}
	resp.Body.Close()
	if applied.Load() != 2 || len(in.List()) != 0 {
		t.Fatalf("applied %d, faults left %v", applied.Load(), in.List())
	}
}

func TestErrorRate_AnswersTheStatusWithoutApplying(t *testing.T) {
	t.Parallel()
	in, srv, applied := server(t)
	in.Add(faultinject.Fault{PathPrefix: "/orders", ErrorRate: 1, ErrorStatus: http.StatusTooManyRequests})
	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || applied.Load() != 0 {
		t.Fatalf("status %d, applied %d; want 429 and nothing applied", resp.StatusCode, applied.Load())
	}
	resp, err = http.Get(srv.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a path the fault does not match answered %d", resp.StatusCode)
	}
}

func TestLatency_HoldsTheRequestBeforeApplyingIt(t *testing.T) {
	t.Parallel()
	in, srv, applied := server(t)
	in.Add(faultinject.Fault{Latency: faultinject.Duration(time.Hour)})
	client := http.Client{Timeout: 50 * time.Millisecond}
	if _, err := client.Get(srv.URL + "/x"); err == nil {
		t.Fatal("answered within the hour of latency")
	}
	if applied.Load() != 0 {
		t.Fatalf("applied %d times during the latency, want 0", applied.Load())
	}
}

func TestHandler_AddsListsAndClearsFaultsOverHTTP(t *testing.T) {
	t.Parallel()
	in, srv, _ := server(t)
	resp, err := http.Post(srv.URL+"/sandbox/faults", "application/json",
		strings.NewReader(`{"method":"POST","pathPrefix":"/payments","latency":"300ms","count":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := in.List(); len(got) != 1 || time.Duration(got[0].Latency) != 300*time.Millisecond || got[0].Count != 2 {
		t.Fatalf("faults %+v after POST (answer %s)", got, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/sandbox/faults", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(in.List()) != 0 {
		t.Fatalf("faults left after DELETE: %+v", in.List())
	}
	resp, err = http.Post(srv.URL+"/sandbox/faults", "application/json", strings.NewReader(`{"latency": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed fault answered %d, want 400", resp.StatusCode)
	}
}

func TestHold_HoldsMatchingRequestsUntilTheGateOpens(t *testing.T) {
	t.Parallel()
	in, srv, applied := server(t)
	gate := faultinject.NewGate()
	in.Add(faultinject.Fault{PathPrefix: "/payments", Hold: gate})
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/payments", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Error(err)
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	testkit.Eventually(t, time.Minute, "the request held at the gate", func() bool { return gate.Arrived() == 1 })
	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if applied.Load() != 1 {
		t.Fatalf("applied %d requests while one was held, want only the unmatched one", applied.Load())
	}
	gate.Open()
	if status := <-answered; status != http.StatusOK || applied.Load() != 2 {
		t.Fatalf("after the gate opened: status %d, applied %d; want 200 and both applied", status, applied.Load())
	}
}

func TestHold_RequestGivenUpAtTheGateIsNotApplied(t *testing.T) {
	t.Parallel()
	in, srv, applied := server(t)
	gate := faultinject.NewGate()
	in.Add(faultinject.Fault{Hold: gate})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/payments", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	testkit.Eventually(t, time.Minute, "the request held at the gate", func() bool { return gate.Arrived() == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled request got an answer")
	}
	srv.Close() // waits for the handler of the given-up request to return
	if applied.Load() != 0 {
		t.Fatalf("applied %d, want the given-up request never applied", applied.Load())
	}
}

func TestHoldResponse_AppliesThenAnswersOnlyOnceReleased(t *testing.T) {
	in, srv, applied := server(t)
	in.Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/payments", HoldResponse: true, Count: 1})
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/payments", "application/json", strings.NewReader("{}"))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(body), err}
	}()
	testkit.Eventually(t, 10*time.Second, "the request applied and its answer held", func() bool { return in.Held() == 1 })
	if applied.Load() != 1 {
		t.Fatalf("applied %d times, want 1 before the answer is sent", applied.Load())
	}
	select {
	case a := <-answered:
		t.Fatalf("answered %+v while held", a)
	default:
	}
	in.Release()
	if a := <-answered; a.err != nil || a.status != http.StatusOK || a.body != "ok" {
		t.Fatalf("released answer %+v, want 200 ok", a)
	}
	if in.Held() != 0 {
		t.Fatalf("%d answers still held after release", in.Held())
	}
}

func TestHoldResponse_CallerGoneFreesTheHold(t *testing.T) {
	in, srv, applied := server(t)
	in.Add(faultinject.Fault{HoldResponse: true, Count: 1})
	ctx, cancel := context.WithCancel(t.Context())
	failed := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/payments", strings.NewReader("{}"))
		_, err := http.DefaultClient.Do(req)
		failed <- err
	}()
	testkit.Eventually(t, 10*time.Second, "the answer held", func() bool { return in.Held() == 1 })
	cancel() // the caller dies while it waits
	if err := <-failed; err == nil {
		t.Fatal("the cancelled caller got an answer")
	}
	testkit.Eventually(t, 10*time.Second, "the hold freed once the caller is gone", func() bool { return in.Held() == 0 })
	if applied.Load() != 1 {
		t.Fatalf("applied %d times, want 1", applied.Load())
	}
}
