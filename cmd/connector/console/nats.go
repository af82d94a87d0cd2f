package console

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/ops"
)

type natsView struct {
	Server      string
	Version     string
	RTT         time.Duration
	Account     *jetstream.AccountInfo
	Streams     []*jetstream.StreamInfo
	Queues      broker.Queues
	DeadLetters []flowCount
	// Problems are what could not be read; the rest of the page stands.
	Problems []string
}

type flowCount struct {
	Flow  string
	Count uint64
}

func (c *Console) nats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	b := c.cfg.Broker
	v := natsView{Server: b.Conn.ConnectedUrlRedacted(), Version: b.Conn.ConnectedServerVersion()}
	problem := func(err error) {
		if err != nil {
			v.Problems = append(v.Problems, err.Error())
		}
	}
	rtt, err := b.Conn.RTT()
	problem(err)
	v.RTT = rtt
	v.Account, err = b.JS.AccountInfo(ctx)
	problem(err)
	streams := b.JS.ListStreams(ctx)
	for info := range streams.Info() {
		v.Streams = append(v.Streams, info)
	}
	problem(streams.Err())
	slices.SortFunc(v.Streams, func(a, b *jetstream.StreamInfo) int { return strings.Compare(a.Config.Name, b.Config.Name) })
	v.Queues, err = broker.ReadQueues(ctx, b.JS)
	problem(err)
	v.DeadLetters = byFlow(v.Queues.DeadLetters)
	c.render(w, http.StatusOK, "nats", "NATS health", v)
}

func byFlow(m map[string]uint64) []flowCount {
	var out []flowCount
	for _, f := range slices.Sorted(maps.Keys(m)) {
		if m[f] > 0 { // the metrics count every flow; the operator wants the ones with letters
			out = append(out, flowCount{f, m[f]})
		}
	}
	return out
}

type overviewView struct {
	DeadLetters int
	ByFlow      []flowCount
	Counts      map[string]int
	Consumers   []broker.ConsumerQueue
	Problems    []string
}

// overview is the first page: how many letters wait, how many operations
// are unfinished, and whether a consumer lags.
func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := pageContext(r)
	defer cancel()
	v := overviewView{Counts: map[string]int{}}
	q, err := broker.ReadQueues(ctx, c.cfg.Broker.JS)
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
	}
	v.ByFlow, v.Consumers = byFlow(q.DeadLetters), q.Consumers
	for _, n := range q.DeadLetters {
		v.DeadLetters += int(n)
	}
	recs, err := ops.List[struct{}](ctx, ops.NewStore(c.cfg.Broker.Ops), "")
	if err != nil {
		v.Problems = append(v.Problems, err.Error())
	}
	now := time.Now()
	for _, rec := range recs {
		v.Counts[condition(rec, now)]++
	}
	c.render(w, http.StatusOK, "overview", "Overview", v)
}
