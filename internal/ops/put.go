package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/failure"
)

// PutOnce stores a finished record (an index entry) in one write; when key
// already exists the stored record stands and PutOnce does nothing.
func PutOnce[T any](ctx context.Context, s *Store, key, flow, step string, state T) error {
	now := s.now()
	data, err := json.Marshal(&Record[T]{Key: key, Flow: flow, Status: StatusDone, Step: step, Created: now, Updated: now, State: state})
	if err != nil {
		return failure.Permanent(fmt.Errorf("encode operation %s: %w", key, err))
	}
	if _, err := s.kv.Create(ctx, key, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return failure.Transient(fmt.Errorf("create operation %s: %w", key, err))
	}
	return nil
}
