package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// senders is how many goroutines seed subscriptions and send webhooks.
const senders = 8

// renewals is a dev stack (stack.StartDev: embedded JetStream, ingress,
// workers and sandboxes on loopback) with subscriptions due for renewal.
type renewals struct {
	b    *testing.B
	dev  *stack.Dev
	subs []cleeng.ID
}

// newRenewals starts a dev stack whose workers run concurrency handlers
// per flow, seeds n subscriptions paying with Adyen sandbox tokens, waits
// until the seeding's side effects are processed, then adds gatewayLatency
// to every Adyen POST /payments. Nothing of it is timed.
func newRenewals(b *testing.B, n, concurrency int, gatewayLatency time.Duration, tweak ...func(*stack.DevOptions)) *renewals {
	b.Helper()
	b.StopTimer()
	opts := stack.DevOptions{
		Broker:      broker.Options{StoreDir: b.TempDir()},
		IngressAddr: "127.0.0.1:0",
		SandboxAddr: "127.0.0.1:0",
		Runtime:     workers.Config{Concurrency: concurrency},
	}
	for _, f := range tweak {
		f(&opts)
	}
	dev, err := stack.StartDev(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(dev.Close)
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		b.Fatal(err)
	}
	r := &renewals{b: b, dev: dev, subs: make([]cleeng.ID, n)}
	testkit.FanOut(b, senders, n, r.seed)
	// The token-storing authorisations notify the ingress; let the workers
	// finish with them before anything is measured.
	testkit.EventuallyEvery(b, time.Minute, 10*time.Millisecond, "seeding notifications delivered and processed", func() bool {
		st := dev.Adyen.State()
		return st.NotificationsDelivered == st.Notifications && r.inboxEmpty()
	})
	if gatewayLatency > 0 {
		dev.Adyen.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments",
			Latency: faultinject.Duration(gatewayLatency)})
	}
	return r
}

// seed creates customer i, stores a card for it at the Adyen sandbox (the
// zero-amount authorisation a Drop-in checkout makes), and seeds an active
// subscription renewing on that token.
func (r *renewals) seed(i int) error {
	customer := cleeng.ID(strconv.Itoa(500000 + i))
	if err := r.dev.Cleeng.SeedCustomer(cleengsandbox.Customer{ID: customer, Email: "shopper" + customer.String() + "@example.com", Country: "DE"}); err != nil {
		return err
	}
	token, err := r.storeCard(customer)
	if err != nil {
		return err
	}
	sub, err := r.dev.Cleeng.SeedSubscription(cleengsandbox.SubscriptionSeed{CustomerID: customer, OfferID: stack.DemoOffer.ID,
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: stack.DevPaymentMethodAdyen, Token: token}})
	r.subs[i] = sub.SubscriptionID
	return err
}

