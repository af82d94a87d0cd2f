package workers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/workers"
)

// ledger records, per message id, what the handlers did.
type ledger struct {
	mu        sync.Mutex
	calls     map[int]int
	succeeded map[int]int
	successes atomic.Int64
}

func newLedger() *ledger { return &ledger{calls: map[int]int{}, succeeded: map[int]int{}} }

// The message ids that fail: 5% transiently on their first call, 1% always.
func failsOnce(id int) bool   { return id%20 == 0 }
func failsAlways(id int) bool { return id%100 == 1 }

func tenKSubject(id int) (flow, subject string) {
	switch id % 3 {
	case 0:
		return "alpha", "cleeng.webhook.alpha"
	case 1:
		return "beta", "checkout.beta"
	}
	if id%2 == 0 {
		return "gamma", "gateway.test.gamma"
	}
	return "gamma", "gateway.test.gamma2"
}

// tenKPayload is binary, with bytes a careless copy would mangle.
func tenKPayload(id int) []byte {
	r := rand.New(rand.NewPCG(uint64(id), 7))
	p := fmt.Appendf(nil, "id=%d\r\n\x00", id)
	for range 48 {
		p = append(p, byte(r.UintN(256)))
	}
	return p
}

func (l *ledger) handler(tb testing.TB, flow string) workers.Handler {
	return func(_ context.Context, m workers.Message) error {
		id := atoi(tb, m.Header.Get("Test-Id"))
		if want, subject := tenKSubject(id); want != flow || subject != m.Subject {
			tb.Errorf("message %d on %s reached flow %s, want %s", id, m.Subject, flow, want)
		}
		if !bytes.Equal(m.Data, tenKPayload(id)) {
			tb.Errorf("message %d: payload changed", id)
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls[id]++
		switch {
		case failsAlways(id):
			return failure.Permanentf("bad payload %d", id)
		case failsOnce(id) && l.calls[id] == 1:
			return failure.Transient(errors.New("gateway timeout"))
		}
		l.succeeded[id]++
		l.successes.Add(1)
		return nil
	}
}

// holdingHandlers hold every message their handlers get until release:
// a replica caught with work in flight. They record the ids they held.
type holdingHandlers struct {
	tb       testing.TB
	mu       sync.Mutex
	held     []int
	released chan struct{}
}

func newHoldingHandlers(tb testing.TB) *holdingHandlers {
	return &holdingHandlers{tb: tb, released: make(chan struct{})}
}

func (h *holdingHandlers) wrap(next workers.Handler) workers.Handler {
	return func(ctx context.Context, m workers.Message) error {
		id := atoi(h.tb, m.Header.Get("Test-Id"))
		h.mu.Lock()
		h.held = append(h.held, id)
		h.mu.Unlock()
		<-h.released
		return next(ctx, m)
	}
}

func (h *holdingHandlers) release() { close(h.released) }

func (h *holdingHandlers) heldIDs() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.held)
}

