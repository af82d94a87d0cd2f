package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/nats-io/nats.go/jetstream"
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

// List returns every record under prefix (the key prefix and the keys
// below it, prefix.*), or every record in the store when prefix is empty,
// in key order. It reads the bucket's current values in one stream (a KV
// watch) rather than one request per key, for the operator's views
// (connector ops list, the console) of a bucket that holds weeks of records.
func List[T any](ctx context.Context, s *Store, prefix string) ([]*Record[T], error) {
	var w jetstream.KeyWatcher
	var err error
	if prefix == "" {
		w, err = s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	} else {
		w, err = s.kv.WatchFiltered(ctx, []string{prefix, prefix + ".>"}, jetstream.IgnoreDeletes())
	}
	if err != nil {
		return nil, fmt.Errorf("list operations %q: %w", prefix, err)
	}
	defer func() { _ = w.Stop() }()
	var recs []*Record[T]
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list operations %q: %w", prefix, ctx.Err())
		case entry, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list operations %q: the watch stopped early", prefix)
			}
			if entry == nil { // every current value has been delivered
				slices.SortFunc(recs, func(a, b *Record[T]) int { return strings.Compare(a.Key, b.Key) })
				return recs, nil
			}
			rec, err := decode[T](entry)
			if err != nil {
				return nil, err
			}
			recs = append(recs, rec)
		}
	}
}
