package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

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

// failedOutcome answers for an operation that stopped for good: a stable
// code and a short message. Why it stopped (the record's error, with
// Cleeng's or the gateway's words and what an operator must do) is for the
// operator's dead letter, never for the front-end.
var failedOutcome = json.RawMessage(`{"status":"failed","code":"failed","message":"the operation could not be completed; contact support"}`)

// Get reports whether key's operation exists and its outcome when it is
// known (final, waiting for the shopper, or failed), nil before.
func (o *Outcomes) Get(ctx context.Context, key string) (json.RawMessage, bool, error) {
	out, _, found, err := o.current(ctx, key)
	return out, found, err
}

// current reads key's operation: its outcome and whether it has one, and
// whether the operation exists.
func (o *Outcomes) current(ctx context.Context, key string) (out json.RawMessage, known, found bool, err error) {
	rec, err := ops.Get[outcomeOnly](ctx, o.store, key)
	if errors.Is(err, ops.ErrNotFound) {
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	out, known = outcomeOf(rec)
	return out, known, true, nil
}

func outcomeOf(rec *ops.Record[outcomeOnly]) (json.RawMessage, bool) {
	switch {
	case rec.Status == ops.StatusFailed:
		return failedOutcome, true
	case len(rec.State.Outcome) > 0 && string(rec.State.Outcome) != "null":
		return rec.State.Outcome, true
	}
	return nil, false
}

// AwaitingShopper finds the operation under prefix (an ops.Key) that waits
// for the shopper's action result, the latest one if several do, and its
// outcome: for a front-end that sends the result without naming the
// operation (Cleeng's MediaStore SDK finalizing a card update).
func (o *Outcomes) AwaitingShopper(ctx context.Context, prefix string) (key string, outcome json.RawMessage, found bool, err error) {
	keys, err := ops.InProgress(ctx, o.store, prefix)
	if err != nil {
		return "", nil, false, err
	}
	var latest time.Time
	for _, k := range keys {
		rec, err := ops.Get[outcomeOnly](ctx, o.store, k)
		if errors.Is(err, ops.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", nil, false, err
		}
		if out, known := outcomeOf(rec); known && awaitsShopper(out) && rec.Updated.After(latest) {
			key, outcome, found, latest = k, out, true, rec.Updated
		}
	}
	return key, outcome, found, nil
}

// awaitsShopper reports whether an outcome asks the shopper to act.
func awaitsShopper(out json.RawMessage) bool {
	var o struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(out, &o) == nil && o.Status == messages.StatusActionRequired
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
		out, ok, _, err := o.current(ctx, key)
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