// TestRuntime_TenThousandMessagesAckedOnceAcrossReplicasAndSigterm runs
// three replicas over 10k messages of three flows and SIGTERMs one of them
// while it holds messages in its handlers and the others still have work:
// the held messages are finished by its drain (acked once, not redelivered),
// what it had buffered goes to the other replicas, and every message is
// handled once.
func TestRuntime_TenThousandMessagesAckedOnceAcrossReplicasAndSigterm(t *testing.T) {
	t.Parallel()
	const total = 10_000
	b := openBroker(t)
	led := newLedger()
	cfg := workers.Config{
		Concurrency:  8,
		Schedule:     []time.Duration{10 * time.Millisecond},
		MaxDeliver:   5,
		AckWait:      30 * time.Second,
		DrainTimeout: time.Minute,
	}
	flows := func(wrap func(workers.Handler) workers.Handler) []workers.Flow {
		return []workers.Flow{
			{Name: "alpha", Subjects: []string{"cleeng.webhook.alpha"}, Handler: wrap(led.handler(t, "alpha"))},
			{Name: "beta", Subjects: []string{"checkout.beta"}, Handler: wrap(led.handler(t, "beta")), Concurrency: 4},
			{Name: "gamma", Subjects: []string{"gateway.test.gamma", "gateway.test.gamma2"}, Handler: wrap(led.handler(t, "gamma"))},
		}
	}
	const heldByStopped = 8 + 4 + 8 // every handler slot of the replica that is stopped
	stopped := newHoldingHandlers(t)
	var replicas []*instance
	var registries []*prometheus.Registry
	for i := range 3 {
		reg := prometheus.NewRegistry()
		registries = append(registries, reg)
		replicaCfg := cfg
		replicaCfg.Metrics = reg
		wrap := func(h workers.Handler) workers.Handler { return h }
		if i == 1 {
			wrap = stopped.wrap
		}
		replicas = append(replicas, start(t, connect(t, b), replicaCfg, flows(wrap)...))
	}

	pub := connect(t, b)
	msgs := make([]*nats.Msg, total)
	for id := range total {
		_, subject := tenKSubject(id)
		msgs[id] = &nats.Msg{Subject: subject, Data: tenKPayload(id),
			Header: header("Test-Id", fmt.Sprint(id), jetstream.MsgIDHeader, fmt.Sprintf("m-%d", id))}
	}
	publishAll(t, pub, msgs)

	// SIGTERM replica 1 once every one of its handlers holds a message, while
	// the inbox still holds work beyond those.
	eventually(t, 2*time.Minute, "replica 1 holding a message in every handler", func() bool { return len(stopped.heldIDs()) == heldByStopped })
	if left := streamMsgs(t, pub, broker.InboxStream); left <= heldByStopped {
		t.Fatalf("only %d messages left when replica 1 was stopped: the drain would not be mid-run", left)
	}
	replicas[1].stop()
	stopped.release()
	replicas[1].stopAndWait(t, 2*time.Minute)
	held := stopped.heldIDs()

	wantDLQ := 0
	for id := range total {
		if failsAlways(id) {
			wantDLQ++
		}
	}
	eventually(t, 5*time.Minute, "every message acked or dead-lettered", func() bool {
		return led.successes.Load() == int64(total-wantDLQ) &&
			streamMsgs(t, pub, broker.DLQStream) == uint64(wantDLQ) &&
			streamMsgs(t, pub, broker.InboxStream) == 0
	})
	// Outcomes are counted once the server confirmed the ack, after the
	// inbox already shows it: read them once every Run has returned, which
	// is once every handler's outcome is counted.
	for _, r := range replicas {
		r.stopAndWait(t, 2*time.Minute)
	}

	led.mu.Lock()
	for id := range total {
		switch {
		case failsAlways(id) && led.succeeded[id] != 0:
			t.Errorf("message %d: permanent failure succeeded", id)
		case !failsAlways(id) && led.succeeded[id] != 1:
			t.Errorf("message %d: handled successfully %d times, want once", id, led.succeeded[id])
		case failsOnce(id) && led.calls[id] < 2:
			t.Errorf("message %d: failed transiently but handled %d times", id, led.calls[id])
		}
	}
	for _, id := range held {
		// A message the drain finished was acked (or retried, or
		// dead-lettered) by replica 1: it never reached another replica.
		if want := map[bool]int{true: 2, false: 1}[failsOnce(id)]; led.calls[id] != want {
			t.Errorf("message %d, held by replica 1 when it was stopped: handled %d times, want %d", id, led.calls[id], want)
		}
	}
	led.mu.Unlock()

	stoppedOutcomes := outcomes(t, registries[1])
	if finished := stoppedOutcomes["acked"] + stoppedOutcomes["retried"] + stoppedOutcomes["dead_lettered"]; finished < heldByStopped {
		t.Errorf("replica 1 finished %d messages in its drain, want the %d it held: %v", finished, heldByStopped, stoppedOutcomes)
	}
	got := map[string]int{}
	for _, reg := range registries {
		for outcome, n := range outcomes(t, reg) {
			got[outcome] += n
		}
	}
	if got["acked"] != total-wantDLQ || got["dead_lettered"] != wantDLQ || got["retried"] != total/20 ||
		got["ack_failed"] != 0 || got["dead_letter_failed"] != 0 {
		t.Errorf("outcomes %v, want %d acked, %d dead-lettered, %d retried, no failures", got, total-wantDLQ, wantDLQ, total/20)
	}
	t.Logf("outcomes %v; replica 1, stopped holding %d messages: %v", got, len(held), stoppedOutcomes)

	seen := map[int]bool{}
	for _, m := range deadLetters(t, pub) {
		id := atoi(t, m.Header.Get("Test-Id"))
		flow, subject := tenKSubject(id)
		switch {
		case !failsAlways(id) || seen[id]:
			t.Errorf("dead letter for message %d (seen before: %v)", id, seen[id])
		case !bytes.Equal(m.Data, tenKPayload(id)):
			t.Errorf("dead letter %d: payload %q, want the original byte for byte", id, m.Data)
		case m.Subject != "dlq."+flow || m.Header.Get(workers.HeaderFlow) != flow:
			t.Errorf("dead letter %d: subject %s flow %q, want flow %s", id, m.Subject, m.Header.Get(workers.HeaderFlow), flow)
		case m.Header.Get(workers.HeaderError) != fmt.Sprintf("bad payload %d", id):
			t.Errorf("dead letter %d: error %q", id, m.Header.Get(workers.HeaderError))
		case m.Header.Get(workers.HeaderOriginalSubject) != subject:
			t.Errorf("dead letter %d: original subject %q, want %s", id, m.Header.Get(workers.HeaderOriginalSubject), subject)
		case m.Header.Get(workers.HeaderOriginalMsgID) != fmt.Sprintf("m-%d", id):
			t.Errorf("dead letter %d: original msg id %q", id, m.Header.Get(workers.HeaderOriginalMsgID))
		case atoi(t, m.Header.Get(workers.HeaderAttempts)) < 1:
			t.Errorf("dead letter %d: attempts %q", id, m.Header.Get(workers.HeaderAttempts))
		}
		seen[id] = true
	}
}

