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
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// benchRound is how many messages each side consumes in one round of
// BenchmarkConsume: a fraction of a second, so load from elsewhere on the
// shared machine falls on both sides alike.
const benchRound = 20_000

// BenchmarkConsume is the runtime's consume rate with a no-op handler
// (acks, heartbeat timers, metrics, tracing and the policy included)
// against its floor, nats.go's own Consume with an asynchronous Ack on
// the same embedded server. The two take turns, a round of 128-byte
// messages each, and each round is timed from the start of its consumer
// to the inbox being empty, that is until the server has processed an ack
// for every message. It reports both rates and the process's CPU per
// message on each side, and their ratios.
func BenchmarkConsume(b *testing.B) {
	br := openBroker(b)
	js := connect(b, br)
	plain := func() (stop func()) {
		cons, err := js.CreateOrUpdateConsumer(context.Background(), broker.InboxStream, jetstream.ConsumerConfig{
			Durable: "plain", FilterSubjects: []string{"checkout.bench-plain"}, AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			b.Fatal(err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() })
		if err != nil {
			b.Fatal(err)
		}
		return cc.Stop
	}
	runtime := func() (stop func()) {
		in := start(b, js, workers.Config{Concurrency: 64, Metrics: prometheus.NewRegistry()},
			workers.Flow{Name: "bench", Subjects: []string{"checkout.bench-runtime"}, Handler: func(context.Context, workers.Message) error {
				return nil
			}})
		return func() { in.stopAndWait(b, time.Minute) }
	}
	b.StopTimer()
	var floor, connector round
	for done := 0; done < b.N; done += benchRound {
		n := min(benchRound, b.N-done)
		floor.add(consumeRound(b, br, "checkout.bench-plain", "plain", done, n, plain))
		connector.add(consumeRound(b, br, "checkout.bench-runtime", "bench", done, n, runtime))
	}
	perMsg := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(time.Microsecond) }
	b.ReportMetric(float64(b.N)/connector.took.Seconds(), "msgs/s")
	b.ReportMetric(perMsg(connector.cpu), "cpu-µs/msg")
	b.ReportMetric(float64(b.N)/floor.took.Seconds(), "floor-msgs/s")
	b.ReportMetric(perMsg(floor.cpu), "floor-cpu-µs/msg")
	b.ReportMetric(floor.took.Seconds()/connector.took.Seconds(), "ratio")
	b.ReportMetric(float64(floor.cpu)/float64(connector.cpu), "cpu-ratio")
}

// round is the time rounds took and the CPU the process spent meanwhile.
type round struct{ took, cpu time.Duration }

func (r *round) add(more round) { r.took, r.cpu = r.took+more.took, r.cpu+more.cpu }

// consumeRound stores n messages on subject, then times consume from its
// start until the inbox is empty. It deletes the durable consumer after
// the round: a pull request its stopped client left on the server would
// otherwise take the next round's first messages into the void until their
// AckWait ran out.
func consumeRound(b *testing.B, br *broker.Broker, subject, durable string, from, n int, consume func() (stop func())) round {
	b.Helper()
	payload := make([]byte, 128)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: subject, Data: payload, Header: header(jetstream.MsgIDHeader, subject+"-"+strconv.Itoa(from+i))}
	}
	publishAll(b, br.JS, msgs)
	b.StartTimer()
	began, cpu := time.Now(), testkit.CPUTime()
	stop := consume()
	eventually(b, 5*time.Minute, "every message acked", func() bool {
		return streamMsgs(b, br.JS, broker.InboxStream) == 0
	})
	took := round{took: time.Since(began), cpu: testkit.CPUTime() - cpu}
	b.StopTimer()
	stop()
	if err := br.JS.DeleteConsumer(context.Background(), broker.InboxStream, durable); err != nil {
		b.Fatal(err)
	}
	return took
}
