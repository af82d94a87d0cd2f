package ops_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// failedAt claims key, records step with state, and fails it with reason.
func failedAt(t *testing.T, s *ops.Store, key, step, reason string) *ops.Record[authState] {
	t.Helper()
	rec, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatal(err)
	}
	rec.State.Reference = "PSP-1"
	if err := rec.Save(t.Context(), s, step); err != nil {
		t.Fatal(err)
	}
	if err := rec.Fail(t.Context(), s, step, reason); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReopen_FailedOperationBecomesAClaimedSecondAttemptWithItsHistory(t *testing.T) {
	b := testkit.Broker(t)
	clock := testkit.NewClock(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	s := ops.NewStore(b.Ops, ops.WithClock(clock.Now))
	key := ops.Key("authorise", "S1", "2025-03-01")
	rec := failedAt(t, s, key, "gateway", "cleeng: 422 order expired")
	failedOwner, failedTime := rec.Owner, rec.Updated
	clock.Advance(time.Hour)

	if err := ops.Reopen(t.Context(), s, rec, "dead letter 12", "gateway"); err != nil {
		t.Fatal(err)
	}
	stored, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*ops.Record[authState]{rec, stored} {
		if r.Status != ops.StatusInProgress || r.Step != "gateway" || r.Error != "" || r.Attempt() != 2 ||
			r.Owner == "" || r.Owner == failedOwner || !r.LeaseUntil.After(clock.Now()) || r.State.Reference != "PSP-1" {
			t.Errorf("re-opened record %+v: want attempt 2 in progress at gateway under a new owner, state kept", r)
		}
	}
	want := ops.PastAttempt{Step: "gateway", Error: "cleeng: 422 order expired", Failed: failedTime,
		ReopenedBy: "dead letter 12", Reopened: clock.Now()}
	if len(stored.History) != 1 || !stored.History[0].Failed.Equal(want.Failed) || !stored.History[0].Reopened.Equal(want.Reopened) ||
		stored.History[0].Step != want.Step || stored.History[0].Error != want.Error || stored.History[0].ReopenedBy != want.ReopenedBy {
		t.Errorf("history %+v, want [%+v]", stored.History, want)
	}
	// The new attempt is the claim: it records and finishes as any other.
	if err := rec.Finish(t.Context(), s, "done"); err != nil {
		t.Fatal(err)
	}
}

func TestReopen_OnlyFailedOperationsAndOncePerReplay(t *testing.T) {
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	ctx := t.Context()

	done, err := ops.Claim[authState](ctx, s, ops.Key("authorise", "S2", "d"), "authorise")
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Finish(ctx, s, "done"); err != nil {
		t.Fatal(err)
	}
	if err := ops.Reopen(ctx, s, done, "dead letter 1", ""); !errors.Is(err, ops.ErrNotFailed) {
		t.Errorf("Reopen of a done operation: %v, want ErrNotFailed", err)
	}

	key := ops.Key("authorise", "S3", "d")
	rec := failedAt(t, s, key, "order", "first")
	if err := ops.Reopen(ctx, s, rec, "dead letter 1", "order"); err != nil {
		t.Fatal(err)
	}
	if err := rec.Fail(ctx, s, "order", "second"); err != nil {
		t.Fatal(err)
	}
	// The same replay delivered again (past the duplicate window) finds
	// its attempt failed: it must not start a third.
	if err := ops.Reopen(ctx, s, rec, "dead letter 1", "order"); !errors.Is(err, ops.ErrAlreadyReopened) {
		t.Fatalf("second Reopen by the same replay: %v, want ErrAlreadyReopened", err)
	}
	if err := ops.Reopen(ctx, s, rec, "dead letter 2", "order"); err != nil {
		t.Fatal(err)
	}
	stored, err := ops.Get[authState](ctx, s, key)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Attempt() != 3 || len(stored.History) != 2 || stored.History[0].Error != "first" || stored.History[1].Error != "second" ||
		stored.History[1].ReopenedBy != "dead letter 2" {
		t.Errorf("after two replays: attempt %d, history %+v", stored.Attempt(), stored.History)
	}
}

func TestReopen_ConcurrentReopensStartOneAttempt(t *testing.T) {
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	key := ops.Key("authorise", "S4", "d")
	failedAt(t, s, key, "order", "routing")

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			rec, err := ops.Get[authState](t.Context(), s, key)
			if err == nil {
				err = ops.Reopen(t.Context(), s, rec, "dead letter "+string(rune('a'+i)), "order")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, ops.ErrConflict) && failure.Is(err, failure.ClassNotYet),
			errors.Is(err, ops.ErrNotFailed): // read after the winner wrote
		default:
			t.Errorf("losing Reopen: %v", err)
		}
	}
	stored, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || stored.Attempt() != 2 {
		t.Errorf("%d re-opens won, record at attempt %d; want 1 and 2", won, stored.Attempt())
	}
}
