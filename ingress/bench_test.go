package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// benchClients is the number of concurrent senders in every ingress
// benchmark: enough to keep both cores of the reference machine busy.
const benchClients = 32

const benchPublisherID = "100001"

var benchSecret = []byte("bench-webhook-secret-0123456789ab")

var captureSubject = broker.SubjectCleengWebhook + "." + string(cleeng.TopicPaymentCapture)

// captureWebhook is the i-th signed capture-only dunning webhook: each one
// is a distinct dunning attempt, so the ingress stores every one.
func captureWebhook(i int) (body []byte, signature string) {
	body, _ = json.Marshal(struct {
		BroadcasterID cleeng.ID          `json:"broadcasterId"`
		Topic         cleeng.Topic       `json:"topic"`
		Data          cleeng.DunningData `json:"data"`
	}{benchPublisherID, cleeng.TopicPaymentCapture, cleeng.DunningData{
		SubscriptionID: cleeng.ID(strconv.Itoa(700000 + i%5000)), OfferID: "S619117184_US",
		CustomerID: cleeng.ID(strconv.Itoa(900000 + i%5000)), CustomerEmail: "shopper@example.com",
		PaymentDetailsID: cleeng.ID(strconv.Itoa(800000 + i%5000)), Active: true,
		DunningAttemptDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		DunningStatus:      "capture", Currency: "EUR", PaymentCountry: "DE", PaymentMethodID: "123876432",
		Token: "bench-token", PaymentGateway: "adyen",
	}})
	return body, cleeng.Sign(benchSecret, body)
}

// postWebhooks serves h on loopback and POSTs b.N capture webhooks to it
// from benchClients keep-alive connections.
func postWebhooks(b *testing.B, h http.Handler) {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	url := srv.URL + "/webhooks/cleeng"
	runLoad(b, func(i int) error {
		body, sig := captureWebhook(i)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(cleeng.DefaultSignatureHeader, sig)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("webhook %d answered %d: %s", i, resp.StatusCode, answer)
		}
		return nil
	})
}

// runLoad runs do(0) ... do(b.N-1) from benchClients goroutines and reports
// the rate and the latency percentiles of one call. Only the calls are timed.
func runLoad(b *testing.B, do func(i int) error) {
	b.Helper()
	latency := make([]time.Duration, b.N)
	b.ResetTimer()
	testkit.FanOut(b, benchClients, b.N, func(i int) error {
		start := time.Now()
		err := do(i)
		latency[i] = time.Since(start)
		return err
	})
	b.StopTimer()
	slices.Sort(latency)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	b.ReportMetric(percentile(latency, 50), "p50-µs")
	b.ReportMetric(percentile(latency, 99), "p99-µs")
}

// percentile of sorted durations, in microseconds.
func percentile(sorted []time.Duration, p int) float64 {
	return float64(sorted[(len(sorted)-1)*p/100]) / float64(time.Microsecond)
}

// assertStored fails unless the inbox holds exactly want messages: nothing
// was de-duplicated or lost.
func assertStored(b *testing.B, br *broker.Broker, want int) {
	b.Helper()
	if n := testkit.StreamMsgs(b, br.JS, broker.InboxStream); n != uint64(want) {
		b.Fatalf("inbox holds %d messages, want %d", n, want)
	}
}

// BenchmarkIngress_CleengWebhook is POST /webhooks/cleeng through the real
// ingress: body limit, HMAC check, decoding and validation, and a
// synchronous JetStream publish with its de-duplication id.
func BenchmarkIngress_CleengWebhook(b *testing.B) {
	br := testkit.Broker(b)
	ing := ingress.New(ingress.Config{}, br.JS, br.Ready)
	ing.MountCleeng(ingress.CleengWebhookConfig{Secret: benchSecret, PublisherID: benchPublisherID})
	postWebhooks(b, ing.Handler())
	assertStored(b, br, b.N)
}

// BenchmarkIngress_BareNetHTTP is the HTTP floor: a handler that reads the
// body and answers 200, under the same clients and bodies.
func BenchmarkIngress_BareNetHTTP(b *testing.B) {
	postWebhooks(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
}

// BenchmarkIngress_JetStreamPublishSync is the storage floor: the same
// bodies published synchronously with a de-duplication id, without HTTP.
func BenchmarkIngress_JetStreamPublishSync(b *testing.B) {
	br := testkit.Broker(b)
	runLoad(b, func(i int) error {
		body, _ := captureWebhook(i)
		_, err := br.JS.Publish(context.Background(), captureSubject, body, jetstream.WithMsgID(strconv.Itoa(i)))
		return err
	})
	assertStored(b, br, b.N)
}

// heldWaits is how many checkout calls BenchmarkIngress_WaitingCheckoutCalls
// holds waiting at once against one ingress (issue 12).
const heldWaits = 2000

// BenchmarkIngress_WaitingCheckoutCalls holds heldWaits checkout calls
// waiting for an outcome no worker gives, on one ingress whose cap is
// exactly that, and reports what they cost the process: goroutines and
// heap+stack memory, in all and per call (the clients are bare
// connections that cost no goroutine). One call more is answered 429.
func BenchmarkIngress_WaitingCheckoutCalls(b *testing.B) {
	br := testkit.Broker(b)
	var goroutines, memory float64
	for n := range b.N {
		b.StopTimer()
		ing := ingress.New(ingress.Config{}, br.JS, br.Ready)
		ing.MountCheckout(ingress.CheckoutConfig{SyncWait: time.Hour, MaxWaits: heldWaits,
			Outcomes: flows.NewOutcomes(ops.NewStore(br.Ops), br.Ops)})
		srv := httptest.NewServer(ing.Handler())
		beforeGoroutines, beforeMemory := processCost()
		b.StartTimer()

		conns := make([]net.Conn, heldWaits)
		for i := range conns {
			body := fmt.Sprintf(`{"orderId":%d,"paymentMethod":{"type":"scheme"}}`, n*heldWaits+i+1)
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = conn
			if _, err := fmt.Fprintf(conn, "POST /v1/checkout/payments HTTP/1.1\r\nHost: ingress\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				b.Fatal(err)
			}
		}
		// A call takes its slot before it stores: all stored, all waiting.
		testkit.Eventually(b, 5*time.Minute, "every call stored and waiting", func() bool {
			return testkit.StreamMsgs(b, br.JS, broker.InboxStream) == uint64((n+1)*heldWaits)
		})
		b.StopTimer()
		afterGoroutines, afterMemory := processCost()
		goroutines, memory = afterGoroutines-beforeGoroutines, afterMemory-beforeMemory

		resp, err := http.Post(srv.URL+"/v1/checkout/payments", "application/json", strings.NewReader(`{"orderId":1,"paymentMethod":{"type":"scheme"}}`))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			b.Fatalf("call %d past the cap: %d Retry-After %q, want 429 with Retry-After", heldWaits+1, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		for _, conn := range conns {
			conn.Close()
		}
		srv.Close() // returns once every waiting call has ended
	}
	b.ReportMetric(goroutines, "goroutines")
	b.ReportMetric(goroutines/heldWaits, "goroutines/wait")
	b.ReportMetric(memory/(1<<20), "MiB")
	b.ReportMetric(memory/heldWaits/(1<<10), "KiB/wait")
}

// processCost is the process's goroutines and heap+stack bytes in use,
// after a collection.
func processCost() (goroutines, bytes float64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(runtime.NumGoroutine()), float64(m.HeapInuse + m.StackInuse)
}
