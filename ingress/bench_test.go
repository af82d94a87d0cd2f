package ingress_test

import (
	"bytes"
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
	"sync/atomic"
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

// benchRound is how many calls each side makes in one round of
// BenchmarkIngress_CleengWebhook: a fraction of a second, so load from
// elsewhere on the shared machine falls on every side alike.
const benchRound = 2000

// webhookPoster POSTs signed capture webhooks to one server on loopback
// from benchClients keep-alive connections.
type webhookPoster struct {
	url    string
	client *http.Client
}

func newWebhookPoster(b *testing.B, h http.Handler) *webhookPoster {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	b.Cleanup(client.CloseIdleConnections)
	return &webhookPoster{url: srv.URL + "/webhooks/cleeng", client: client}
}

// post sends webhook i and fails unless it is answered 200.
func (p *webhookPoster) post(i int) error {
	body, sig := captureWebhook(i)
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(cleeng.DefaultSignatureHeader, sig)
	resp, err := p.client.Do(req)
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
}

// load is one side of a benchmark: the calls it timed, how long they took
// together, the CPU the process spent meanwhile and the CPU the JetStream
// server's process spent.
type load struct {
	took      time.Duration
	cpu       time.Duration
	serverCPU time.Duration
	latency   []time.Duration
}

// round runs do(from) ... do(from+n-1) from benchClients goroutines and
// adds their time and latencies to l. Only the calls are timed. serverCPU
// is the JetStream server process's CPU time so far.
func (l *load) round(b *testing.B, from, n int, serverCPU func() time.Duration, do func(i int) error) {
	b.Helper()
	latency := make([]time.Duration, n)
	b.StartTimer()
	began, cpu, server := time.Now(), testkit.CPUTime(), serverCPU()
	testkit.FanOut(b, benchClients, n, func(i int) error {
		start := time.Now()
		err := do(from + i)
		latency[i] = time.Since(start)
		return err
	})
	l.took += time.Since(began)
	l.cpu += testkit.CPUTime() - cpu
	l.serverCPU += serverCPU() - server
	b.StopTimer()
	l.latency = append(l.latency, latency...)
}

// rate is calls per second.
func (l *load) rate() float64 { return float64(len(l.latency)) / l.took.Seconds() }

// cpuPerCall is the process's CPU time per call, in microseconds.
func (l *load) cpuPerCall() float64 { return l.perCall(l.cpu) }

// serverCPUPerCall is the JetStream server process's CPU time per call, in
// microseconds.
func (l *load) serverCPUPerCall() float64 { return l.perCall(l.serverCPU) }

func (l *load) perCall(d time.Duration) float64 {
	return float64(d) / float64(len(l.latency)) / float64(time.Microsecond)
}

// percentile of the latencies, in microseconds.
func (l *load) percentile(p int) float64 {
	slices.Sort(l.latency)
	return float64(l.latency[(len(l.latency)-1)*p/100]) / float64(time.Microsecond)
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
// ingress (body limit, HMAC check, decoding and validation, and a
// synchronous JetStream publish with its de-duplication id) against its
// floors under the same clients and bodies: a bare net/http handler that
// reads the body and answers 200, and a storing one that also publishes the
// body synchronously with a de-duplication id before it answers, the least
// any ingress that stores a webhook before answering it does. The three
// take turns, a round of benchRound calls each. It reports each side's
// rate, latency and CPU per call, and the ingress's rate, p99 and CPU per
// call as ratios of the bare handler's; "ceiling" is the storing handler's
// rate as a ratio of the bare one's, the most an ingress can reach, and
// "store" the ingress's rate as a ratio of the storing handler's.
func BenchmarkIngress_CleengWebhook(b *testing.B) {
	// Only the rounds are timed: starting nats-server (and building it, on
	// a cold cache) would otherwise make the first b.N look like seconds an
	// op, and the benchmark stop there.
	b.StopTimer()
	br, serverCPU := testkit.BrokerProcess(b)
	ing := ingress.New(ingress.Config{}, br.JS, br.Ready)
	ing.MountCleeng(ingress.CleengWebhookConfig{Secret: benchSecret, PublisherID: benchPublisherID})
	connector := newWebhookPoster(b, ing.Handler())
	bare := newWebhookPoster(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	var stored atomic.Int64
	storing := newWebhookPoster(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			_, err = br.JS.Publish(r.Context(), captureSubject+"-floor", body, jetstream.WithMsgID("floor-"+strconv.FormatInt(stored.Add(1), 10)))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	var onIngress, onBare, onStoring load
	for done := 0; done < b.N; done += benchRound {
		n := min(benchRound, b.N-done)
		onBare.round(b, done, n, serverCPU, bare.post)
		onIngress.round(b, done, n, serverCPU, connector.post)
		onStoring.round(b, done, n, serverCPU, storing.post)
	}
	assertStored(b, br, 2*b.N)
	b.ReportMetric(onIngress.rate(), "webhooks/s")
	b.ReportMetric(onIngress.percentile(50), "p50-µs")
	b.ReportMetric(onIngress.percentile(99), "p99-µs")
	b.ReportMetric(onIngress.cpuPerCall(), "cpu-µs/webhook")
	b.ReportMetric(onIngress.serverCPUPerCall(), "nats-cpu-µs/webhook")
	b.ReportMetric(onBare.rate(), "floor-bare-webhooks/s")
	b.ReportMetric(onBare.percentile(50), "floor-bare-p50-µs")
	b.ReportMetric(onBare.percentile(99), "floor-bare-p99-µs")
	b.ReportMetric(onBare.cpuPerCall(), "floor-bare-cpu-µs/webhook")
	b.ReportMetric(onStoring.rate(), "floor-storing-webhooks/s")
	b.ReportMetric(onStoring.percentile(99), "floor-storing-p99-µs")
	b.ReportMetric(onStoring.cpuPerCall(), "floor-storing-cpu-µs/webhook")
	b.ReportMetric(onStoring.serverCPUPerCall(), "floor-storing-nats-cpu-µs/webhook")
	b.ReportMetric(onIngress.rate()/onBare.rate(), "ratio")
	b.ReportMetric(onBare.cpuPerCall()/onIngress.cpuPerCall(), "cpu-ratio")
	b.ReportMetric(onIngress.percentile(99)/onBare.percentile(99), "p99-ratio")
	b.ReportMetric(onStoring.rate()/onBare.rate(), "ceiling-ratio")
	b.ReportMetric(onBare.cpuPerCall()/onStoring.cpuPerCall(), "ceiling-cpu-ratio")
	b.ReportMetric(onIngress.rate()/onStoring.rate(), "store-ratio")
	b.ReportMetric(onStoring.cpuPerCall()/onIngress.cpuPerCall(), "store-cpu-ratio")
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
	customers := newCustomers(b, testCustomer)
	token := customers.token(b, testCustomer)
	var goroutines, memory float64
	for n := range b.N {
		b.StopTimer()
		ing := ingress.New(ingress.Config{}, br.JS, br.Ready)
		ing.MountCheckout(ingress.CheckoutConfig{SyncWait: time.Hour, MaxWaits: heldWaits, Customers: customers.verifier,
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
			if _, err := fmt.Fprintf(conn, "POST /v1/checkout/payments HTTP/1.1\r\nHost: ingress\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", token, len(body), body); err != nil {
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

		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/checkout/payments", strings.NewReader(`{"orderId":1,"paymentMethod":{"type":"scheme"}}`))
		resp, err := http.DefaultClient.Do(frontEnd(req, token))
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
