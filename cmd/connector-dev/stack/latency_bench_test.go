package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// sandboxGatewayLatency is how long the sandbox process holds every Adyen
// POST /payments in BenchmarkRenewals_LatencyBound. Long enough that the
// bound it sets at 2,000 renewals in flight (200/s) is well under what the
// 2-core machine processes, so the latency, not the CPU, bounds the rate.
const sandboxGatewayLatency = 20 * time.Second

// latencyBoundInFlight are the renewals held at the gateway at once: the
// worker's WORKER_CONCURRENCY for the capture flow.
var latencyBoundInFlight = []int{500, 2000}

// latencyBoundWarmUp is how many renewals the idle worker process makes
// before its memory is the baseline.
const latencyBoundWarmUp = 8

// BenchmarkRenewals_LatencyBound runs capture-only renewals through one
// worker runtime (with the embedded JetStream and the ingress, in the
// benchmark's process) against the sandboxes in a process of their own
// (`connector-dev sandbox`), Adyen answering /payments after
// sandboxGatewayLatency. With in-flight handlers, the bound is in-flight ÷
// latency renewals a second; the rate is that of the steady state: the
// inbox holds (b.N+2) waves of in-flight renewals before the worker starts,
// and the rate is timed from the first wave's last completion to the last
// one's, after the pipeline filled. memory-KB/in-flight is the growth of the
// process's live heap and goroutine stacks over an idle worker process's
// (warmed up by latencyBoundWarmUp renewals), per handler
// in flight, measured in the steady state (so it includes the waiting
// backlog's share: the client's buffered messages).
func BenchmarkRenewals_LatencyBound(b *testing.B) {
	for _, c := range latencyBoundInFlight {
		b.Run("in-flight="+strconv.Itoa(c), func(b *testing.B) { benchLatencyBound(b, c) })
	}
}

