package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/failure"
)

// claim is what a Record's writes and its Lease's renewals share: the
// revision and the bytes last stored. A renewal rewrites those bytes, never
// the Record, so it does not read the flow's State while the flow changes it.
type claim struct {
	mu     sync.Mutex
	rev    uint64
	stored []byte    // the record as last written or read
	until  time.Time // its lease as stored
	held   bool      // claimed here and not released: renewals extend it
}

func (c *claim) revision() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// Lease is the claim a holder has on a record, for renewing it from another
// goroutine (the worker runtime's heartbeat) while the holder goes on
// writing the record.
type Lease struct {
	store *Store
	key   string
	claim *claim
}

// Lease returns the claim r holds. Take it before handing it to another
// goroutine: it reads nothing of r afterwards.
func (r *Record[T]) Lease(s *Store) *Lease { return &Lease{store: s, key: r.Key, claim: r.claim} }

// Renew extends the lease to the store's lease from now, leaving Step and
// State as the holder last wrote them; the holder's next write goes on from
// the renewed revision. It does nothing once the holder has released the
// claim (Park, Finish, Fail).
//
// It returns a failure.NotYet ErrLost when another worker wrote the record
// (it took the claim over), or when the write failed and the lease has run
// out: either way another worker may now resume the operation, and the
// holder must stop. Any other failure is transient: the next renewal tries
// again before the lease runs out.
func (l *Lease) Renew(ctx context.Context) error {
	c := l.claim
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held {
		return nil
	}
	now := l.store.now()
	until := now.Add(l.store.lease)
	data, err := restamp(l.key, c.stored, until, now)
	if err != nil {
		return err
	}
	rev, err := l.store.kv.Update(ctx, l.key, data, c.rev)
	switch {
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		c.held = false
		return failure.NotYet(claimSlack, fmt.Errorf("operation %s: taken over: %w", l.key, ErrLost))
	case err != nil && !now.Before(c.until):
		c.held = false
		return failure.NotYet(claimSlack, fmt.Errorf("operation %s: lease ran out unrenewed (%v): %w", l.key, err, ErrLost))
	case err != nil:
		return failure.Transient(fmt.Errorf("renew operation %s: %w", l.key, err))
	}
	c.rev, c.stored, c.until = rev, data, until
	return nil
}

// Release gives the claim up and leaves the record as last stored, its Step
// and State: what a lease running out leaves, only sooner, so the next
// message about the operation resumes it at once. What the holder changed in
// State since its last write is not written: a step that failed after
// changing it (its own write of the step failed) is done again from the
// recorded State, never resumed from a half of it. It does nothing once the
// claim is released or lost.
func (r *Record[T]) Release(ctx context.Context, s *Store) error {
	c := r.claim
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held {
		return nil
	}
	data, err := restamp(r.Key, c.stored, time.Time{}, s.now())
	if err != nil {
		return err
	}
	rev, err := c.update(ctx, s, r.Key, data)
	if err != nil {
		return err
	}
	c.rev, c.stored, c.until, c.held = rev, data, time.Time{}, false
	return nil
}

// restamp is the stored record with its lease until (none when zero, as a
// Record encodes it) and updated now, its Step and State untouched.
func restamp(key string, stored []byte, until, now time.Time) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(stored, &fields); err != nil {
		return nil, failure.Permanent(fmt.Errorf("decode operation %s: %w", key, err))
	}
	delete(fields, "leaseUntil")
	if !until.IsZero() {
		fields["leaseUntil"], _ = json.Marshal(until) // a time always encodes
	}
	fields["updated"], _ = json.Marshal(now)
	data, err := json.Marshal(fields)
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("encode operation %s: %w", key, err))
	}
	return data, nil
}
