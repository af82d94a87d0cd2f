package flows

import (
	"context"
	"errors"
	"time"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/cleeng-connector/connector/workers"
)

// releaseTimeout bounds the write that frees a claim after a failed attempt.
const releaseTimeout = 2 * time.Second

// operate runs body on the operation record key of flow: claimed, or
// returned untouched when the operation already finished (a duplicate),
// unless it failed and the message is an operator's replay: then it is
// re-opened as a new attempt (reopenOnReplay).
//
// The claim is renewed with the message's heartbeat while body runs, so it
// outlasts the longest call, and runs out about when the server redelivers
// the message of a worker that died. A holder whose claim was lost (taken
// over, or run out unrenewed) has body's context cancelled and gets the
// loss back, a "not yet": the redelivery sees the new holder's state.
// When body returns with the operation still in progress and claimed (it
// failed, or it had nothing to do), the claim is released at once, so the
// next message about the operation resumes from the recorded step instead
// of waiting for the lease to run out. The release writes the record as last
// stored (ops.Record.Release), as the lease running out would leave it: a
// step that failed, its own write included, may have changed the State
// (the last step of a card update strips the token it has just stored in
// Cleeng), and the step is done again from the State it started from.
func operate[T any](ctx context.Context, store *ops.Store, key, flow string, body func(ctx context.Context, rec *ops.Record[T]) error) error {
	return settle(ctx, store, key, flow, func(*ops.Record[T]) error { return nil }, body)
}

// settle is operate for an event that may arrive after its operation
// finished (a gateway's late notification): finished then decides what the
// event means for the finished operation — already reflected, or an error
// that dead-letters it with what an operator must do — so a late event is
// never acknowledged unread.
func settle[T any](ctx context.Context, store *ops.Store, key, flow string, finished func(rec *ops.Record[T]) error, body func(ctx context.Context, rec *ops.Record[T]) error) (err error) {
	ctx, span := telemetry.StartOperation(ctx, flow, key) // the record's steps show on it
	defer func() { telemetry.End(span, err) }()
	rec, err := ops.Claim[T](ctx, store, key, flow)
	if err == nil {
		err = reopenOnReplay(ctx, store, rec)
	}
	if err != nil {
		return err
	}
	if rec.Status != ops.StatusInProgress {
		return finished(rec)
	}
	held, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	lease := rec.Lease(store)
	stopRenewing := workers.OnHeartbeat(ctx, func(beat context.Context) {
		if err := lease.Renew(beat); errors.Is(err, ops.ErrLost) {
			lose(err)
		}
	})
	err = body(held, rec)
	stopRenewing()
	if lost := context.Cause(held); err != nil && errors.Is(lost, ops.ErrLost) {
		return lost
	}
	if rec.Held() {
		// A fresh context: ctx may be what ended the attempt.
		releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = rec.Release(releaseCtx, store) // best effort: the lease expires anyway
	}
	return err
}
