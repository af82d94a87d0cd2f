package workers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/broker"
)

// Message is one delivery of an inbox message to a handler.
type Message struct {
	Subject string
	Data    []byte
	Header  nats.Header
	// Attempt is JetStream's delivery count: 1 on the first delivery.
	Attempt uint64
	// Received is when the inbox stream stored the message.
	Received time.Time
}

// Handler does a flow's work for one message. nil means done (the message is
// acked); an error is classified with internal/failure and Config.decide
// acts on it. ctx is cancelled after Config.HandlerTimeout, or when a drain
// runs out of time.
type Handler func(ctx context.Context, m Message) error

// Flow is a handler with the inbox subjects it consumes.
type Flow struct {
	// Name names the durable consumer and the dead-letter subject
	// dlq.<Name>: letters, digits, '-' and '_'.
	Name string
	// Subjects filter the inbox; they must not overlap another flow's
	// (the inbox is a work queue).
	Subjects []string
	Handler  Handler
	// Concurrency overrides Config.Concurrency for this flow.
	Concurrency int
	// Letter, when set, is what a dead letter keeps of a message's data
	// (a flow's messages may carry personal data a replay does not need);
	// nil keeps it byte for byte.
	Letter func(subject string, data []byte) []byte
}

// Headers of a dead-lettered message, beside the original's own headers.
const (
	HeaderFlow            = "Connector-Flow"
	HeaderError           = "Connector-Error"
	HeaderAttempts        = "Connector-Attempts"
	HeaderOriginalSubject = "Connector-Original-Subject"
	HeaderOriginalMsgID   = "Connector-Original-Msg-Id"
)

// HeaderReplay marks an inbox message that an operator replayed from the
// dead-letter stream (package deadletter); its value names the letter.
// Only a replay sets it: the ingress builds its messages' headers itself
// and copies none from the request. A flow may re-open a failed operation
// for a message that carries it (DESIGN section 3).
const HeaderReplay = "Connector-Replay"

const (
	// replyTimeout bounds an ack or a dead-letter publish.
	replyTimeout = 5 * time.Second
	// reopenDelay paces attempts to consume again after the consumer or the
	// connection went away.
	reopenDelay = time.Second
	// deadLetterRetries are deliveries the server allows beyond
	// MaxDeliverNotYet, so a dead-letter publish that failed on the last
	// counted delivery is tried again rather than left undelivered.
	deadLetterRetries = 3
	// prefetch is how many messages per handler the client buffers beyond
	// those in flight. It asks for more when half are gone, so a batch
	// covers the round trip of the next pull (one message per handler left
	// the runtime idle, waiting on the server, at a third of its rate). A
	// buffered message waits at most prefetch handler calls, and its
	// AckWait runs meanwhile: four calls of up to AckWait/5 each (6 s with
	// the defaults) fit in it, and a longer wait costs a redelivery that
	// the operation record turns into a no-op.
	prefetch = 4
	// maxBuffered caps that buffer for a flow with many handlers: it need
	// only cover a pull's round trip at the runtime's top rate, and a
	// buffer of prefetch per handler behind thousands of slow calls (a
	// gateway answering in seconds) would hold messages past AckWait, each
	// then delivered twice. With the cap a buffered message waits at most
	// maxBuffered ÷ Concurrency handler calls.
	maxBuffered = 512
)

var flowName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Runtime runs flows on the inbox. Create it with New.
type Runtime struct {
	js      jetstream.JetStream
	cfg     Config
	metrics *metrics
	log     zerolog.Logger
}

// New returns a runtime consuming through js.
func New(js jetstream.JetStream, cfg Config) (*Runtime, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("worker metrics: %w", err)
	}
	return &Runtime{js: js, cfg: cfg, metrics: m, log: cfg.Logger}, nil
}

// ClaimLease is the lease of the operation claims this runtime's handlers
// take (ops.WithLease): AckWait. A handler renews its claims with its
// message's heartbeat (OnHeartbeat), so a claim lives as long as its holder;
// when the worker dies, the claim runs out about when the server redelivers
// the message, and the operation resumes within AckWait of the crash.
func (r *Runtime) ClaimLease() time.Duration { return r.cfg.AckWait }

// flowRun is a flow being consumed.
type flowRun struct {
	Flow
	consumer jetstream.Consumer
	metrics  flowMetrics
	log      zerolog.Logger
}

// Run creates (or updates) each flow's durable consumer and consumes until
// ctx is cancelled, then drains: it returns once every handler has
// returned. It fails early, consuming nothing, when a flow is invalid or its
// consumer cannot be created. Replicas running a flow should share one
// Config: the consumer's settings (AckWait, MaxDeliver, MaxAckPending) are
// those of the replica that started last.
func (r *Runtime) Run(ctx context.Context, flows ...Flow) error {
	runs, err := r.prepare(ctx, flows)
	if err != nil {
		return err
	}
	// Handlers run under workCtx, which outlives ctx by DrainTimeout.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	drained := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-drained:
			return
		}
		t := time.NewTimer(r.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			r.log.Warn().Dur("drain_timeout", r.cfg.DrainTimeout).Msg("drain timed out: cancelling running handlers")
			cancelWork()
		case <-drained:
		}
	}()
	var wg sync.WaitGroup
	for _, f := range runs {
		wg.Go(func() { r.consume(ctx, workCtx, f) })
	}
	wg.Wait()
	close(drained)
	// Acks, Naks and Terms are fire-and-forget: make sure the server has them
	// before the caller closes the connection.
	if err := r.js.Conn().FlushTimeout(replyTimeout); err != nil {
		r.log.Warn().Err(err).Msg("flush after drain; unacked messages are redelivered after ack wait")
	}
	return nil
}

