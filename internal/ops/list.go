package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/cleeng-connector/connector/internal/failure"
)

// InProgress lists the keys under prefix (a Key, matched with ".>") whose
// operation is still in progress: "is an authorisation of this subscription
// still running?".
func InProgress(ctx context.Context, s *Store, prefix string) ([]string, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, prefix+".>")
	if err != nil {
		return nil, failure.Transient(fmt.Errorf("list operations %s: %w", prefix, err))
	}
	defer func() { _ = lister.Stop() }()
	var keys []string
	for key := range lister.Keys() {
		rec, err := Get[struct{}](ctx, s, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Status == StatusInProgress {
			keys = append(keys, key)
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, failure.Transient(fmt.Errorf("list operations %s: %w", prefix, ctx.Err()))
	}
	return keys, nil
}
