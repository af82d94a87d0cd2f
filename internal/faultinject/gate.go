package faultinject

import (
	"context"
	"sync"
)

// Gate holds whoever waits at it until it is opened: a test makes two calls
// overlap, or catches a system with work in flight, for certain, where
// added latency would only make it likely. Create it with NewGate; it is
// safe for concurrent use.
type Gate struct {
	open chan struct{}
	once sync.Once

	mu      sync.Mutex
	arrived int
}

// NewGate returns a closed gate.
func NewGate() *Gate { return &Gate{open: make(chan struct{})} }

// Wait counts the caller as arrived and blocks until the gate opens (nil)
// or ctx ends (its error).
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	g.arrived++
	g.mu.Unlock()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Arrived is how many callers have reached the gate so far, held or let through.
func (g *Gate) Arrived() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.arrived
}

// Open lets every caller held at the gate through, and every later one.
func (g *Gate) Open() { g.once.Do(func() { close(g.open) }) }
