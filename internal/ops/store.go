package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/telemetry"
)

// Status of an operation.
type Status string

const (
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
	StatusFailed     Status = "failed"
)

var (
	// ErrNotFound: no record under the key (never claimed, or expired).
	ErrNotFound = errors.New("operation record not found")
	// ErrClaimed: another worker holds a live claim. Returned classified
	// failure.NotYet, with the time left on its lease as the retry hint.
	ErrClaimed = errors.New("operation claimed by another worker")
	// ErrConflict: the record changed since it was read (another worker took
	// it over). Returned classified failure.NotYet, to look again at once:
	// the caller must stop, and the redelivery sees the new holder's claim
	// and how long it lasts.
	ErrConflict = errors.New("operation record changed by another worker")
	// ErrFinished: a write to a record that is already done or failed.
	ErrFinished = errors.New("operation record is finished")
	// ErrLost: the claim passed to another worker, or ran out while it could
	// not be renewed, while its holder still worked. Returned classified
	// failure.NotYet by Lease.Renew: the holder must stop, since another
	// worker may now resume the operation.
	ErrLost = errors.New("operation claim lost")
)

// DefaultLease is how long a claim stays exclusive without a renewal: the
// worker runtime's default AckWait. Workers use their runtime's
// (workers.Runtime.ClaimLease) and renew it with every heartbeat.
const DefaultLease = 30 * time.Second

// claimSlack is added to the time left on a live claim's lease in the retry
// hint of ErrClaimed, so the next look comes after the lease can have run
// out rather than just before.
const claimSlack = 250 * time.Millisecond

// Record is one business operation. State holds the flow's step results
// (Cleeng order id, gateway reference, ...), saved before the next step runs.
type Record[T any] struct {
	Key    string `json:"key"`
	Flow   string `json:"flow"`
	Status Status `json:"status"`
	// Step is the last step recorded by Save, Finish or Fail.
	Step string `json:"step,omitempty"`
	// Error is the reason given to Fail.
	Error string `json:"error,omitempty"`
	// Owner is the claim's holder; every Claim gets a fresh owner id.
	Owner string `json:"owner,omitempty"`
	// LeaseUntil: until then no other worker may take the claim over.
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	// History holds the earlier attempts, oldest first: each failed and was
	// re-opened by Reopen. The current attempt is number len(History)+1.
	History []PastAttempt `json:"history,omitempty"`
	State   T             `json:"state"`

	// claim is shared with the Lease that renews it from another goroutine.
	claim *claim
}

// Held reports whether r holds its operation's claim: claimed or taken over
// here, and neither released (Park, Finish, Fail) nor lost since.
func (r *Record[T]) Held() bool {
	r.claim.mu.Lock()
	defer r.claim.mu.Unlock()
	return r.claim.held
}

// Revision is the KV revision the record was read, written or renewed at.
func (r *Record[T]) Revision() uint64 { return r.claim.revision() }

// Store reads and writes records in a KV bucket (broker.Broker.Ops, or
// broker.Broker.Index for index entries).
type Store struct {
	kv        jetstream.KeyValue
	lease     time.Duration
	claimWait time.Duration
	now       func() time.Time
	host      string
}

// Option configures a Store.
type Option func(*Store)

// WithLease sets how long a claim, a Save or a renewal keeps the record
// exclusive. It must exceed the longest pause between two renewals.
func WithLease(d time.Duration) Option { return func(s *Store) { s.lease = d } }

// WithClaimWait sets how long Claim waits for a live claim to be released
// before it answers ErrClaimed (DefaultClaimWait).
func WithClaimWait(d time.Duration) Option { return func(s *Store) { s.claimWait = d } }

// WithClock replaces time.Now (tests of leases do not sleep).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// NewStore returns a store on kv with a DefaultLease.
func NewStore(kv jetstream.KeyValue, opts ...Option) *Store {
	host, _ := os.Hostname()
	s := &Store{kv: kv, lease: DefaultLease, claimWait: DefaultClaimWait, now: time.Now, host: host}
	for _, o := range opts {
		o(s)
	}
	return s
}

// newOwner names one claim: the host, for people reading `ops show`, and a
// random part, so two claims from one process are different owners.
func (s *Store) newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return s.host + "-" + hex.EncodeToString(b[:])
}

