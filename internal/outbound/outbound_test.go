package outbound_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/outbound"
)

// TestServiceClient_CountsEachRequestByResult: what the alert on failing
// gateway calls reads, one count per round trip, an unanswered one too.
func TestServiceClient_CountsEachRequestByResult(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()

	const service = "test-service-client"
	client := outbound.ServiceClient(service, 5*time.Second, 0)
	for _, s := range []int{http.StatusOK, http.StatusOK, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusUnprocessableEntity} {
		status = s
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := client.Get(closedURL); err == nil {
		t.Fatal("a closed port answered")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(outbound.Requests())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == service {
				got[labels["result"]] = m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{"2xx": 2, "5xx": 1, "429": 1, "4xx": 1, "error": 1}
	if len(got) != len(want) {
		t.Errorf("results %v, want %v", got, want)
	}
	for result, n := range want {
		if got[result] != n {
			t.Errorf("result %s counted %v, want %v (all: %v)", result, got[result], n, got)
		}
	}
}

// TestClient_TimeoutBoundsTheAnswersBody: the timeout covers the whole call,
// as http.Client.Timeout did: an answer whose body never ends fails the
// read once it runs out, and a call answered in time is read whole.
func TestClient_TimeoutBoundsTheAnswersBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		if r.URL.Path == "/whole" {
			return
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the client gave up
	}))
	defer srv.Close()
	client := outbound.Client(200 * time.Millisecond)

	resp, err := client.Get(srv.URL + "/whole")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "partial" {
		t.Fatalf("answered in time: read %q, %v", body, err)
	}

	resp, err = client.Get(srv.URL + "/endless")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reading a body that never ends: %v, want the timeout", err)
	}
}

// TestClient_ExchangesMoreThanItsConnectionBuffers: a connection's buffers
// are small (a call in flight keeps them), so a long header line, a request
// body and an answer body each many times their size must pass whole.
func TestClient_ExchangesMoreThanItsConnectionBuffers(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || string(body) != long || r.Header.Get("X-Long") != long {
			http.Error(w, "request cut", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Long", long)
		_, _ = io.WriteString(w, long)
	}))
	defer srv.Close()
	client := outbound.Client(5 * time.Second)
	for range 2 { // the second on the kept-alive connection
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(long))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Long", long)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || string(body) != long || resp.Header.Get("X-Long") != long {
			t.Fatalf("answer %d, %d bytes, header of %d (err %v); want 200 and %d each", resp.StatusCode, len(body), len(resp.Header.Get("X-Long")), err, len(long))
		}
	}
}
