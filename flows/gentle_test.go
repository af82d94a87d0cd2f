package flows_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// sumOf sums the series of metric name whose labels include match.
func sumOf(t *testing.T, reg *prometheus.Registry, name string, match map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// renewAll sends a capture webhook for each subscription at once and waits
// until every renewal is captured in Cleeng and every message handled.
func (e *e2e) renewAll(subs []cleeng.ID) {
	e.t.Helper()
	for _, sub := range subs {
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub})
	}
	testkit.Eventually(e.t, 2*time.Minute, "every renewal captured in Cleeng and every message handled", func() bool {
		for _, sub := range subs {
			ps := e.payments(sub)
			if len(ps) != 1 || ps[0].Status != cleeng.StatusCaptured {
				return false
			}
		}
		return e.inboxEmpty()
	})
}

// newLimitedE2E is a stack whose workers call gateway under limits, with
// an AckWait of 1 s (shorter than the waits the tests make), and the
// registry of its metrics.
func newLimitedE2E(t *testing.T, gateway string, limits guard.Limits) (*e2e, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := newE2E(t, func(o *stack.DevOptions) {
		o.Registry = reg
		o.Runtime.AckWait = time.Second
		o.Guards = map[string]guard.Limits{gateway: limits}
	})
	return e, reg
}

// TestRenewal_UnderATightRateLimitEveryRenewalSucceedsWithoutDeadLetter:
// a dozen renewals at once against Adyen limited to 3 calls/s wait in line
// up to 4 s, longer than the runtime's AckWait (1 s), and every
// one is charged once and captured in Cleeng: no failure, no dead letter,
// and no message redelivered while it waited (the runtime's heartbeats
// keep it).
func TestRenewal_UnderATightRateLimitEveryRenewalSucceedsWithoutDeadLetter(t *testing.T) {
	t.Parallel()
	const renewals = 12
	e, reg := newLimitedE2E(t, adyen.Name, guard.Limits{Rate: 3, Burst: 1})
	first := e.subscribe("DE")
	subs := make([]cleeng.ID, renewals)
	for i := range subs {
		sub, err := e.dev.Cleeng.SeedSubscription(cleengsandbox.SubscriptionSeed{CustomerID: stack.DemoCustomer.ID,
			OfferID: stack.DemoOffer.ID, Country: "DE", PaymentDetailsID: first.PaymentDetailsID})
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = sub.SubscriptionID
	}
	e.renewAll(subs)
	if n := len(e.renewalCharges()); n != renewals {
		t.Errorf("%d renewal charges at Adyen, want %d", n, renewals)
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	for _, outcome := range []string{"retried", "not_yet", "dead_lettered"} {
		if n := sumOf(t, reg, "connector_worker_messages_total", map[string]string{"flow": "capture", "outcome": outcome}); n != 0 {
			t.Errorf("%v capture messages %s, want none: waiting for the limit is neither a failure nor a redelivery", n, outcome)
		}
	}
	if n := waitsLongerThan(t, reg, adyen.Name, time.Second); n == 0 {
		t.Error("no renewal waited longer than AckWait for its turn: the test did not test what it says")
	}
	e.assertOnePaymentPerExternalID(0)
}

// waitsLongerThan counts the calls to gateway that waited for their turn
// longer than d, a bucket bound of connector_gateway_rate_wait_seconds.
func waitsLongerThan(t *testing.T, reg *prometheus.Registry, gateway string, d time.Duration) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "connector_gateway_rate_wait_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() != gateway {
				continue
			}
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() == d.Seconds() {
					return h.GetSampleCount() - b.GetCumulativeCount()
				}
			}
		}
	}
	t.Fatalf("no wait bucket of %v for %s", d, gateway)
	return 0
}

// TestCleverbridge_OpenBreakerPausesTheRenewalWhichThenChargesOnce:
// Cleverbridge answering 503 opens its breaker (one failure is enough
// here); the renewal is not charged, its intent is withdrawn (nothing was
// sent), and its redeliveries are refused unsent while the breaker is open.
// After the cool-down the probe charges it, once, and Cleeng records it
// captured: a paused call never becomes a lost answer or a dead letter.
func TestCleverbridge_OpenBreakerPausesTheRenewalWhichThenChargesOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := newE2E(t, func(o *stack.DevOptions) {
		o.Registry = reg
		o.Guards = map[string]guard.Limits{cleverbridge.Name: {Failures: 1, Cooldown: 2 * time.Second}}
	})
	sub := e.cleverbridgeSubscription(cbsandbox.SubscriptionPaid)
	e.dev.Cleverbridge.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/cart/processcart",
		ErrorRate: 1, ErrorStatus: http.StatusServiceUnavailable, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID})
	testkit.Eventually(t, time.Minute, "the renewal captured in Cleeng and its message handled", func() bool {
		ps := e.payments(sub.SubscriptionID)
		return len(ps) == 1 && ps[0].Status == cleeng.StatusCaptured && e.inboxEmpty()
	})
	// The 503 was answered in front of the sandbox, which records the
	// calls it handled: the probe alone.
	if left := e.dev.Cleverbridge.Faults().List(); len(left) != 0 {
		t.Fatalf("the 503 was never answered: %+v", left)
	}
	if calls := e.processCartCalls(cbsandbox.SubscriptionPaid); len(calls) != 1 || calls[0].PurchaseID == "" {
		t.Errorf("Process Cart calls %+v, want one that paid", calls)
	}
	if n := sumOf(t, reg, "connector_gateway_breaker_refused_total", nil); n == 0 {
		t.Error("no call was refused: the breaker never paused the renewal")
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

// TestCleverbridge_RenewalsWaitingTheirTurnChargeOnceEach: renewals at
// Cleverbridge, which has no idempotency keys, wait for their turn under a
// tight limit before recording the intent to call; each is charged once and
// captured, none parks in doubt, none is dead-lettered.
func TestCleverbridge_RenewalsWaitingTheirTurnChargeOnceEach(t *testing.T) {
	t.Parallel()
	const renewals = 6
	e, reg := newLimitedE2E(t, cleverbridge.Name, guard.Limits{Rate: 2, Burst: 1})
	subs := make([]cleeng.ID, renewals)
	for i := range subs {
		subs[i] = e.cleverbridgeSubscription(cbsandbox.SubscriptionPaid).SubscriptionID
	}
	e.renewAll(subs)
	if n := len(e.processCartCalls(cbsandbox.SubscriptionPaid)); n != renewals {
		t.Errorf("%d Process Cart calls, want %d: one per renewal", n, renewals)
	}
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if n := waitsLongerThan(t, reg, cleverbridge.Name, time.Second); n == 0 {
		t.Error("no renewal waited longer than AckWait for its turn: the test did not test what it says")
	}
}