// storeCard returns the Adyen sandbox token of a test Visa card stored for customer.
func (r *renewals) storeCard(customer cleeng.ID) (string, error) {
	body, _ := json.Marshal(storeCardRequest(customer))
	req, err := http.NewRequest(http.MethodPost, r.dev.AdyenCheckoutURL()+"/payments", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", stack.DevAdyenAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ResultCode     string            `json:"resultCode"`
		AdditionalData map[string]string `json:"additionalData"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	token := out.AdditionalData["tokenization.storedPaymentMethodId"]
	if out.ResultCode != "Authorised" || token == "" {
		return "", fmt.Errorf("storing a card for %s: %d %s, no token", customer, resp.StatusCode, out.ResultCode)
	}
	return token, nil
}

// storeCardRequest is the Adyen /payments request of a zero-amount
// authorisation storing a test Visa card for customer.
func storeCardRequest(customer cleeng.ID) map[string]any {
	return map[string]any{
		"amount": map[string]any{"currency": "EUR", "value": 0}, "merchantAccount": stack.DevMerchantAccount,
		"reference": "bench-card-" + customer.String(), "returnUrl": "https://shop.example/return",
		"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, "Bench Shopper"), "shopperReference": customer.String(),
		"storePaymentMethod": true, "shopperInteraction": "Ecommerce", "recurringProcessingModel": "Subscription",
	}
}

// sendCaptures sends the capture-only dunning webhook of each subscription
// from the Cleeng sandbox to the ingress.
func (r *renewals) sendCaptures(subs []cleeng.ID) {
	r.b.Helper()
	testkit.FanOut(r.b, senders, len(subs), func(i int) error {
		deliveries, err := r.dev.Cleeng.Emit(context.Background(), cleengsandbox.EmitRequest{
			Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: subs[i]})
		if err != nil {
			return err
		}
		for _, d := range deliveries {
			if d.Status != http.StatusOK {
				return fmt.Errorf("capture webhook for %s answered %d: %s", subs[i], d.Status, d.Error)
			}
		}
		return nil
	})
}

// count returns how many renewal orders Cleeng has, and how many renewal
// payments it recorded as captured.
func (r *renewals) count() (orders, captured int) {
	st := r.dev.Cleeng.State()
	for _, o := range st.Orders {
		if o.PaymentOperation == cleeng.OperationRecurringPayment {
			orders++
		}
	}
	for _, p := range st.Payments {
		if p.PaymentOperation == cleeng.OperationRecurringPayment && p.Status == cleeng.StatusCaptured {
			captured++
		}
	}
	return orders, captured
}

// waitCaptured waits until Cleeng has want captured renewals. It looks
// every 50 ms: a look snapshots the whole Cleeng sandbox, and looking more
// often would take a noticeable share of the CPU from the stack measured.
func (r *renewals) waitCaptured(want int) {
	r.b.Helper()
	testkit.EventuallyEvery(r.b, 3*time.Minute, 50*time.Millisecond, fmt.Sprintf("%d renewals captured in Cleeng", want), func() bool {
		_, captured := r.count()
		return captured >= want
	})
}

// assertChargedOnce fails unless Adyen charged each renewal exactly once.
func (r *renewals) assertChargedOnce(want int) {
	r.b.Helper()
	charges := 0
	for _, p := range r.dev.Adyen.Payments() {
		if p.Recurring {
			charges++
		}
	}
	_, captured := r.count()
	if charges != want || captured != want {
		r.b.Fatalf("%d Adyen renewal charges and %d captured Cleeng renewals, want %d of each", charges, captured, want)
	}
}

func (r *renewals) inboxEmpty() bool {
	return testkit.StreamMsgs(r.b, r.dev.Broker.JS, broker.InboxStream) == 0
}

// benchRenewals times b.N capture-only renewals, from the first webhook
// sent to the last payment Cleeng records as captured.
func benchRenewals(b *testing.B, concurrency int, gatewayLatency time.Duration) {
	r := newRenewals(b, b.N, concurrency, gatewayLatency)
	b.ResetTimer()
	b.StartTimer()
	r.sendCaptures(r.subs)
	r.waitCaptured(b.N)
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "renewals/s")
	if gatewayLatency > 0 {
		// The bound the gateway's latency sets: every handler waiting on it.
		bound := float64(concurrency) / gatewayLatency.Seconds()
		b.ReportMetric(bound, "floor-renewals/s")
		b.ReportMetric(rate/bound, "ratio")
	}
	r.assertChargedOnce(b.N)
}

// concurrencies are the worker concurrencies (handlers in flight per flow)
// the renewal benchmarks run at: the default, and enough to keep 300 ms
// gateway calls from bounding the rate (concurrency / 300 ms = 853/s).
var concurrencies = []int{workers.DefaultConcurrency, 256}

// BenchmarkRenewals_ZeroLatency: ingress → JetStream → capture flow →
// Cleeng order → Adyen charge → Cleeng payment, with instant sandboxes.
func BenchmarkRenewals_ZeroLatency(b *testing.B) {
	for _, c := range concurrencies {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) { benchRenewals(b, c, 0) })
	}
}

// BenchmarkRenewals_300msGateway: the same with Adyen answering /payments
// after 300 ms. The rate is bounded by concurrency / 300 ms until the CPU
// bounds it.
func BenchmarkRenewals_300msGateway(b *testing.B) {
	for _, c := range concurrencies {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) { benchRenewals(b, c, 300*time.Millisecond) })
	}
}

// inFlight is the number of renewals the memory benchmarks hold at once.
const inFlight = 256

// BenchmarkRenewals_MemoryPerInFlight holds batches of inFlight renewals
// at the Adyen sandbox (3 s latency on /payments) and reports the growth of
// the whole process's live heap and goroutine stacks per renewal held,
// against the same stack idle: the connector's share (stored message,
// handler, operation record, HTTP client connection) and the sandboxes'
// (their records, the held server connection). bytes/op-retained is what
// stays once the batch finished: the sandboxes' records, the operation
// records and JetStream's de-duplication ids.
func BenchmarkRenewals_MemoryPerInFlight(b *testing.B) {
	r := newRenewals(b, inFlight*(b.N+1), inFlight, 3*time.Second)
	// A first batch, not measured, grows the pools and caches whose size
	// does not depend on the load (JetStream's block buffers, connections).
	r.sendCaptures(r.subs[:inFlight])
	r.waitCaptured(inFlight)
	var held, retained, goroutines float64
	b.ResetTimer()
	b.StartTimer()
	for n := 1; n <= b.N; n++ {
		batch := r.subs[n*inFlight : (n+1)*inFlight]
		before := measure()
		r.sendCaptures(batch)
		testkit.EventuallyEvery(b, time.Minute, 10*time.Millisecond, "every renewal of the batch waiting at Adyen", func() bool {
			orders, _ := r.count()
			return orders == (n+1)*inFlight
		})
		during := measure()
		if _, captured := r.count(); captured != n*inFlight {
			b.Fatalf("%d renewals of the batch finished before the measurement: raise the hold latency", captured-n*inFlight)
		}
		r.waitCaptured((n + 1) * inFlight)
		after := measure()
		held += float64(during.bytes() - before.bytes())
		retained += float64(after.bytes() - before.bytes())
		goroutines += float64(during.Goroutines - before.Goroutines)
	}
	b.StopTimer()
	ops := float64(b.N * inFlight)
	b.ReportMetric(held/ops, "bytes/op-in-flight")
	b.ReportMetric(retained/ops, "bytes/op-retained")
	b.ReportMetric(goroutines/ops, "goroutines/op-in-flight")
	r.assertChargedOnce((b.N + 1) * inFlight)
}

// BenchmarkHeldHTTPRequest_MemoryPerInFlight is the floor of the above:
// inFlight bare loopback HTTP requests held by a net/http handler, client
// and server in one process, as the renewals are held at the sandbox.
func BenchmarkHeldHTTPRequest_MemoryPerInFlight(b *testing.B) {
	var arrived atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived.Add(1)
		<-release
	}))
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{}}
	body := bytes.Repeat([]byte("x"), 700)
	var held, goroutines float64
	for range b.N {
		before := measure()
		arrived.Store(0)
		release = make(chan struct{})
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
				if err == nil {
					resp.Body.Close()
				}
			})
		}
		testkit.EventuallyEvery(b, time.Minute, 10*time.Millisecond, "every request held", func() bool { return arrived.Load() == inFlight })
		during := measure()
		close(release)
		wg.Wait()
		held += float64(during.bytes() - before.bytes())
		goroutines += float64(during.Goroutines - before.Goroutines)
	}
	ops := float64(b.N * inFlight)
	b.ReportMetric(held/ops, "bytes/op-in-flight")
	b.ReportMetric(goroutines/ops, "goroutines/op-in-flight")
}

// usage is the live heap and goroutine stacks after a collection.
type usage struct {
	Heap, Stacks int64
	Goroutines   int
}

func (u usage) bytes() int64 { return u.Heap + u.Stacks }

func measure() usage {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return usage{Heap: int64(m.HeapAlloc), Stacks: int64(m.StackInuse), Goroutines: runtime.NumGoroutine()}
}
