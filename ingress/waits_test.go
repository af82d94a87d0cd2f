package ingress_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestCheckout_WaitsPastTheCapAnswer429AndStoreNothing: calls waiting for
// their outcome are capped; one past the cap is refused before anything is
// stored, and a slot freed by a finished call is taken again.
func TestCheckout_WaitsPastTheCapAnswer429AndStoreNothing(t *testing.T) {
	e := newEnv(t)
	ing := ingress.New(ingress.Config{MaxBodyBytes: 1024}, e.broker.JS, e.broker.Ready)
	ing.MountCheckout(ingress.CheckoutConfig{SyncWait: time.Hour, MaxWaits: 1, Customers: e.customers.verifier,
		Outcomes: flows.NewOutcomes(ops.NewStore(e.broker.Ops), e.broker.Ops)})
	srv := httptest.NewServer(ing.Handler())
	t.Cleanup(srv.Close)
	body := func(order int) string {
		return `{"orderId":` + strconv.Itoa(order) + `,"paymentMethod":{"type":"scheme"}}`
	}

	// No worker runs: the first call waits for an outcome that never comes.
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/checkout/payments", strings.NewReader(body(1)))
		frontEnd(req, e.token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	testkit.Eventually(t, 10*time.Second, "the first call stored and waiting", func() bool {
		return e.stored() == 1
	})

	// Refused at once; without the cap it would wait like the first.
	client := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/checkout/payments", strings.NewReader(body(2)))
	resp, err := client.Do(frontEnd(req, e.token))
	if err != nil {
		t.Fatalf("call past the cap: %v, want a 429", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("call past the cap: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := e.stored(); n != 1 {
		t.Errorf("%d messages stored, want 1: a refused call stores nothing", n)
	}

	cancel() // the first caller goes away: its slot is free again
	<-first
	testkit.Eventually(t, 10*time.Second, "a call admitted once the slot is free", func() bool {
		ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer stop()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/checkout/payments", strings.NewReader(body(3)))
		frontEnd(req, e.token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return false // answered: refused (or, impossibly, an outcome)
		}
		return e.stored() == 2
	})
}