func TestRuntime_RedeliversAfterScheduledDelays(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	schedule := []time.Duration{40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond}
	var mu sync.Mutex
	var at []time.Time
	var attempts []uint64
	handler := func(_ context.Context, m workers.Message) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		attempts = append(attempts, m.Attempt)
		if m.Attempt <= uint64(len(schedule)) {
			return failure.Transient(errors.New("try again"))
		}
		return nil
	}
	js := connect(t, b)
	start(t, js, workers.Config{Schedule: schedule}, workers.Flow{Name: "sched", Subjects: []string{"checkout.sched"}, Handler: handler})
	publish(t, js, "checkout.sched", []byte("x"), nil)
	eventually(t, time.Minute, "message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })

	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(attempts) != "[1 2 3 4]" {
		t.Fatalf("attempts %v, want [1 2 3 4]", attempts)
	}
	for i, d := range schedule {
		if gap := at[i+1].Sub(at[i]); gap < d {
			t.Errorf("delivery %d came %v after delivery %d, want at least %v", i+2, gap, i+1, d)
		}
	}
}

func TestRuntime_MaxDeliverExhaustionDeadLetters(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	var calls atomic.Int32
	js := connect(t, b)
	start(t, js, workers.Config{Schedule: []time.Duration{5 * time.Millisecond}, MaxDeliver: 3},
		workers.Flow{Name: "exhaust", Subjects: []string{"checkout.exhaust"}, Handler: func(context.Context, workers.Message) error {
			calls.Add(1)
			return errors.New("gateway down") // unclassified: transient
		}})
	publish(t, js, "checkout.exhaust", []byte("payload"), header("Trace", "t-1"))
	eventually(t, time.Minute, "message dead-lettered", func() bool { return streamMsgs(t, js, broker.DLQStream) == 1 })
	eventually(t, time.Minute, "inbox emptied", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })

	m := deadLetters(t, js)[0]
	if got := m.Header.Get(workers.HeaderAttempts); got != "3" || calls.Load() != 3 {
		t.Errorf("attempts header %q, handler calls %d, want 3 and 3", got, calls.Load())
	}
	if m.Header.Get(workers.HeaderError) != "gateway down" || m.Header.Get("Trace") != "t-1" || string(m.Data) != "payload" {
		t.Errorf("dead letter %q with headers %v", m.Data, m.Header)
	}
}

