package workers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/telemetry"
)

// process runs the handler on one delivery and carries out decide's verdict.
func (r *Runtime) process(workCtx context.Context, f *flowRun, slot *beatSlot, jm jetstream.Msg) {
	msg := Message{Subject: jm.Subject(), Data: jm.Data(), Header: jm.Headers(), Attempt: 1}
	var seq uint64
	if meta, err := jm.Metadata(); err == nil {
		msg.Attempt, msg.Received, seq = meta.NumDelivered, meta.Timestamp, meta.Sequence.Stream
	}
	// Built per event, not per message: most messages log nothing.
	log := func(e *zerolog.Event) *zerolog.Event { return e.Uint64("seq", seq).Uint64("attempt", msg.Attempt) }

	// The delivery joins the trace of the request that stored the message.
	ctx, span := telemetry.StartConsume(workCtx, f.Name, msg.Subject, msg.Header, msg.Attempt)
	returned, herr := r.call(ctx, f, slot, jm, msg)
	if herr != nil && workCtx.Err() != nil {
		// Cut off by the drain timeout: the work is not done. Hand it back
		// without counting it as a failure of the flow.
		r.handBack(f, jm)
		telemetry.Verdict(span, outcomeDrained, herr)
		return
	}
	d := r.cfg.decide(herr, msg.Attempt, returned.Sub(msg.Received))
	switch d.action {
	case actAck:
		// Fire and forget: the flow's operation record already makes the
		// work once-only, so an ack lost on the way costs a redelivery after
		// AckWait that finds the operation done (DESIGN section 4).
		if err := jm.Ack(); err != nil {
			log(f.log.Error()).Err(err).Msg("ack failed")
			d.outcome = outcomeAckFailed
		}
	case actRetry:
		if err := jm.NakWithDelay(d.delay); err != nil {
			log(f.log.Warn()).Err(err).Msg("nak failed; redelivered after ack wait")
		}
		log(f.log.Debug()).Err(herr).Dur("delay", d.delay).Msg("redeliver later")
	case actDeadLetter:
		if err := r.deadLetter(f, jm, msg, seq, herr); err != nil {
			// Never lose a message: without its copy in the dead-letter
			// stream it stays in the inbox and is dead-lettered again.
			log(f.log.Error()).Err(err).AnErr("cause", herr).Msg("dead-letter failed; redeliver")
			if err := jm.NakWithDelay(r.cfg.retryDelay(msg.Attempt)); err != nil {
				log(f.log.Warn()).Err(err).Msg("nak failed; redelivered after ack wait")
			}
			d.outcome = outcomeDeadLetterFailed
			break
		}
		log(f.log.Warn()).Err(herr).Msg("dead-lettered")
	}
	// Counted once the server has the verdict, so a reader may see the
	// inbox empty a moment before the count; when Run returns, every
	// message it took has been counted.
	f.metrics.outcome[d.outcome].Inc()
	telemetry.Verdict(span, d.outcome, herr)
}

// call runs the handler with a timeout, InProgress heartbeats (beating in
// slot, the worker's) and metrics, and returns when the handler returned;
// a panic becomes an (unclassified, so transient) error. It reads the
// clock twice, when the handler starts and when it returns, for the
// deadline, the duration and the message's age: a read costs up to a
// third of a microsecond on a virtual machine's kvm-clock (0.35 µs
// measured on the 2-core machine), and a message took five.
func (r *Runtime) call(workCtx context.Context, f *flowRun, slot *beatSlot, jm jetstream.Msg, msg Message) (returned time.Time, err error) {
	start := time.Now()
	ctx := &handlerContext{parent: workCtx, deadline: start.Add(r.cfg.HandlerTimeout), beat: heartbeat{msg: jm}}
	slot.Store(&ctx.beat)
	f.metrics.inFlight.Inc()
	defer func() {
		returned = time.Now()
		took := returned.Sub(start)
		ctx.end(took >= r.cfg.HandlerTimeout)
		endBeat(slot, &ctx.beat)
		f.metrics.duration.Observe(took.Seconds())
		f.metrics.inFlight.Dec()
		if p := recover(); p != nil {
			err = fmt.Errorf("flow %s: handler panic: %v", f.Name, p)
		}
	}()
	return time.Time{}, f.Handler(ctx, msg)
}

// heartbeat tells the server every interval that a message is still being
// worked on, so AckWait only catches dead workers, and renews what the
// handler registered with OnHeartbeat (its operation claims), so those too
// outlive a long call and run out when the worker dies. The flow's beats
// ticker beats every running handler's heartbeat, so a handler costs no
// timer of its own.
type heartbeat struct {
	msg jetstream.Msg

	mu      sync.Mutex
	stopped bool
	beating bool
	renew   map[int]func(context.Context)
	nextID  int
}

type heartbeatKey struct{}

// handlerContext is a handler's context: its deadline, and its message's
// heartbeat for OnHeartbeat, in one allocation. The deadline's context
// (context.WithDeadline: a timer and a place among workCtx's children) is
// made when the handler first asks for more than its deadline or its
// heartbeat: a handler that returns without waiting on its context (a
// message the flow ignores, the no-op benchmark) never pays for it, and
// one that does sees exactly WithDeadline's context, cancelled at the
// deadline fixed when the call started.
type handlerContext struct {
	parent   context.Context
	deadline time.Time
	beat     heartbeat

	mu      sync.Mutex
	made    context.Context // nil until made
	cancel  context.CancelFunc
	ended   bool
	expired bool // ended past the deadline, before anything made the context
}

