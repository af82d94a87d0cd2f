package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// PastAttempt is an earlier attempt at an operation: it failed, and Reopen
// started the next one.
type PastAttempt struct {
	// Step and Error are where the attempt stopped and why.
	Step  string `json:"step"`
	Error string `json:"error"`
	// Failed is when it failed.
	Failed time.Time `json:"failed"`
	// ReopenedBy names what started the next attempt (the dead letter an
	// operator replayed), at Reopened.
	ReopenedBy string    `json:"reopenedBy"`
	Reopened   time.Time `json:"reopened"`
}

var (
	// ErrNotFailed: only a failed operation is re-opened. A done one never
	// is: its outcome stands.
	ErrNotFailed = errors.New("operation is not failed")
	// ErrAlreadyReopened: the same replay re-opened the operation before,
	// and the attempt it started failed too. That attempt's own dead letter
	// is what replays it.
	ErrAlreadyReopened = errors.New("operation already re-opened by this replay")
)

// Attempt is the number of the record's current attempt, counted from 1.
func (r *Record[T]) Attempt() int { return len(r.History) + 1 }

// Reopen starts a new attempt at the failed operation rec and claims it as
// Claim does: in progress under a fresh owner and lease, at step, the
// error cleared. State is kept, so the step results of the failed attempt
// guard what it already did; the failed attempt's step and error go to
// History with by, the name of what re-opened it.
//
// by re-opens an operation at most once (ErrAlreadyReopened): a replay
// delivered twice, even past the inbox's duplicate window, never starts a
// third attempt. A record changed since it was read is a failure.NotYet
// ErrConflict, as for Save; rec is then left as it was.
func Reopen[T any](ctx context.Context, s *Store, rec *Record[T], by, step string) error {
	if rec.Status != StatusFailed {
		return fmt.Errorf("operation %s is %s: %w", rec.Key, rec.Status, ErrNotFailed)
	}
	if slices.ContainsFunc(rec.History, func(p PastAttempt) bool { return p.ReopenedBy == by }) {
		return fmt.Errorf("operation %s, attempt %d failed at %q: %s: %w", rec.Key, rec.Attempt(), rec.Step, by, ErrAlreadyReopened)
	}
	now := s.now()
	past := PastAttempt{Step: rec.Step, Error: rec.Error, Failed: rec.Updated, ReopenedBy: by, Reopened: now}
	// write only changes a record in progress. What makes re-opening safe is
	// its compare-and-set on the revision read: the stored record is still
	// this failed one.
	next := *rec
	next.Status = StatusInProgress
	if err := next.write(ctx, s, func(r *Record[T]) {
		r.History = append(slices.Clip(r.History), past)
		r.Step = step
		r.Error = ""
		r.Owner = s.newOwner()
		r.LeaseUntil = now.Add(s.lease)
	}); err != nil {
		return err
	}
	*rec = next
	return nil
}