func benchLatencyBound(b *testing.B, inFlight int) {
	b.StopTimer()
	sb := startSandboxProcess(b)
	// The stack's own workers process the seeding's notifications; the
	// renewals run in a worker process (startWorkerProcess).
	dev, err := stack.StartDev(context.Background(), stack.DevOptions{
		Broker:      broker.Options{StoreDir: b.TempDir()},
		IngressAddr: sb.ingressAddr, SandboxURL: sb.url,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(dev.Close)
	n := (b.N + 2) * inFlight
	subs := make([]cleeng.ID, n+latencyBoundWarmUp)
	testkit.FanOut(b, 4*senders, len(subs), func(i int) (err error) {
		subs[i], err = sb.seed(i)
		return err
	})
	testkit.EventuallyEvery(b, 5*time.Minute, 200*time.Millisecond, "seeding notifications delivered and processed", func() bool {
		var st struct{ Notifications, NotificationsDelivered int }
		sb.call(b, http.MethodGet, "/adyen/sandbox/state", nil, &st)
		return st.NotificationsDelivered == st.Notifications && testkit.StreamMsgs(b, dev.Broker.JS, broker.InboxStream) == 0
	})
	dev.StopWorkers()
	// The baseline: a worker process like the one measured, idle once it
	// has renewed a few subscriptions, as the measured one has: what the
	// first renewals build once (JSON encoders of each type, compiled
	// schemas and patterns) is not held per renewal.
	idleWorker := startWorkerProcess(b, dev, sb.url, inFlight)
	testkit.FanOut(b, latencyBoundWarmUp, latencyBoundWarmUp, func(i int) error { return sb.emitCapture(subs[n+i]) })
	testkit.EventuallyEvery(b, time.Minute, 20*time.Millisecond, "the idle worker's first renewals done", func() bool {
		return idleWorker.captures(b).Done == latencyBoundWarmUp
	})
	idle := idleWorker.memory(b)
	idleWorker.stop(b)
	sb.call(b, http.MethodPost, "/adyen/sandbox/faults", faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments",
		Latency: faultinject.Duration(sandboxGatewayLatency)}, nil)
	// The whole load waits in the inbox before the worker starts, so the
	// webhooks' sending takes no CPU from the renewals timed.
	testkit.FanOut(b, 4*senders, n, func(i int) error { return sb.emitCapture(subs[i]) })
	worker := startWorkerProcess(b, dev, sb.url, inFlight)
	var firstWave, lastWave time.Time
	var held usage
	var c captures
	var heldInFlight float64
	testkit.EventuallyEvery(b, 10*time.Minute, 20*time.Millisecond, fmt.Sprintf("%d renewals done", n), func() bool {
		c = worker.captures(b)
		switch {
		case firstWave.IsZero() && c.Done >= float64(inFlight):
			firstWave = time.Now()
			b.StartTimer()
		case !firstWave.IsZero() && heldInFlight == 0 && c.Running == float64(inFlight):
			held, heldInFlight = worker.memory(b), c.Running
			worker.writeProfiles(b, inFlight)
		case c.Done >= float64(n):
			lastWave = time.Now()
			return true
		}
		return false
	})
	b.StopTimer()
	if heldInFlight == 0 {
		b.Fatal("never saw every handler busy: nothing to measure the memory of")
	}
	rate := float64(n-inFlight) / lastWave.Sub(firstWave).Seconds()
	bound := float64(inFlight) / sandboxGatewayLatency.Seconds()
	b.ReportMetric(rate, "renewals/s")
	b.ReportMetric(float64(held.bytes()-idle.bytes())/heldInFlight/1024, "memory-KB/in-flight")
	b.ReportMetric(float64(held.Heap-idle.Heap)/heldInFlight/1024, "heap-KB/in-flight")
	b.ReportMetric(float64(held.Stacks-idle.Stacks)/heldInFlight/1024, "stacks-KB/in-flight")
	b.ReportMetric(float64(idle.bytes())/(1<<20), "idle-worker-MiB")
	b.ReportMetric(float64(held.Goroutines-idle.Goroutines)/heldInFlight, "goroutines/in-flight")
	b.ReportMetric(c.Retried, "deliveries-retried")
	b.ReportMetric(bound, "floor-renewals/s")
	b.ReportMetric(rate/bound, "ratio")
	var adyen struct {
		PaymentList []struct{ Recurring bool }
	}
	sb.call(b, http.MethodGet, "/adyen/sandbox/state", nil, &adyen)
	charges := 0
	for _, p := range adyen.PaymentList {
		if p.Recurring {
			charges++
		}
	}
	if charges != n+latencyBoundWarmUp {
		b.Fatalf("%d Adyen renewal charges, want %d (one per renewal)", charges, n+latencyBoundWarmUp)
	}
}

// sandboxProcess is `connector-dev sandbox` running as an OS process, its
// webhooks sent to ingressAddr (where the benchmark's stack listens).
type sandboxProcess struct {
	url, ingressAddr string
	client           *http.Client
}

func startSandboxProcess(b *testing.B) *sandboxProcess {
	b.Helper()
	addr, ingressAddr := testkit.FreeAddr(b), testkit.FreeAddr(b)
	sb := &sandboxProcess{url: "http://" + addr, ingressAddr: ingressAddr,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * senders}}}
	var logs bytes.Buffer
	cmd := exec.Command(testkit.Binary(b, "github.com/cleeng-connector/connector/cmd/connector-dev"), "sandbox")
	cmd.Env = append(os.Environ(), "CONNECTOR_DEV_SANDBOX_ADDR="+addr, "SANDBOX_INGRESS_URL=http://"+ingressAddr, "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if b.Failed() {
			b.Logf("sandbox process:\n%s", logs.String())
		}
	})
	testkit.Eventually(b, time.Minute, "the sandbox process serving", func() bool {
		select {
		case <-exited:
			b.Fatalf("the sandbox process exited:\n%s", logs.String())
		default:
		}
		resp, err := sb.client.Get(sb.url + "/adyen/sandbox/faults")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return sb
}

// do sends a JSON request to the sandbox process and decodes its 2xx answer
// into out. A request that got no answer is sent again, twice at most: on
// the loaded machine a connection now and then goes away under a request,
// and a repeat of any of these calls is harmless (a seed is overwritten or
// left unused, a webhook's copy is de-duplicated by the ingress).
func (sb *sandboxProcess) do(method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var resp *http.Response
	for range 3 {
		var req *http.Request
		if req, err = http.NewRequest(method, sb.url+path, bytes.NewReader(body)); err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", stack.DevAdyenAPIKey)
		if resp, err = sb.client.Do(req); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

func (sb *sandboxProcess) call(b *testing.B, method, path string, in, out any) {
	b.Helper()
	if err := sb.do(method, path, in, out); err != nil {
		b.Fatal(err)
	}
}

// seed creates customer i with a card stored at Adyen and an active
// subscription renewing on it, as renewals.seed does in process.
func (sb *sandboxProcess) seed(i int) (cleeng.ID, error) {
	customer := cleeng.ID(strconv.Itoa(500000 + i))
	if err := sb.do(http.MethodPost, "/cleeng/sandbox/customers", cleengsandbox.Customer{ID: customer,
		Email: "shopper" + customer.String() + "@example.com", Country: "DE"}, nil); err != nil {
		return "", err
	}
	var card struct {
		ResultCode     string            `json:"resultCode"`
		AdditionalData map[string]string `json:"additionalData"`
	}
	if err := sb.do(http.MethodPost, "/adyen/v71/payments", storeCardRequest(customer), &card); err != nil {
		return "", err
	}
	token := card.AdditionalData["tokenization.storedPaymentMethodId"]
	if card.ResultCode != "Authorised" || token == "" {
		return "", fmt.Errorf("storing a card for %s: %s, no token", customer, card.ResultCode)
	}
	var sub cleengsandbox.Subscription
	err := sb.do(http.MethodPost, "/cleeng/sandbox/subscriptions", cleengsandbox.SubscriptionSeed{CustomerID: customer, OfferID: stack.DemoOffer.ID,
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: stack.DevPaymentMethodAdyen, Token: token}}, &sub)
	return sub.SubscriptionID, err
}

// emitCapture has the Cleeng sandbox send the capture-only dunning webhook of sub.
func (sb *sandboxProcess) emitCapture(sub cleeng.ID) error {
	var deliveries []cleengsandbox.Delivery
	if err := sb.do(http.MethodPost, "/cleeng/sandbox/webhooks", cleengsandbox.EmitRequest{
		Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub}, &deliveries); err != nil {
		return err
	}
	for _, d := range deliveries {
		if d.Status != http.StatusOK {
			return fmt.Errorf("capture webhook for %s answered %d: %s", sub, d.Status, d.Error)
		}
	}
	return nil
}
