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

// openBroker, eventually and streamMsgs are the testkit helpers, under the
// names this package's tests and benchmarks use.
var (
	openBroker = testkit.Broker
	eventually = testkit.Eventually
	streamMsgs = testkit.StreamMsgs
)

// connect opens a connection of its own, as another replica would.
func connect(tb testing.TB, b *broker.Broker) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(b.Server.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// instance is a running Runtime; stopAndWait cancels it as SIGTERM would.
type instance struct {
	stop     context.CancelFunc
	finished chan struct{}
	err      error
}

func start(tb testing.TB, js jetstream.JetStream, cfg workers.Config, flows ...workers.Flow) *instance {
	tb.Helper()
	rt, err := workers.New(js, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stop: cancel, finished: make(chan struct{})}
	go func() {
		in.err = rt.Run(ctx, flows...)
		close(in.finished)
	}()
	tb.Cleanup(func() {
		in.stopAndWait(tb, 30*time.Second)
		if in.err != nil {
			tb.Errorf("Run: %v", in.err)
		}
	})
	return in
}

// stopAndWait cancels the instance and waits for its drain to finish.
func (in *instance) stopAndWait(tb testing.TB, within time.Duration) {
	tb.Helper()
	in.stop()
	select {
	case <-in.finished:
	case <-time.After(within):
		tb.Fatalf("Run did not return within %v of cancel", within)
	}
}

func publish(tb testing.TB, js jetstream.JetStream, subject string, data []byte, header nats.Header) {
	tb.Helper()
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: data, Header: header}); err != nil {
		tb.Fatal(err)
	}
}

// publishWindow is how many asynchronous publishes publishAll leaves
// outstanding: well below the client's limit, so it never stalls.
const publishWindow = 1000

// publishAll stores msgs, each carrying a Nats-Msg-Id header, asynchronously
// a window at a time; a publish whose ack failed is sent again, which the
// stream de-duplicates if the first had been stored after all.
func publishAll(tb testing.TB, js jetstream.JetStream, msgs []*nats.Msg) {
	tb.Helper()
	for len(msgs) > 0 {
		window := msgs[:min(publishWindow, len(msgs))]
		msgs = msgs[len(window):]
		acks := make([]jetstream.PubAckFuture, len(window))
		for i, m := range window {
			var err error
			if acks[i], err = js.PublishMsgAsync(m); err != nil {
				tb.Fatalf("publish %s: %v", m.Subject, err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(5 * time.Minute):
			tb.Fatalf("%d publishes still unacknowledged", js.PublishAsyncPending())
		}
		for i, f := range acks {
			select {
			case <-f.Ok():
			case <-f.Err():
				publish(tb, js, window[i].Subject, window[i].Data, window[i].Header)
			}
		}
	}
}

// deadLetters returns every message in the DLQ stream.
func deadLetters(tb testing.TB, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	tb.Helper()
	s, err := js.Stream(context.Background(), broker.DLQStream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// outcomes sums connector_worker_messages_total by outcome over all flows.
func outcomes(tb testing.TB, reg *prometheus.Registry) map[string]int {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sums := map[string]int{}
	for _, f := range families {
		if f.GetName() != "connector_worker_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					sums[l.GetValue()] += int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return sums
}

func header(kv ...string) nats.Header {
	h := nats.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatalf("%q: %v", s, err)
	}
	return n
}
