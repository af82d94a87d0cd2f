package gatewaytest

import (
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
)

// Recorder collects decoded gateway events. Safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	events  []gateways.Event
	changed chan struct{} // closed and replaced on every Add
}

// Add records an event.
func (r *Recorder) Add(ev gateways.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// Events returns a copy of the events so far.
func (r *Recorder) Events() []gateways.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gateways.Event(nil), r.events...)
}

// Wait returns the first event matching match, waiting up to timeout; it
// fails the test when none arrives.
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, what string, match func(gateways.Event) bool) gateways.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %s event within %s; events: %+v", what, timeout, r.Events())
			return gateways.Event{}
		}
	}
}