func (r *Runtime) prepare(ctx context.Context, flows []Flow) ([]*flowRun, error) {
	if len(flows) == 0 {
		return nil, errors.New("workers: no flows to run")
	}
	seen := map[string]bool{}
	runs := make([]*flowRun, 0, len(flows))
	for _, f := range flows {
		switch {
		case !flowName.MatchString(f.Name):
			return nil, fmt.Errorf("flow %q: name must be letters, digits, '-' or '_'", f.Name)
		case seen[f.Name]:
			return nil, fmt.Errorf("flow %q: listed twice", f.Name)
		case len(f.Subjects) == 0 || f.Handler == nil:
			return nil, fmt.Errorf("flow %q: needs subjects and a handler", f.Name)
		}
		seen[f.Name] = true
		if f.Concurrency == 0 {
			f.Concurrency = r.cfg.Concurrency
		}
		if f.Concurrency < 1 || f.Concurrency > r.cfg.MaxAckPending {
			return nil, fmt.Errorf("flow %q: concurrency %d outside [1, max ack pending %d]", f.Name, f.Concurrency, r.cfg.MaxAckPending)
		}
		fr := &flowRun{Flow: f, metrics: r.metrics.forFlow(f.Name), log: r.log.With().Str("flow", f.Name).Logger()}
		if err := r.ensureConsumer(ctx, fr); err != nil {
			return nil, err
		}
		runs = append(runs, fr)
	}
	return runs, nil
}

// ensureConsumer creates or updates the flow's durable consumer. Replicas
// starting together race to create it; the loser's "already exists" is
// resolved by trying again, which then updates to the same configuration.
func (r *Runtime) ensureConsumer(ctx context.Context, f *flowRun) error {
	cfg := jetstream.ConsumerConfig{
		Durable:        f.Name,
		Description:    "worker flow " + f.Name,
		FilterSubjects: f.Subjects,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        r.cfg.AckWait,
		// The runtime dead-letters on its own counts (decide); the server's
		// bound is only a backstop above them.
		MaxDeliver:    r.cfg.MaxDeliverNotYet + deadLetterRetries,
		MaxAckPending: r.cfg.MaxAckPending,
	}
	var err error
	for range 5 {
		var c jetstream.Consumer
		if c, err = r.js.CreateOrUpdateConsumer(ctx, broker.InboxStream, cfg); err == nil {
			f.consumer = c
			return nil
		}
		if !wait(ctx, 100*time.Millisecond) {
			break
		}
	}
	return fmt.Errorf("flow %s: consumer on %s: %w", f.Name, broker.InboxStream, err)
}

// consume feeds f's messages to f.Concurrency workers until ctx is
// cancelled, then waits for the workers.
func (r *Runtime) consume(ctx, workCtx context.Context, f *flowRun) {
	work := make(chan jetstream.Msg)
	beats := newBeats(f.Concurrency)
	var workers sync.WaitGroup
	for i := range f.Concurrency {
		workers.Go(func() {
			for m := range work {
				r.process(workCtx, f, &beats.running[i], m)
			}
		})
	}
	stopBeating := beats.run(r.cfg.heartbeatEvery())
	defer func() {
		close(work)
		workers.Wait()
		stopBeating()
	}()
	// The callback blocks until a worker takes the message: the client
	// counts a message as buffered until then and asks for more only as
	// workers take them, so the buffer stays at prefetch per handler
	// (maxBuffered at most).
	dispatch := func(m jetstream.Msg) {
		if ctx.Err() != nil {
			r.handBack(f, m)
			return
		}
		select {
		case work <- m: // a worker was waiting: no select over two channels
			return
		default:
		}
		select {
		case work <- m:
		case <-ctx.Done():
			r.handBack(f, m)
		}
	}
	for ctx.Err() == nil {
		cc, err := f.consumer.Consume(dispatch, jetstream.PullMaxMessages(min(prefetch*f.Concurrency, maxBuffered)),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				// A missed heartbeat, a reconnect or the consumer's leader
				// moving: the client pulls again. Seen, for the operator
				// reading a node's restart in the logs.
				f.log.Info().Err(err).Msg("consume interrupted; pulling again")
			}))
		if err == nil {
			// Drain hands the buffered messages to dispatch, which hands
			// them back; Closed follows once the buffer is empty.
			stop := context.AfterFunc(ctx, cc.Drain)
			<-cc.Closed()
			stop()
			if ctx.Err() != nil {
				return
			}
			f.log.Warn().Msg("consumer closed under the runtime; consuming again")
		} else {
			f.log.Warn().Err(err).Msg("cannot consume; trying again")
		}
		if !wait(ctx, reopenDelay) {
			return
		}
		if err := r.ensureConsumer(ctx, f); err != nil {
			f.log.Warn().Err(err).Msg("cannot recreate consumer")
		}
	}
}

// handBack returns a message this runtime will not finish, so another
// replica gets it now rather than after AckWait.
func (r *Runtime) handBack(f *flowRun, m jetstream.Msg) {
	if err := m.Nak(); err != nil {
		f.log.Warn().Err(err).Msg("hand back: nak failed; redelivered after ack wait")
	}
	f.metrics.outcome[outcomeDrained].Inc()
}

// wait waits d, or less if ctx is cancelled; it reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
