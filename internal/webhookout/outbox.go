package webhookout

import (
	"context"
	"sync"
)

// Outbox sends webhooks in the background, each to the current target and
// re-sent under its Policy until accepted, until Close. Safe for concurrent
// use.
type Outbox struct {
	policy Policy
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	target Target
	closed bool
	// holdBack, when set, is asked at every Send whether to hold that
	// webhook back (see HoldBack).
	holdBack func() (<-chan struct{}, bool)
	// seq numbers the deliveries; inflight are those not ended yet, each
	// closed when it ends; heldBack, by key, those waiting for a later one.
	seq       uint64
	inflight  map[uint64]chan struct{}
	heldBack  map[string][]heldWebhook
	reordered int
}

// heldWebhook is a delivery held back until a later one of its key is accepted.
type heldWebhook struct {
	seq       uint64
	overtaken chan struct{}
}

// NewOutbox returns an outbox sending to t (which may have no URL yet).
func NewOutbox(p Policy, t Target) *Outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &Outbox{policy: p, ctx: ctx, cancel: cancel, target: t,
		inflight: map[uint64]chan struct{}{}, heldBack: map[string][]heldWebhook{}}
}

// SetTarget sets where webhooks go, including those still waiting to be
// accepted.
func (o *Outbox) SetTarget(t Target) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.target = t
}

// HoldBack sets what decides, at every Send, whether that webhook is held
// back to be delivered out of order (a fault a sandbox injects): when
// decide returns true, the webhook waits until a later one with the same
// key was accepted, or until the returned channel closes.
func (o *Outbox) HoldBack(decide func() (<-chan struct{}, bool)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.holdBack = decide
}

// Send starts sending body, a webhook about key (what it reports on: a
// payment, a purchase), and reports whether it started (false after
// Close). observe, when set, is called after every attempt, from the
// delivery's goroutine; the outbox holds no lock while it runs.
func (o *Outbox) Send(key string, body []byte, observe func(Attempt)) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.seq++
	seq, done := o.seq, make(chan struct{})
	o.inflight[seq] = done
	var release <-chan struct{}
	var overtaken chan struct{}
	if o.holdBack != nil {
		if r, held := o.holdBack(); held {
			release, overtaken = r, make(chan struct{})
			o.heldBack[key] = append(o.heldBack[key], heldWebhook{seq, overtaken})
		}
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer o.ended(seq, done)
		if overtaken != nil {
			select {
			case <-overtaken:
			case <-release:
				o.unhold(key, seq)
			case <-o.ctx.Done():
				return
			}
		}
		if o.policy.deliver(o.ctx, o.currentTarget, body, observe).Accepted {
			o.overtake(key, seq)
		}
	}()
	return true
}

// overtake releases the webhooks of key held back before delivery seq,
// which was accepted ahead of them.
func (o *Outbox) overtake(key string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	kept := o.heldBack[key][:0]
	for _, h := range o.heldBack[key] {
		if h.seq < seq {
			close(h.overtaken)
			o.reordered++
			continue
		}
		kept = append(kept, h)
	}
	if len(kept) == 0 {
		delete(o.heldBack, key)
		return
	}
	o.heldBack[key] = kept
}

// unhold forgets held-back delivery seq of key, released without being overtaken.
func (o *Outbox) unhold(key string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, h := range o.heldBack[key] {
		if h.seq == seq {
			o.heldBack[key] = append(o.heldBack[key][:i], o.heldBack[key][i+1:]...)
			break
		}
	}
	if len(o.heldBack[key]) == 0 {
		delete(o.heldBack, key)
	}
}

func (o *Outbox) ended(seq uint64, done chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.inflight, seq)
	close(done)
}

// Reordered is how many held-back webhooks were delivered after a later
// one of their key.
func (o *Outbox) Reordered() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reordered
}

// Settled waits until every delivery started so far has ended (accepted,
// out of attempts, or stopped by Close), or ctx ends (its error).
func (o *Outbox) Settled(ctx context.Context) error {
	o.mu.Lock()
	pending := make([]chan struct{}, 0, len(o.inflight))
	for _, done := range o.inflight {
		pending = append(pending, done)
	}
	o.mu.Unlock()
	for _, done := range pending {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (o *Outbox) currentTarget() Target {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.target
}

// Close stops every delivery and waits for them to end. Nothing is sent
// after Close returns.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closed = true // no delivery starts after this
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
}
