package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports what JetStream knows of the connector's queues when
// Prometheus scrapes: the dead letters waiting for an operator, and for each
// flow's consumer its lag, its messages in flight and the age of its oldest
// unfinished message. A message stays unfinished while its operation is
// retried, waits ("not yet") or is parked waiting for a notification, and
// the worker runtime dead-letters it once its budget is spent; one older
// than that is stuck. Reading these costs a few JetStream API calls per
// consumer, independent of the number of messages.
type Collector struct {
	js      jetstream.JetStream
	timeout time.Duration
}

// NewCollector reads JetStream through js, each scrape within timeout.
func NewCollector(js jetstream.JetStream, timeout time.Duration) *Collector {
	return &Collector{js: js, timeout: timeout}
}

var (
	descUp = prometheus.NewDesc("connector_jetstream_metrics_up",
		"1 when the last scrape could read the streams and consumers from JetStream, else 0.", nil, nil)
	descDeadLetters = prometheus.NewDesc("connector_dead_letters",
		"Dead letters waiting in "+DLQStream+" for an operator (connector dlq), by flow.", []string{"flow"}, nil)
	descPending = prometheus.NewDesc("connector_consumer_pending_messages",
		"Messages of the flow's consumer not yet delivered to a worker: the consumer's lag.", []string{"consumer"}, nil)
	descAckPending = prometheus.NewDesc("connector_consumer_ack_pending_messages",
		"Messages delivered and not yet finished (running, or waiting for a redelivery).", []string{"consumer"}, nil)
	descRedelivered = prometheus.NewDesc("connector_consumer_redelivered_messages",
		"Messages not yet finished that were delivered more than once.", []string{"consumer"}, nil)
	descOldest = prometheus.NewDesc("connector_consumer_oldest_unfinished_seconds",
		"Age of the consumer's oldest message not yet acked (waiting, retried or parked); 0 when none.", []string{"consumer"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descDeadLetters, descPending, descAckPending, descRedelivered, descOldest} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. When JetStream cannot be read it
// reports connector_jetstream_metrics_up 0 rather than failing the scrape
// of the process's other metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	q, err := ReadQueues(ctx, c.js)
	for flow, n := range q.DeadLetters {
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(n), flow)
	}
	for _, con := range q.Consumers {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(con.Pending), con.Name)
		ch <- prometheus.MustNewConstMetric(descAckPending, prometheus.GaugeValue, float64(con.AckPending), con.Name)
		ch <- prometheus.MustNewConstMetric(descRedelivered, prometheus.GaugeValue, float64(con.Redelivered), con.Name)
		if con.OldestKnown {
			ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, con.OldestUnfinished.Seconds(), con.Name)
		}
	}
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

// Queues is what JetStream knows of the connector's queues: the metrics'
// source, and the operator console's NATS page.
type Queues struct {
	// DeadLetters counts the letters in DLQStream by flow.
	DeadLetters map[string]uint64
	// Consumers are the flows' consumers on InboxStream, in the server's order.
	Consumers []ConsumerQueue
}

// ConsumerQueue is one flow's consumer.
type ConsumerQueue struct {
	Name string
	// Pending: not yet delivered (the lag); AckPending: delivered and not
	// yet finished; Redelivered: of those, delivered more than once.
	Pending, AckPending, Redelivered uint64
	// OldestUnfinished is the age of the oldest message not yet acked (0
	// when none); OldestKnown is false when it could not be read.
	OldestUnfinished time.Duration
	OldestKnown      bool
	// Info is the server's whole answer about the consumer.
	Info *jetstream.ConsumerInfo
}

// ReadQueues reads the dead letters by flow and the inbox's consumers, a
// few JetStream API calls per consumer, whatever the backlog. On an error
// it returns what it could read with the error.
func ReadQueues(ctx context.Context, js jetstream.JetStream) (Queues, error) {
	q := Queues{DeadLetters: map[string]uint64{}}
	lettersErr := q.readDeadLetters(ctx, js)
	err := errors.Join(lettersErr, q.readConsumers(ctx, js))
	if lettersErr == nil {
		// A flow (its consumer bears its name) with no letters counts 0:
		// an alert on the count sees a series, not an absent one.
		for _, con := range q.Consumers {
			q.DeadLetters[con.Name] += 0
		}
	}
	return q, err
}

func (q *Queues) readDeadLetters(ctx context.Context, js jetstream.JetStream) error {
	s, err := js.Stream(ctx, DLQStream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(SubjectDLQ+".>"))
	if err != nil {
		return err
	}
	for subject, n := range info.State.Subjects {
		q.DeadLetters[strings.TrimPrefix(subject, SubjectDLQ+".")] = n
	}
	return nil
}

func (q *Queues) readConsumers(ctx context.Context, js jetstream.JetStream) error {
	s, err := js.Stream(ctx, InboxStream)
	if err != nil {
		return err
	}
	consumers := s.ListConsumers(ctx)
	var errs []error
	for info := range consumers.Info() {
		con := ConsumerQueue{Name: info.Name, Pending: info.NumPending, AckPending: uint64(info.NumAckPending),
			Redelivered: uint64(info.NumRedelivered), Info: info}
		age, err := oldestUnfinished(ctx, s, info)
		if err != nil {
			errs = append(errs, err)
		} else {
			con.OldestUnfinished, con.OldestKnown = age, true
		}
		q.Consumers = append(q.Consumers, con)
	}
	return errors.Join(append(errs, consumers.Err())...)
}

// oldestUnfinished is the age of the first message on the consumer's
// subjects after its ack floor: every message up to the floor is acked, and
// the first one after it is not (else the floor would have moved past it).
func oldestUnfinished(ctx context.Context, s jetstream.Stream, info *jetstream.ConsumerInfo) (time.Duration, error) {
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return 0, nil
	}
	subjects := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		subjects = []string{info.Config.FilterSubject}
	}
	if len(subjects) == 0 {
		subjects = []string{">"}
	}
	var oldest time.Time
	for _, subject := range subjects {
		msg, err := s.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if oldest.IsZero() || msg.Time.Before(oldest) {
			oldest = msg.Time
		}
	}
	if oldest.IsZero() {
		return 0, nil
	}
	return time.Since(oldest), nil
}