func TestRuntime_NotYetOutlastsMaxDeliver(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	var last atomic.Uint64
	js := connect(t, b)
	reg := prometheus.NewRegistry()
	// A handler timeout of 40 s lets a budget of 6 cover the deliveries spent
	// behind a live claim (ceil(40 s / 20 s) + 1 = 3, twice over).
	in := start(t, js, workers.Config{Schedule: []time.Duration{time.Hour}, MaxDeliver: 2, MaxDeliverNotYet: 6, HandlerTimeout: 40 * time.Second, Metrics: reg},
		workers.Flow{Name: "notyet", Subjects: []string{"checkout.notyet"}, Handler: func(_ context.Context, m workers.Message) error {
			last.Store(m.Attempt)
			if m.Attempt < 4 {
				// The wait named by the error beats the (hour-long) schedule.
				return failure.NotYet(5*time.Millisecond, errors.New("authorisation in flight"))
			}
			return nil
		}})
	publish(t, js, "checkout.notyet", []byte("capture"), nil)
	eventually(t, time.Minute, "message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if last.Load() != 4 || streamMsgs(t, js, broker.DLQStream) != 0 {
		t.Errorf("last attempt %d, dead letters %d; want success on attempt 4 and none", last.Load(), streamMsgs(t, js, broker.DLQStream))
	}
	in.stopAndWait(t, time.Minute) // every outcome is counted once Run returned
	if got := outcomes(t, reg); got["not_yet"] != 3 || got["acked"] != 1 {
		t.Errorf("outcomes %v, want 3 not_yet and 1 acked", got)
	}
}

func TestRuntime_DeadLetterPublishFailureKeepsMessage(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	if err := js.DeleteStream(context.Background(), broker.DLQStream); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	start(t, js, workers.Config{Schedule: []time.Duration{20 * time.Millisecond}, Metrics: reg},
		workers.Flow{Name: "dlqdown", Subjects: []string{"checkout.dlqdown"}, Handler: func(context.Context, workers.Message) error {
			return failure.Permanentf("unknown paymentMethodId")
		}})
	publish(t, js, "checkout.dlqdown", []byte("keep me"), nil)
	eventually(t, time.Minute, "a failed dead-letter", func() bool { return outcomes(t, reg)["dead_letter_failed"] >= 1 })
	if n := streamMsgs(t, js, broker.InboxStream); n != 1 {
		t.Fatalf("inbox holds %d messages after a failed dead-letter, want 1", n)
	}
	if _, err := js.CreateStream(context.Background(), broker.DLQConfig(broker.Options{})); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "message dead-lettered", func() bool {
		return streamMsgs(t, js, broker.DLQStream) == 1 && streamMsgs(t, js, broker.InboxStream) == 0
	})
	if m := deadLetters(t, js)[0]; string(m.Data) != "keep me" || atoi(t, m.Header.Get(workers.HeaderAttempts)) < 2 {
		t.Errorf("dead letter %q after %s attempts", m.Data, m.Header.Get(workers.HeaderAttempts))
	}
}

func TestRuntime_DrainAcksInFlightHandlerAfterCancel(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	started, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	reg := prometheus.NewRegistry()
	in := start(t, js, workers.Config{DrainTimeout: 20 * time.Second, Metrics: reg},
		workers.Flow{Name: "drain", Subjects: []string{"checkout.drain"}, Handler: func(ctx context.Context, _ workers.Message) error {
			close(started)
			<-release
			returned.Store(true)
			return ctx.Err() // nil unless the drain cut it off
		}})
	publish(t, js, "checkout.drain", []byte("work"), nil)
	<-started
	in.stop()
	close(release)
	in.stopAndWait(t, time.Minute)
	if !returned.Load() {
		t.Fatal("Run returned before its in-flight handler")
	}
	if n := streamMsgs(t, js, broker.InboxStream); n != 0 {
		t.Errorf("inbox holds %d messages, want the drained one acked", n)
	}
	if got := outcomes(t, reg); got["acked"] != 1 {
		t.Errorf("outcomes %v, want 1 acked", got)
	}
}

