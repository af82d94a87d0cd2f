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

// Amend changes the state of the finished record under key (an index entry)
// with change, which reports whether it changed anything. The write is a
// compare-and-set on the revision read: a concurrent amendment makes Amend
// read again and ask change again, so change sees what the other wrote.
func Amend[T any](ctx context.Context, s *Store, key string, change func(*T) bool) error {
	for range 3 {
		rec, err := Get[T](ctx, s, key)
		if err != nil {
			return err
		}
		if !change(&rec.State) {
			return nil
		}
		rec.Updated = s.now()
		data, err := json.Marshal(rec)
		if err != nil {
			return failure.Permanent(fmt.Errorf("encode operation %s: %w", key, err))
		}
		_, err = s.kv.Update(ctx, key, data, rec.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return failure.Transient(fmt.Errorf("write operation %s: %w", key, err))
		}
		return nil
	}
	return failure.NotYet(0, fmt.Errorf("amend operation %s: %w", key, ErrConflict))
}

// Remove deletes rec's key if it is still at the revision rec was read at;
// a key written since is a "not yet" ErrConflict: look again.
func Remove[T any](ctx context.Context, s *Store, rec *Record[T]) error {
	err := s.kv.Delete(ctx, rec.Key, jetstream.LastRevision(rec.Revision()))
	var api *jetstream.APIError
	if errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return failure.NotYet(claimSlack, fmt.Errorf("remove operation %s: %w", rec.Key, ErrConflict))
	}
	if err != nil {
		return failure.Transient(fmt.Errorf("remove operation %s: %w", rec.Key, err))
	}
	return nil
}
