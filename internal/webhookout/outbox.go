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
}

// NewOutbox returns an outbox sending to t (which may have no URL yet).
func NewOutbox(p Policy, t Target) *Outbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &Outbox{policy: p, ctx: ctx, cancel: cancel, target: t}
}

// SetTarget sets where webhooks go, including those still waiting to be
// accepted.
func (o *Outbox) SetTarget(t Target) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.target = t
}

// Send starts sending body and reports whether it started (false after
// Close). observe, when set, is called after every attempt, from the
// delivery's goroutine; the outbox holds no lock while it runs.
func (o *Outbox) Send(body []byte, observe func(Attempt)) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		o.policy.deliver(o.ctx, o.currentTarget, body, observe)
	}()
	return true
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
