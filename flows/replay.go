package flows

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/workers"
)

// replay is an operator's replay of a dead letter, carried by the context
// of the delivery that brought it.
type replay struct {
	letter string // the letter, as workers.HeaderReplay names it
	log    zerolog.Logger
}

type replayKey struct{}

// replayable lets h's operations be re-opened when the message is a replay
// (it carries workers.HeaderReplay, which only package deadletter sets).
func (f *Flows) replayable(h workers.Handler) workers.Handler {
	return func(ctx context.Context, m workers.Message) error {
		if letter := m.Header.Get(workers.HeaderReplay); letter != "" {
			ctx = context.WithValue(ctx, replayKey{}, &replay{letter: letter,
				log: f.log.With().Str("replay", letter).Str("subject", m.Subject).Logger()})
		}
		return h(ctx, m)
	}
}

// resumeStep is where a re-opened operation resumes: where its failed
// attempt stopped. That is safe because a failure that ends an operation
// is permanent, and a permanent error means the other side refused the
// call, so it had no effect (a call whose effect is in doubt is an
// unknown outcome, never permanent: each client classifies that once); the
// call repeated carries the same idempotency key; and every effect before
// it has its result recorded in the state, which the flow reads instead of
// calling again. An attempt that failed before recording any step starts
// over.
func resumeStep(failedAt string) string {
	if failedAt == stepStart {
		return ""
	}
	return failedAt
}

// reopenOnReplay starts a new attempt at rec when the delivery is a replay
// and rec failed (ops.Reopen). A done operation is never re-opened: the
// replay is answered with its stored outcome, and says so in the log, as
// does a replay whose letter re-opened rec before (its attempt failed too,
// and its own dead letter is the one to replay).
func reopenOnReplay[T any](ctx context.Context, store *ops.Store, rec *ops.Record[T]) error {
	r, ok := ctx.Value(replayKey{}).(*replay)
	if !ok || rec.Status == ops.StatusInProgress {
		return nil
	}
	log := func(e *zerolog.Event) *zerolog.Event {
		return e.Str("op", rec.Key).Str("status", string(rec.Status)).Str("step", rec.Step).Int("attempt", rec.Attempt())
	}
	if rec.Status == ops.StatusDone {
		log(r.log.Warn()).Msg("replay changed nothing: the operation is already done; answered with its stored outcome")
		return nil
	}
	err := ops.Reopen(ctx, store, rec, r.letter, resumeStep(rec.Step))
	if errors.Is(err, ops.ErrAlreadyReopened) {
		log(r.log.Warn()).Msg("replay changed nothing: this letter re-opened the operation before and that attempt failed too; replay its own dead letter")
		return nil
	}
	if err != nil {
		return err
	}
	log(r.log.Info()).Msg("replay re-opened the failed operation as a new attempt")
	return nil
}
