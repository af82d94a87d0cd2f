package flows

import (
	"context"
	"errors"
	"slices"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/knockout"
	"github.com/cleeng-connector/connector/internal/ops"
)

// flow is one flow's checklist row (DESIGN section 1): its steps in
// order and the states it parks in. All its transitions are here: the
// runner records each step's result (rec.Save at the step's name) before the
// next step runs, so an operation resumes after its last recorded step, and
// only a step or a parked state's Look moves it on.
type flow[T any] struct {
	Name   string
	Steps  []step[T]
	Parked []parked[T]
}

// step is one named step. Run does its work and leaves its result in
// rec.State for the runner to record. An error ends the run: a permanent
// one ends the operation (fail), any other is retried from this step. A
// step that cannot go on returns parkAt (the operation waits for an event)
// or endHere (the remaining steps do not apply); one with nothing to do
// returns errNothingToRecord (no write).
type step[T any] struct {
	Name string
	Run  func(ctx context.Context, rec *ops.Record[T]) error
}

// parked is a state an operation waits in for something outside the
// connector. ResumedBy names the events that move it on (they record a
// step and run the rest: resumeAt). Look is what the flow's own message does
// finding the operation parked (a copy, a redelivery, the next look of a
// poll): nil leaves it parked.
type parked[T any] struct {
	State     string
	ResumedBy string
	Look      func(ctx context.Context, rec *ops.Record[T]) error
}

// stop is how a step ends a run early without an error: parking the
// operation at a parked state (then is what the message gets back), or
// finishing it.
type stop struct {
	park string
	then error
}

func (s *stop) Error() string {
	if s.park == "" {
		return "the remaining steps do not apply"
	}
	return "parked at " + s.park
}

// parkAt parks the operation at state, releasing its claim; the message
// gets then back (nil: acknowledged).
func parkAt(state string, then error) error { return &stop{park: state, then: then} }

// endHere finishes the operation without its remaining steps.
func endHere() error { return &stop{} }

// errNothingToRecord is what a step returns when it has nothing to do for
// this operation (a charge lock at a gateway with idempotency keys): the
// run goes on without a write, and a resumed run does it again, as nothing.
var errNothingToRecord = errors.New("nothing to record")

// stepNames lists the steps in order.
func (fl *flow[T]) stepNames() []string {
	names := make([]string, len(fl.Steps))
	for i, s := range fl.Steps {
		names[i] = s.Name
	}
	return names
}

// parkedAt returns the parked state rec waits in, if any.
func (fl *flow[T]) parkedAt(rec *ops.Record[T]) (parked[T], bool) {
	i := slices.IndexFunc(fl.Parked, func(p parked[T]) bool { return p.State == rec.Step })
	if i < 0 {
		return parked[T]{}, false
	}
	return fl.Parked[i], true
}

// start is the handler of the message that starts the flow's operation key:
// claimed, and run from where it stands (proceed).
func (fl *flow[T]) start(ctx context.Context, store *ops.Store, key string) error {
	if knockout.Off(knockout.OperationRecords) {
		forgetFinished[T](ctx, store, key)
	}
	return operate(ctx, store, key, fl.Name, func(ctx context.Context, rec *ops.Record[T]) error {
		return fl.proceed(ctx, store, rec)
	})
}

// forgetFinished removes key's record if its operation finished, so the
// message starting it does it all again: the knockout of the operation
// records, in test builds only (internal/knockout).
func forgetFinished[T any](ctx context.Context, store *ops.Store, key string) {
	if rec, err := ops.Get[T](ctx, store, key); err == nil && rec.Status != ops.StatusInProgress {
		_ = ops.Remove(ctx, store, rec) // lost to a concurrent write: the record stands, as without the knockout
	}
}

// proceed moves a claimed operation on: parked, its state's Look decides
// (its errors are the operation's, like a step's); otherwise the steps after
// the recorded one run.
func (fl *flow[T]) proceed(ctx context.Context, store *ops.Store, rec *ops.Record[T]) error {
	if p, ok := fl.parkedAt(rec); ok {
		if p.Look == nil {
			return nil // still waiting: the claim is released as it was
		}
		if ended, err := fl.ended(ctx, store, rec, p.Look(ctx, rec)); ended {
			return err
		}
		if _, still := fl.parkedAt(rec); still {
			return nil
		}
	}
	return fl.run(ctx, store, rec)
}

// ended applies what a step (or a Look) returned: a stop parks or finishes
// the operation, a permanent error fails it (fail), any other error is the
// message's to retry. ended is false only when the run goes on.
func (fl *flow[T]) ended(ctx context.Context, store *ops.Store, rec *ops.Record[T], err error) (bool, error) {
	var early *stop
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &early) && early.park != "":
		if err := rec.Park(ctx, store, early.park); err != nil {
			return true, err
		}
		return true, early.then
	case errors.As(err, &early):
		return true, rec.Finish(ctx, store, stepDone)
	}
	return true, fail(ctx, store, rec, err)
}

// resumeAt records step, whose result an event has just set in rec.State,
// and runs the steps after it.
func (fl *flow[T]) resumeAt(ctx context.Context, store *ops.Store, rec *ops.Record[T], step string) error {
	if err := rec.Save(ctx, store, step); err != nil {
		return err
	}
	return fl.run(ctx, store, rec)
}

// run runs the steps after rec's recorded one, recording each, and
// finishes the operation after the last.
func (fl *flow[T]) run(ctx context.Context, store *ops.Store, rec *ops.Record[T]) error {
	next := 0
	if rec.Step != "" {
		i := slices.IndexFunc(fl.Steps, func(s step[T]) bool { return s.Name == rec.Step })
		if i < 0 {
			return fail(ctx, store, rec, failure.Permanentf("operation %s is at step %q, which flow %s does not have (steps: %v)", rec.Key, rec.Step, fl.Name, fl.stepNames()))
		}
		next = i + 1
	}
	for _, s := range fl.Steps[next:] {
		err := s.Run(ctx, rec)
		if errors.Is(err, errNothingToRecord) {
			continue
		}
		if ended, err := fl.ended(ctx, store, rec, err); ended {
			return err
		}
		if err := rec.Save(ctx, store, s.Name); err != nil {
			return err
		}
	}
	return rec.Finish(ctx, store, stepDone)
}