func TestRuntime_DrainTimeoutLeavesCutOffWorkUnacked(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	started := make(chan struct{})
	reg := prometheus.NewRegistry()
	in := start(t, js, workers.Config{DrainTimeout: 100 * time.Millisecond, Metrics: reg},
		workers.Flow{Name: "cutoff", Subjects: []string{"checkout.cutoff"}, Handler: func(ctx context.Context, _ workers.Message) error {
			close(started)
			<-ctx.Done() // a call that outlives the drain
			return ctx.Err()
		}})
	publish(t, js, "checkout.cutoff", []byte("unfinished"), nil)
	<-started
	in.stopAndWait(t, time.Minute)
	if got := outcomes(t, reg); got["acked"] != 0 || got["drained"] != 1 || got["retried"] != 0 {
		t.Errorf("outcomes %v, want the cut-off message handed back, not acked or counted as a failure", got)
	}

	// Another replica gets it at once.
	var attempt atomic.Uint64
	start(t, connect(t, b), workers.Config{}, workers.Flow{Name: "cutoff", Subjects: []string{"checkout.cutoff"},
		Handler: func(_ context.Context, m workers.Message) error {
			if string(m.Data) == "unfinished" {
				attempt.Store(m.Attempt)
			}
			return nil
		}})
	eventually(t, time.Minute, "redelivered and acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if attempt.Load() != 2 {
		t.Errorf("redelivered as attempt %d, want 2", attempt.Load())
	}
}

