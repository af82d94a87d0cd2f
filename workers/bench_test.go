package workers_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/workers"
)

const benchSubject = "checkout.bench"

// fillInbox publishes n 128-byte messages before the timer starts.
func fillInbox(b *testing.B, js jetstream.JetStream, n int) {
	b.Helper()
	payload := make([]byte, 128)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: benchSubject, Data: payload, Header: header(jetstream.MsgIDHeader, strconv.Itoa(i))}
	}
	publishAll(b, js, msgs)
	b.ResetTimer()
}

// waitAcked waits until the work-queue inbox is empty, that is until the
// server has processed an ack for every message, and reports the rate.
func waitAcked(b *testing.B, js jetstream.JetStream) {
	b.Helper()
	eventually(b, 5*time.Minute, "every message acked", func() bool { return streamMsgs(b, js, broker.InboxStream) == 0 })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkConsume is the runtime's consume rate with a no-op handler:
// synchronous acks, heartbeat timers, metrics and the policy included.
func BenchmarkConsume(b *testing.B) {
	br := openBroker(b)
	fillInbox(b, br.JS, b.N)
	in := start(b, connect(b, br), workers.Config{Concurrency: 64, Metrics: prometheus.NewRegistry()},
		workers.Flow{Name: "bench", Subjects: []string{benchSubject}, Handler: func(context.Context, workers.Message) error {
			return nil
		}})
	waitAcked(b, br.JS)
	in.stopAndWait(b, time.Minute)
}

// BenchmarkConsumePlainNats is the floor: nats.go's own Consume with an
// asynchronous Ack, on the same embedded server setup.
func BenchmarkConsumePlainNats(b *testing.B) {
	br := openBroker(b)
	fillInbox(b, br.JS, b.N)
	cons, err := connect(b, br).CreateOrUpdateConsumer(context.Background(), broker.InboxStream, jetstream.ConsumerConfig{
		Durable: "plain", FilterSubjects: []string{benchSubject}, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() })
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	waitAcked(b, br.JS)
}