// Claim takes the operation key for flow:
//   - absent: creates it in progress, owned by a fresh owner id;
//   - done or failed: returns it as stored, and the caller answers with the
//     stored outcome instead of repeating the operation;
//   - in progress under a live lease: waits up to the store's claim wait
//     (DefaultClaimWait) for the holder to release or finish it (a
//     gateway's notification often arrives while the call it confirms is
//     still being recorded), then looks again; past that, a failure.NotYet
//     ErrClaimed whose retry hint is the time left on the lease (plus
//     claimSlack): the holder renews it while it lives, so the next look
//     either finds the operation released or finished, or finds a dead
//     holder's lease run out;
//   - in progress with an expired lease (its worker died) or none (parked):
//     takes it over with a compare-and-set, keeping Step and State so the
//     flow resumes; a worker losing that race looks again and finds the
//     winner's live claim.
func Claim[T any](ctx context.Context, s *Store, key, flow string) (*Record[T], error) {
	owner := s.newOwner()
	var waitUntil time.Time // set at the first sight of a live claim
	var cur *Record[T]      // the record as last read; nil: create it
	// A record can vanish between the failed create and the read (expiry,
	// an operator's delete): then creating it again is right.
	for races := 0; races < 3; {
		if cur == nil {
			rec, err := create[T](ctx, s, key, flow, owner)
			if rec != nil || err != nil {
				return rec, err
			}
			cur, err = Get[T](ctx, s, key)
			if errors.Is(err, ErrNotFound) {
				races++
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		if cur.Flow != flow {
			return nil, failure.Permanentf("operation %s belongs to flow %q, not %q", key, cur.Flow, flow)
		}
		if cur.Status != StatusInProgress {
			return cur, nil
		}
		now := s.now() // the record may have been written after the first reading
		if left := cur.LeaseUntil.Sub(now); left > 0 {
			if waitUntil.IsZero() {
				waitUntil = time.Now().Add(min(left, s.claimWait))
			}
			entry, changed := awaitChange(ctx, s.kv, key, cur.Revision(), waitUntil)
			if !changed {
				left = cur.LeaseUntil.Sub(s.now())
				return nil, failure.NotYet(max(left, 0)+claimSlack, fmt.Errorf("operation %s: %w", key, ErrClaimed))
			}
			cur = nil // deleted: create it again
			if entry != nil {
				var err error
				if cur, err = decode[T](entry); err != nil {
					return nil, err
				}
			}
			continue
		}
		err := cur.write(ctx, s, func(r *Record[T]) {
			r.Owner = owner
			r.LeaseUntil = now.Add(s.lease)
		})
		if errors.Is(err, ErrConflict) {
			races++
			cur = nil
			continue // another worker took it over first: look at its claim
		}
		if err != nil {
			return nil, err
		}
		return cur, nil
	}
	return nil, failure.NotYet(claimSlack, fmt.Errorf("claim operation %s: it kept changing: %w", key, ErrConflict))
}

// create stores a new record of key for flow, claimed by owner; nil and no
// error when key already holds one.
func create[T any](ctx context.Context, s *Store, key, flow, owner string) (*Record[T], error) {
	now := s.now()
	rec := &Record[T]{Key: key, Flow: flow, Status: StatusInProgress, Owner: owner,
		LeaseUntil: now.Add(s.lease), Created: now, Updated: now}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("encode operation %s: %w", key, err))
	}
	rev, err := s.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, nil
	}
	if err != nil {
		return nil, failure.Transient(fmt.Errorf("create operation %s: %w", key, err))
	}
	rec.claim = &claim{rev: rev, stored: data, until: rec.LeaseUntil, held: true}
	return rec, nil
}

// DefaultClaimWait bounds how long Claim waits for a live claim to be released
// before it answers "not yet" and the message is redelivered when the lease
// can have run out (AckWait, 30 s by default). Most holders are a moment
// from releasing: a renewal recording the answer whose notification has
// just arrived. One that is not (a call held by a slow gateway) keeps the
// waiting handler no longer than this.
const DefaultClaimWait = time.Second

