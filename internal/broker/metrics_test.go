package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestCollector_ReportsLagInFlightAgeAndDeadLetters reads what a flow's
// consumer and the dead-letter stream hold, as Prometheus would scrape it.
func TestCollector_ReportsLagInFlightAgeAndDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := testkit.Broker(t)
	before := time.Now()
	for _, subject := range []string{"checkout.pay", "checkout.pay", "dlq.authorise", "dlq.authorise", "dlq.refund"} {
		if _, err := b.JS.Publish(ctx, subject, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := b.JS.CreateOrUpdateConsumer(ctx, broker.InboxStream, jetstream.ConsumerConfig{
		Durable: "checkout", FilterSubjects: []string{"checkout.>"}, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	var first jetstream.Msg
	for m := range batch.Messages() {
		first = m
	}
	if first == nil {
		t.Fatal("no message fetched")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(broker.NewCollector(b.JS, 5*time.Second))
	got := scrape(t, reg)
	for name, want := range map[string]float64{
		"connector_jetstream_metrics_up":                   1,
		"connector_dead_letters/authorise":                 2,
		"connector_dead_letters/refund":                    1,
		"connector_dead_letters/checkout":                  0, // a flow without letters is a zero, not absent
		"connector_consumer_pending_messages/checkout":     1,
		"connector_consumer_ack_pending_messages/checkout": 1,
		"connector_consumer_redelivered_messages/checkout": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %t), want %v", name, v, ok, want)
		}
	}
	age := got["connector_consumer_oldest_unfinished_seconds/checkout"]
	if age <= 0 || age > time.Since(before).Seconds() {
		t.Errorf("oldest unfinished %vs, want within the %v since publishing", age, time.Since(before))
	}

	// Both finished: nothing is unfinished, nothing lags.
	if err := first.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	batch, err = cons.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got = scrape(t, reg)
	for _, name := range []string{"connector_consumer_pending_messages/checkout", "connector_consumer_ack_pending_messages/checkout",
		"connector_consumer_oldest_unfinished_seconds/checkout"} {
		if v, ok := got[name]; !ok || v != 0 {
			t.Errorf("after both acks: %s = %v (present %t), want 0", name, v, ok)
		}
	}
}

// scrape gathers reg into name/label-value -> value (gauges).
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}