func TestRuntime_HeartbeatKeepsLongHandlerExclusive(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	// Heartbeats go out every AckWait/3: a busy machine may delay one by
	// much of that and still not let AckWait pass without one.
	const ackWait = time.Second
	var calls atomic.Int32
	cfg := workers.Config{AckWait: ackWait}
	handler := func(ctx context.Context, _ workers.Message) error {
		calls.Add(1)
		select { // a gateway call three times longer than AckWait
		case <-time.After(3 * ackWait):
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	flow := workers.Flow{Name: "slow", Subjects: []string{"checkout.slow"}, Handler: handler}
	js := connect(t, b)
	start(t, js, cfg, flow)
	start(t, connect(t, b), cfg, flow) // a second replica that would get a redelivery
	publish(t, js, "checkout.slow", []byte("long"), nil)
	eventually(t, time.Minute, "message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if calls.Load() != 1 {
		t.Errorf("handler called %d times, want once: heartbeats must prevent redelivery", calls.Load())
	}
}

// TestRuntime_HeartbeatRenewsWhatTheHandlerRegistered: a handler's claims
// are renewed with its message's heartbeat, each renewal bounded by a
// deadline, for as long as the handler runs.
func TestRuntime_HeartbeatRenewsWhatTheHandlerRegistered(t *testing.T) {
	b := openBroker(t)
	var renewals atomic.Int32
	thirdRenewal := make(chan struct{})
	handler := func(ctx context.Context, _ workers.Message) error {
		stop := workers.OnHeartbeat(ctx, func(beat context.Context) {
			if _, bounded := beat.Deadline(); !bounded {
				return
			}
			if renewals.Add(1) == 3 {
				close(thirdRenewal)
			}
		})
		defer stop()
		select { // a call outlasting three heartbeats
		case <-thirdRenewal:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	js := connect(t, b)
	start(t, js, workers.Config{AckWait: 300 * time.Millisecond},
		workers.Flow{Name: "renewing", Subjects: []string{"checkout.renewing"}, Handler: handler})
	publish(t, js, "checkout.renewing", []byte("long call"), nil)
	eventually(t, 10*time.Second, "message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if n := renewals.Load(); n < 3 {
		t.Errorf("%d bounded renewals, want at least 3", n)
	}
}

// TestRuntime_HandlerContextEndsAtTimeoutAndOnReturn: a handler's context
// carries HandlerTimeout as its deadline and ends there, whether the
// handler waits on Done or only asks Err; and it ends when the handler
// returns, so work the handler left running with it stops, even when the
// handler never looked at it.
func TestRuntime_HandlerContextEndsAtTimeoutAndOnReturn(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	const timeout = 50 * time.Millisecond
	type call struct {
		late bool // the deadline later than HandlerTimeout after the call began
		err  error
	}
	calls := make(chan call, 2)
	start(t, js, workers.Config{HandlerTimeout: timeout, Schedule: []time.Duration{time.Hour}},
		workers.Flow{Name: "timed", Subjects: []string{"checkout.timed.>"}, Handler: func(ctx context.Context, m workers.Message) error {
			began := time.Now()
			deadline, ok := ctx.Deadline()
			if !ok {
				t.Errorf("%s: no deadline", m.Subject)
			}
			if m.Subject == "checkout.timed.done" {
				<-ctx.Done()
			} else {
				for ctx.Err() == nil {
					runtime.Gosched()
				}
			}
			calls <- call{late: deadline.After(began.Add(timeout)), err: ctx.Err()}
			return nil
		}})
	left := make(chan context.Context, 1)
	start(t, js, workers.Config{}, workers.Flow{Name: "returning", Subjects: []string{"checkout.returning"},
		Handler: func(ctx context.Context, _ workers.Message) error {
			left <- ctx // and return without looking at it
			return nil
		}})
	for _, s := range []string{"timed.done", "timed.err", "returning"} {
		publish(t, js, "checkout."+s, nil, nil)
	}
	for range 2 {
		c := <-calls
		if c.late {
			t.Errorf("deadline more than the handler timeout %v after the call began", timeout)
		}
		if !errors.Is(c.err, context.DeadlineExceeded) {
			t.Errorf("context ended with %v, want the deadline exceeded", c.err)
		}
	}
	ctx := <-left
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the context of a returned handler is not done")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("context of a returned handler: %v, want canceled", ctx.Err())
	}
}

func TestRuntime_PanicIsRetriedNotFatal(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	var calls atomic.Int32
	start(t, js, workers.Config{Schedule: []time.Duration{5 * time.Millisecond}},
		workers.Flow{Name: "panicky", Subjects: []string{"checkout.panicky"}, Handler: func(context.Context, workers.Message) error {
			if calls.Add(1) == 1 {
				panic("nil map")
			}
			return nil
		}})
	publish(t, js, "checkout.panicky", []byte("x"), nil)
	eventually(t, time.Minute, "message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if calls.Load() != 2 {
		t.Errorf("handler called %d times, want 2", calls.Load())
	}
}

// TestRuntime_ConsumesAgainAfterItsConsumerIsDeleted: an operator (or a
// stream restored from a backup) removing a flow's consumer stops nothing
// for good: the runtime creates it again and handles what came meanwhile.
func TestRuntime_ConsumesAgainAfterItsConsumerIsDeleted(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	js := connect(t, b)
	var handled atomic.Int32
	start(t, js, workers.Config{}, workers.Flow{Name: "deleted", Subjects: []string{"checkout.deleted"},
		Handler: func(context.Context, workers.Message) error {
			handled.Add(1)
			return nil
		}})
	publish(t, js, "checkout.deleted", []byte("before"), nil)
	eventually(t, time.Minute, "first message acked", func() bool { return streamMsgs(t, js, broker.InboxStream) == 0 })
	if err := js.DeleteConsumer(context.Background(), broker.InboxStream, "deleted"); err != nil {
		t.Fatal(err)
	}
	publish(t, js, "checkout.deleted", []byte("after"), nil)
	eventually(t, time.Minute, "message stored after the deletion acked", func() bool {
		return streamMsgs(t, js, broker.InboxStream) == 0
	})
	if handled.Load() != 2 {
		t.Errorf("handler called %d times, want 2", handled.Load())
	}
}

func TestRuntime_RejectsInvalidFlows(t *testing.T) {
	t.Parallel()
	b := openBroker(t)
	rt, err := workers.New(connect(t, b), workers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, workers.Message) error { return nil }
	for _, flows := range [][]workers.Flow{
		nil,
		{{Name: "has.dot", Subjects: []string{"checkout.a"}, Handler: noop}},
		{{Name: "a", Subjects: []string{"checkout.a"}, Handler: noop}, {Name: "a", Subjects: []string{"checkout.b"}, Handler: noop}},
		{{Name: "nohandler", Subjects: []string{"checkout.a"}}},
		// The inbox is a work queue: two flows cannot share a subject.
		{{Name: "x", Subjects: []string{"checkout.x"}, Handler: noop}, {Name: "y", Subjects: []string{"checkout.*"}, Handler: noop}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := rt.Run(ctx, flows...)
		cancel()
		if err == nil || strings.Contains(err.Error(), "context") {
			t.Errorf("Run(%v) = %v, want a configuration error", flows, err)
		}
	}
}