// claimPoll is the first pause between two readings of a claimed record in
// awaitChange; each pause doubles, up to maxClaimPoll.
const (
	claimPoll    = 5 * time.Millisecond
	maxClaimPoll = 200 * time.Millisecond
)

// awaitChange reads key, with growing pauses, until its revision is no
// longer rev (written, released, renewed or deleted), and reports whether
// that happened before until and while ctx lasted, with the entry it read
// then (nil: deleted), so the caller need not read it again.
func awaitChange(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64, until time.Time) (jetstream.KeyValueEntry, bool) {
	for pause := claimPoll; ; pause = min(2*pause, maxClaimPoll) {
		left := time.Until(until)
		if left <= 0 {
			return nil, false
		}
		timer := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, false
		case <-timer.C:
		}
		entry, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, true
		}
		if err == nil && entry.Revision() != rev {
			return entry, true
		}
	}
}

// Get reads the record under key, or ErrNotFound.
func Get[T any](ctx context.Context, s *Store, key string) (*Record[T], error) {
	entry, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("operation %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, failure.Transient(fmt.Errorf("read operation %s: %w", key, err))
	}
	return decode[T](entry)
}

// decode reads the record a KV entry holds.
func decode[T any](entry jetstream.KeyValueEntry) (*Record[T], error) {
	rec := &Record[T]{}
	if err := json.Unmarshal(entry.Value(), rec); err != nil {
		return nil, failure.Permanent(fmt.Errorf("decode operation %s: %w", entry.Key(), err))
	}
	rec.claim = &claim{rev: entry.Revision(), stored: entry.Value(), until: rec.LeaseUntil}
	return rec, nil
}

// Save records step (and the current State) and extends the lease.
func (r *Record[T]) Save(ctx context.Context, s *Store, step string) error {
	return r.write(ctx, s, func(r *Record[T]) {
		r.Step = step
		r.LeaseUntil = s.now().Add(s.lease)
	})
}

// Finish records step and marks the operation done; the claim is released.
func (r *Record[T]) Finish(ctx context.Context, s *Store, step string) error {
	return r.write(ctx, s, func(r *Record[T]) {
		r.Step = step
		r.Status = StatusDone
		r.LeaseUntil = time.Time{}
	})
}

// Fail records step and reason and marks the operation failed for good; the
// claim is released. The reason must not contain secrets or card data.
func (r *Record[T]) Fail(ctx context.Context, s *Store, step, reason string) error {
	return r.write(ctx, s, func(r *Record[T]) {
		r.Step = step
		r.Status = StatusFailed
		r.Error = reason
		r.LeaseUntil = time.Time{}
	})
}

// update stores data over the revision c holds, with c's lock held: a
// record changed since (another worker took it over) is a failure.NotYet
// ErrConflict, and the claim is lost.
func (c *claim) update(ctx context.Context, s *Store, key string, data []byte) (uint64, error) {
	rev, err := s.kv.Update(ctx, key, data, c.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		c.held = false
		return 0, failure.NotYet(claimSlack, fmt.Errorf("operation %s: %w", key, ErrConflict))
	}
	if err != nil {
		return 0, failure.Transient(fmt.Errorf("write operation %s: %w", key, err))
	}
	return rev, nil
}

// write applies change to a copy and stores it if the record is still at the
// revision it was read (or last renewed) at. r is updated only when the
// write succeeded. A write that leaves no lease releases the claim: renewals
// stop.
func (r *Record[T]) write(ctx context.Context, s *Store, change func(*Record[T])) error {
	if r.Status != StatusInProgress {
		return fmt.Errorf("operation %s is %s: %w", r.Key, r.Status, ErrFinished)
	}
	next := *r
	change(&next)
	next.Updated = s.now()
	data, err := json.Marshal(&next)
	if err != nil {
		return failure.Permanent(fmt.Errorf("encode operation %s: %w", r.Key, err))
	}
	c := r.claim
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, err := c.update(ctx, s, r.Key, data)
	if err != nil {
		return err
	}
	c.rev, c.stored, c.until = rev, data, next.LeaseUntil
	c.held = next.Status == StatusInProgress && !next.LeaseUntil.IsZero()
	*r = next
	telemetry.StepSaved(ctx, r.Step, string(r.Status))
	return nil
}
