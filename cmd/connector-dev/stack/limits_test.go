package stack

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestStartDev_ServersAndIngressBoundedAsInProduction: the dev stack's
// servers carry the connector's limits, and its ingress honours the body
// limit and the cap on waiting calls it is given (INGRESS_MAX_BODY_BYTES,
// INGRESS_MAX_WAITS).
func TestStartDev_ServersAndIngressBoundedAsInProduction(t *testing.T) {
	t.Parallel()
	dev, err := StartDev(context.Background(), DevOptions{
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0",
		SyncWait: time.Hour, MaxBodyBytes: 512, MaxWaits: 1, NoWorkers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	for _, srv := range dev.servers {
		if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout < cli.DefaultWriteTimeout ||
			srv.IdleTimeout <= 0 || srv.MaxHeaderBytes != cli.MaxHeaderBytes {
			t.Errorf("dev server without the connector's limits: %+v", srv)
		}
	}

	big := `{"broadcasterId": 1, "topic": "refundPayment", "data": {"pad": "` + strings.Repeat("x", 600) + `"}}`
	resp, err := http.Post(dev.IngressURL+"/webhooks/cleeng", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body past MaxBodyBytes: %d, want 413", resp.StatusCode)
	}

	// No worker runs: the first call waits; the second is past the cap.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{})
	go func() {
		defer close(first)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, dev.IngressURL+"/v1/checkout/payments",
			strings.NewReader(`{"orderId":1,"paymentMethod":{"type":"scheme"}}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	testkit.Eventually(t, 10*time.Second, "the first call stored and waiting", func() bool {
		return testkit.StreamMsgs(t, dev.Broker.JS, broker.InboxStream) == 1
	})
	resp, err = http.Post(dev.IngressURL+"/v1/checkout/payments", "application/json", strings.NewReader(`{"orderId":2,"paymentMethod":{"type":"scheme"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a call past MaxWaits: %d, want 429", resp.StatusCode)
	}
	cancel()
	<-first
}
