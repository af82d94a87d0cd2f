package ops_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

type authState struct {
	OrderID    int    `json:"orderId"`
	Reference  string `json:"reference"`
	Idempotent string `json:"idempotencyKey"`
}

func TestClaim_ConcurrentClaimsHaveExactlyOneOwner(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	key := ops.Key("authorise", "S1", "2024-05-01")

	const n = 16
	var wg sync.WaitGroup
	owners := make(chan string, n)
	claimed := make(chan error, n)
	for range n {
		wg.Go(func() {
			rec, err := ops.Claim[authState](t.Context(), s, key, "authorise")
			if err != nil {
				claimed <- err
				return
			}
			owners <- rec.Owner
		})
	}
	wg.Wait()
	close(owners)
	close(claimed)
	if len(owners) != 1 {
		t.Fatalf("%d claims succeeded, want exactly 1", len(owners))
	}
	for err := range claimed {
		if !errors.Is(err, ops.ErrClaimed) || !failure.Is(err, failure.ClassNotYet) {
			t.Errorf("losing claim: %v, want a NotYet ErrClaimed", err)
		}
		if after := failure.RetryAfter(err); after <= 0 || after > ops.DefaultLease+time.Second {
			t.Errorf("retry hint %v, want the time left on the winner's lease", after)
		}
	}
	stored, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if winner := <-owners; stored.Owner != winner || stored.Status != ops.StatusInProgress {
		t.Errorf("stored %+v, want the winner's in-progress claim", stored)
	}
}

func TestSave_StaleRecordConflicts(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	key := ops.Key("initial", "O-7")
	rec, err := ops.Claim[authState](t.Context(), s, key, "initial")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	rec.State.OrderID = 7
	if err := rec.Save(t.Context(), s, "order-created"); err != nil {
		t.Fatal(err)
	}
	stale.State.Reference = "PSP-stale"
	err = stale.Save(t.Context(), s, "gateway-called")
	if !errors.Is(err, ops.ErrConflict) || !failure.Is(err, failure.ClassNotYet) {
		t.Fatalf("stale save: %v, want a NotYet ErrConflict", err)
	}
	if stale.Step != "" || stale.Revision() == rec.Revision() {
		t.Errorf("a failed save changed the record: step %q rev %d", stale.Step, stale.Revision())
	}
	got, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != "order-created" || got.State.OrderID != 7 || got.State.Reference != "" {
		t.Errorf("stored %+v, want only the owner's save", got)
	}
}

func TestClaim_ExpiredLeaseIsTakenOverAndOldOwnerLoses(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	clk := testkit.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := ops.NewStore(b.Ops, ops.WithClock(clk.Now), ops.WithLease(time.Minute))
	key := ops.Key("authorise", "S9", "2025-01-02")

	first, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatal(err)
	}
	first.State = authState{OrderID: 42, Idempotent: "auth-S9-1"}
	if err := first.Save(t.Context(), s, "order-created"); err != nil {
		t.Fatal(err)
	}

	clk.Advance(59 * time.Second)
	if _, err := ops.Claim[authState](t.Context(), s, key, "authorise"); !errors.Is(err, ops.ErrClaimed) {
		t.Fatalf("claim within the lease: %v, want ErrClaimed", err)
	} else if after := failure.RetryAfter(err); after < time.Second || after > 2*time.Second {
		t.Errorf("retry hint %v, want the 1s left on the lease and a little", after)
	}

	clk.Advance(2 * time.Second)
	second, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatalf("claim after the lease expired: %v", err)
	}
	if second.Owner == first.Owner {
		t.Error("takeover kept the old owner id")
	}
	if second.Step != "order-created" || second.State != first.State {
		t.Errorf("takeover lost progress: step %q state %+v", second.Step, second.State)
	}
	if want := clk.Now().Add(time.Minute); !second.LeaseUntil.Equal(want) {
		t.Errorf("lease until %v, want %v", second.LeaseUntil, want)
	}

	if err := first.Save(t.Context(), s, "gateway-called"); !errors.Is(err, ops.ErrConflict) {
		t.Fatalf("old owner's save after takeover: %v, want ErrConflict", err)
	}
	second.State.Reference = "PSP-1"
	if err := second.Finish(t.Context(), s, "reported"); err != nil {
		t.Fatal(err)
	}
}

