package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/nats-io/nats.go/jetstream"
)

// listTimeout bounds InProgress's listing. Its keys stream from an ordered
// consumer, and that stream can stop for good when a node dies; nats.go
// then waits for the rest until the context ends. Under a flow handler's
// timeout of minutes, the capture that asked would wait that long with its
// heartbeats keeping its message from every other worker. A subscription
// has a few operations: listing them takes milliseconds.
const listTimeout = 5 * time.Second

// InProgress lists the keys under prefix (a Key, matched with ".>") whose
// operation is still in progress: "is an authorisation of this subscription
// still running?". A listing cut short fails (transient): a partial list
// would answer "nothing is running" for an operation it never read.
func InProgress(ctx context.Context, s *Store, prefix string) ([]string, error) {
	listing, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	lister, err := s.kv.ListKeysFiltered(listing, prefix+".>")
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
	// nats.go ends the keys early, without an error, when the context ends.
	if err := listing.Err(); err != nil {
		return nil, failure.Transient(fmt.Errorf("list operations %s: %w", prefix, err))
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
