package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/nats-io/nats.go/jetstream"
)

// Outcomes reads the front-end answer of checkout operations from their
// records, for the ingress (ingress.Outcomes). It reads only the record's
// outcome: the rest of the state (tokens) never leaves the store.
type Outcomes struct {
	store *ops.Store
	kv    jetstream.KeyValue
}

// NewOutcomes reads outcomes from the operation records in kv.
func NewOutcomes(store *ops.Store, kv jetstream.KeyValue) *Outcomes {
	return &Outcomes{store: store, kv: kv}
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

// Wait watches key until it has an outcome other than stale, or ctx ends
// (ok false). stale is the outcome the caller already had (a shopper action
// that a details call is completing), or nil.
func (o *Outcomes) Wait(ctx context.Context, key string, stale json.RawMessage) (json.RawMessage, bool, error) {
	w, err := o.kv.Watch(ctx, key)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil, false, nil
		case entry := <-w.Updates():
			if entry == nil { // initial values delivered; keep watching
				continue
			}
			if entry.Operation() != jetstream.KeyValuePut {
				continue
			}
			var rec ops.Record[outcomeOnly]
			if err := json.Unmarshal(entry.Value(), &rec); err != nil {
				return nil, false, err
			}
			out, ok, err := outcomeOf(&rec)
			if err != nil {
				return nil, false, err
			}
			if ok && !bytes.Equal(out, stale) {
				return out, true, nil
			}
		}
	}
}
