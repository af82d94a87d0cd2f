package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/nats-io/nats.go/jetstream"
)

// Outcomes reads the front-end answer of checkout operations from their
// records, for the ingress (ingress.Outcomes). It reads only the record's
// outcome: the rest of the state (tokens) never leaves the store.
//
// Waiting calls share one KV watcher per process, on every key with a
// front-end outcome: a call costs a map entry and a channel, not a watcher
// (a consumer on the server and goroutines here) of its own.
type Outcomes struct {
	store *ops.Store
	kv    jetstream.KeyValue

	mu       sync.Mutex
	watching bool
	waiters  map[string]map[chan struct{}]struct{}
}

// NewOutcomes reads outcomes from the operation records in kv.
func NewOutcomes(store *ops.Store, kv jetstream.KeyValue) *Outcomes {
	return &Outcomes{store: store, kv: kv, waiters: map[string]map[chan struct{}]struct{}{}}
}

// outcomeOnly decodes just the outcome of any checkout record.
type outcomeOnly struct {
	Outcome json.RawMessage `json:"outcome"`
}

// failedOutcome answers for an operation that stopped for good.
type failedOutcome struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// Get returns the outcome of key when it is known: final, waiting for the
// shopper, or failed.
func (o *Outcomes) Get(ctx context.Context, key string) (json.RawMessage, bool, error) {
	rec, err := ops.Get[outcomeOnly](ctx, o.store, key)
	if errors.Is(err, ops.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return outcomeOf(rec)
}

func outcomeOf(rec *ops.Record[outcomeOnly]) (json.RawMessage, bool, error) {
	switch {
	case rec.Status == ops.StatusFailed:
		b, err := json.Marshal(failedOutcome{Status: "failed", Error: rec.Error})
		return b, true, err
	case len(rec.State.Outcome) > 0 && string(rec.State.Outcome) != "null":
		return rec.State.Outcome, true, nil
	}
	return nil, false, nil
}

// Wait returns the outcome of key once it is known and differs from stale
// (the outcome the caller already had: a shopper action that a details
// call is completing), or ok false when ctx ends first.
func (o *Outcomes) Wait(ctx context.Context, key string, stale json.RawMessage) (json.RawMessage, bool, error) {
	changed, err := o.subscribe(key)
	if err != nil {
		return nil, false, err
	}
	defer o.unsubscribe(key, changed)
	for {
		// Read after subscribing: a change between the two is not missed.
		out, ok, err := o.Get(ctx, key)
		if err != nil || (ok && !bytes.Equal(out, stale)) {
			return out, ok && err == nil, err
		}
		select {
		case <-ctx.Done():
			return nil, false, nil
		case <-changed:
		}
	}
}

// subscribe registers a waiter on key, starting the shared watcher if it
// is not running.
func (o *Outcomes) subscribe(key string) (chan struct{}, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.watching {
		w, err := o.kv.WatchFiltered(context.Background(), messages.OutcomeKeys(), jetstream.UpdatesOnly())
		if err != nil {
			return nil, err
		}
		o.watching = true
		go o.dispatch(w)
	}
	changed := make(chan struct{}, 1)
	if o.waiters[key] == nil {
		o.waiters[key] = map[chan struct{}]struct{}{}
	}
	o.waiters[key][changed] = struct{}{}
	return changed, nil
}

func (o *Outcomes) unsubscribe(key string, changed chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.waiters[key], changed)
	if len(o.waiters[key]) == 0 {
		delete(o.waiters, key)
	}
}

// dispatch tells the waiters of each changed key to look again, until the
// watcher ends (its connection closed); the next Wait starts another.
func (o *Outcomes) dispatch(w jetstream.KeyWatcher) {
	defer func() {
		o.mu.Lock()
		o.watching = false
		o.mu.Unlock()
	}()
	for entry := range w.Updates() {
		if entry == nil {
			continue
		}
		o.mu.Lock()
		for changed := range o.waiters[entry.Key()] {
			select {
			case changed <- struct{}{}:
			default: // already told
			}
		}
		o.mu.Unlock()
	}
}