// ctx makes the deadline's context on first use. Made after the call
// ended, it is ended already, with the error WithTimeout's context would
// have had: the deadline's if it passed during the call, else canceled.
func (c *handlerContext) ctx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made == nil {
		if c.ended && !c.expired {
			c.made, c.cancel = context.WithCancel(c.parent)
		} else {
			c.made, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
		if c.ended {
			c.cancel()
		}
	}
	return c.made
}

// end cancels the context when the handler returns, as WithTimeout's
// cancel does: goroutines the handler left behind see it done. expired
// says the deadline had passed.
func (c *handlerContext) end(expired bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	if c.cancel != nil {
		c.cancel()
	} else {
		c.expired = expired
	}
}

func (c *handlerContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *handlerContext) Done() <-chan struct{} { return c.ctx().Done() }

func (c *handlerContext) Err() error { return c.ctx().Err() }

func (c *handlerContext) Value(key any) any {
	if key == (heartbeatKey{}) {
		return &c.beat
	}
	return c.ctx().Value(key)
}

// beat reports the message in progress, then runs the renewals, together
// bounded by one interval, so a beat is over before the next is due and the
// message is never more than two intervals without one, inside AckWait's
// three. A beat still under way when the next is due skips that one.
func (h *heartbeat) beat(every time.Duration) {
	h.mu.Lock()
	if h.stopped || h.beating {
		h.mu.Unlock()
		return
	}
	h.beating = true
	renewals := slices.Collect(maps.Values(h.renew))
	h.mu.Unlock()
	_ = h.msg.InProgress() // a lost heartbeat at worst lets AckWait redeliver
	ctx, cancel := context.WithTimeout(context.Background(), every)
	for _, renew := range renewals {
		renew(ctx)
	}
	cancel()
	h.mu.Lock()
	h.beating = false
	h.mu.Unlock()
}

func (h *heartbeat) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
}

// beats are the heartbeats of a flow's running handlers, a slot per worker:
// a worker puts its handler's heartbeat in its own slot and takes it out
// with an atomic store each, where a map shared by the workers took a lock
// for both, every message. A heartbeat's first beat comes within one
// interval of its start.
type beats struct{ running []beatSlot }

type beatSlot = atomic.Pointer[heartbeat]

func newBeats(workers int) *beats { return &beats{running: make([]beatSlot, workers)} }

// endBeat stops h and empties its slot: a beat the ticker started
// meanwhile finds h stopped.
func endBeat(slot *beatSlot, h *heartbeat) {
	h.stop()
	slot.Store(nil)
}

// run beats every running heartbeat every interval, each in a goroutine of
// its own so a slow renewal delays no other message, until stop is called.
func (b *beats) run(every time.Duration) (stop func()) {
	done := make(chan struct{})
	ticker := time.NewTicker(every)
	go func() {
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
			}
			for i := range b.running {
				if h := b.running[i].Load(); h != nil {
					go h.beat(every)
				}
			}
		}
	}()
	return func() { close(done) }
}

// OnHeartbeat runs renew with every heartbeat of the message whose handler
// ctx belongs to, until the returned stop is called; a beat already under
// way may still run it once after stop. A handler's operation claims are
// renewed this way, so they last exactly as long as the runtime keeps the
// message. The renewals of one beat share a context that ends before the
// next beat is due. Outside a handler the runtime called, OnHeartbeat does
// nothing.
func OnHeartbeat(ctx context.Context, renew func(context.Context)) (stop func()) {
	h, ok := ctx.Value(heartbeatKey{}).(*heartbeat)
	if !ok {
		return func() {}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.renew == nil {
		h.renew = map[int]func(context.Context){}
	}
	id := h.nextID
	h.nextID++
	h.renew[id] = renew
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.renew, id)
	}
}

// deadLetter publishes a copy of the delivery to dlq.<flow>, the payload
// byte for byte (or as the flow's Letter keeps it) with the original
// headers and the reason, waits for the stream's ack, and only then
// terminates the original.
func (r *Runtime) deadLetter(f *flowRun, jm jetstream.Msg, msg Message, seq uint64, cause error) error {
	data := msg.Data
	if f.Letter != nil {
		data = f.Letter(msg.Subject, data)
	}
	out := &nats.Msg{Subject: broker.SubjectDLQ + "." + f.Name, Data: data, Header: nats.Header{}}
	for k, v := range msg.Header {
		// Nats-* headers instruct the server (deduplication, expectations,
		// TTL); they belong to the original publish, not to this copy.
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			out.Header[k] = v
		}
	}
	out.Header.Set(HeaderFlow, f.Name)
	out.Header.Set(HeaderError, headerValue(cause.Error()))
	out.Header.Set(HeaderAttempts, strconv.FormatUint(msg.Attempt, 10))
	out.Header.Set(HeaderOriginalSubject, msg.Subject)
	if id := msg.Header.Get(jetstream.MsgIDHeader); id != "" {
		out.Header.Set(HeaderOriginalMsgID, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	// One copy per inbox message: if the Term below is lost and the message
	// is dead-lettered again, the DLQ's duplicate window drops the repeat.
	if _, err := r.js.PublishMsg(ctx, out, jetstream.WithMsgID(fmt.Sprintf("%s-%d", f.Name, seq))); err != nil {
		return fmt.Errorf("publish to %s: %w", out.Subject, err)
	}
	if err := jm.TermWithReason("dead-lettered"); err != nil {
		f.log.Warn().Err(err).Uint64("seq", seq).Msg("term after dead-letter failed; a repeat is deduplicated")
	}
	return nil
}

// headerValue makes an error text fit a header: one line, at most 1 KiB.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	const maxLen = 1024
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "")
	}
	return s
}