func TestClaim_FinishedRecordIsReturnedAsStored(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	for _, tc := range []struct {
		name   string
		finish func(*ops.Record[authState]) error
		status ops.Status
		reason string
	}{
		{"done", func(r *ops.Record[authState]) error { return r.Finish(t.Context(), s, "reported") }, ops.StatusDone, ""},
		{"failed", func(r *ops.Record[authState]) error {
			return r.Fail(t.Context(), s, "reported", "card refused")
		}, ops.StatusFailed, "card refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := ops.Key("refund", tc.name)
			rec, err := ops.Claim[authState](t.Context(), s, key, "refund")
			if err != nil {
				t.Fatal(err)
			}
			rec.State.Reference = "PSP-" + tc.name
			if err := tc.finish(rec); err != nil {
				t.Fatal(err)
			}
			again, err := ops.Claim[authState](t.Context(), s, key, "refund")
			if err != nil {
				t.Fatalf("claim of a finished operation: %v", err)
			}
			if again.Status != tc.status || again.Error != tc.reason || again.Owner != rec.Owner ||
				again.State.Reference != "PSP-"+tc.name || again.Revision() != rec.Revision() {
				t.Errorf("got %+v, want the stored record %+v", again, rec)
			}
			if err := again.Save(t.Context(), s, "more"); !errors.Is(err, ops.ErrFinished) {
				t.Errorf("save on a finished record: %v, want ErrFinished", err)
			}
		})
	}
}

func TestClaim_OtherFlowsKeyIsPermanent(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	if _, err := ops.Claim[authState](t.Context(), s, "k", "capture"); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Claim[authState](t.Context(), s, "k", "refund"); !failure.Is(err, failure.ClassPermanent) {
		t.Fatalf("claim under another flow: %v, want permanent", err)
	}
}

func TestGet_MissingKeyIsNotFound(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	_, err := ops.Get[authState](context.Background(), ops.NewStore(b.Ops), "initial.none")
	if !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestPutOnce_FirstWriteStandsAndIsDone(t *testing.T) {
	t.Parallel()
	s := ops.NewStore(testkit.Broker(t).Ops)
	if err := ops.PutOnce(t.Context(), s, "payment.adyen.P1", "payment-index", "done", authState{OrderID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ops.PutOnce(t.Context(), s, "payment.adyen.P1", "payment-index", "done", authState{OrderID: 2}); err != nil {
		t.Fatal(err)
	}
	rec, err := ops.Get[authState](t.Context(), s, "payment.adyen.P1")
	if err != nil || rec.Status != ops.StatusDone || rec.State.OrderID != 1 {
		t.Fatalf("record %+v, %v; want the first write, done", rec, err)
	}
}

// readCounting counts the reads of a KV bucket, so a test can tell a
// claim is waiting on a record.
type readCounting struct {
	jetstream.KeyValue
	reads atomic.Int64
}

func (k *readCounting) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	k.reads.Add(1)
	return k.KeyValue.Get(ctx, key)
}

// TestClaim_WaitsForAHolderAboutToFinish: a claim that finds the operation
// held waits for the holder, which finishes it while it looks, and gets the
// finished record at once, where it answered "not yet" and the message waited
// out the whole lease (30 s: a notification arriving as its renewal recorded
// the answer). A holder that keeps it is still answered ErrClaimed
// (TestClaim_ConcurrentClaimsHaveExactlyOneOwner), after the wait.
func TestClaim_WaitsForAHolderAboutToFinish(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	kv := &readCounting{KeyValue: b.Ops}
	waiting := ops.NewStore(kv, ops.WithClaimWait(time.Minute)) // the lease's 30 s bound it: no race with a busy machine
	key := ops.Key("authorise", "S12", "2025-03-01")
	holder, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatal(err)
	}
	type claimed struct {
		rec *ops.Record[authState]
		err error
	}
	result := make(chan claimed, 1)
	go func() {
		rec, err := ops.Claim[authState](t.Context(), waiting, key, "authorise")
		result <- claimed{rec, err}
	}()
	// The claim's first read finds the holder; a second is a look after a pause.
	testkit.Eventually(t, 10*time.Second, "the claim waiting on the holder, or answered", func() bool { return kv.reads.Load() >= 2 || len(result) > 0 })
	if len(result) > 0 {
		t.Fatalf("claim answered before the holder finished: %v, want it to wait", (<-result).err)
	}
	holder.State = authState{Reference: "PSP-12"}
	if err := holder.Finish(t.Context(), s, "done"); err != nil {
		t.Fatal(err)
	}
	got := <-result
	if got.err != nil {
		t.Fatalf("claim while the holder finished: %v, want the finished record", got.err)
	}
	if got.rec.Status != ops.StatusDone || got.rec.State.Reference != "PSP-12" {
		t.Fatalf("claim returned %+v, want the holder's finished record", got.rec)
	}
}
