package flows

import (
	"context"
	"errors"
	"time"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/workers"
)

// releaseTimeout bounds the write that frees a claim after a failed attempt.
const releaseTimeout = 2 * time.Second

// operate runs body on the operation record key of flow: claimed, or
// returned untouched when the operation already finished (a duplicate).
//
// The claim is renewed with the message's heartbeat while body runs, so it
// outlasts the longest call, and runs out about when the server redelivers
// the message of a worker that died. A holder whose claim was lost (taken
// over, or run out unrenewed) has body's context cancelled and gets the
// loss back, a "not yet": the redelivery sees the new holder's state.
// When body returns with the operation still in progress and claimed (it
// failed, or it had nothing to do), the claim is released at once, so the
// next message about the operation resumes from the recorded step instead
// of waiting for the lease to run out.
func operate[T any](ctx context.Context, store *ops.Store, key, flow string, body func(ctx context.Context, rec *ops.Record[T]) error) error {
	rec, err := ops.Claim[T](ctx, store, key, flow)
	if err != nil || rec.Status != ops.StatusInProgress {
		return err
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
		_ = rec.Park(releaseCtx, store, rec.Step) // best effort: the lease expires anyway
	}
	return err
}
