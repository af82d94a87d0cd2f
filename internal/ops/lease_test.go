package ops_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// leaseTest is a store with a 30 s lease on a clock the test moves.
func leaseTest(t *testing.T) (*ops.Store, *testkit.Clock) {
	t.Helper()
	clk := testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	return ops.NewStore(testkit.Broker(t).Ops, ops.WithClock(clk.Now), ops.WithLease(30*time.Second)), clk
}

// claimedFor asserts that another worker's claim of key is refused as
// "not yet", asking to look again once the lease can have run out.
func claimedFor(t *testing.T, s *ops.Store, key string, left time.Duration) {
	t.Helper()
	_, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if !errors.Is(err, ops.ErrClaimed) || !failure.Is(err, failure.ClassNotYet) {
		t.Fatalf("claim of a live holder's operation: %v, want a NotYet ErrClaimed", err)
	}
	if after := failure.RetryAfter(err); after < left || after > left+time.Second {
		t.Fatalf("retry hint %v, want the %v left on the lease and a little", after, left)
	}
}

func TestClaim_LiveHolderDelaysOthersUntilItsLeaseCanHaveRunOut(t *testing.T) {
	s, clk := leaseTest(t)
	key := ops.Key("authorise", "S1", "2026-03-04")
	if _, err := ops.Claim[authState](t.Context(), s, key, "authorise"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(12 * time.Second)
	claimedFor(t, s, key, 18*time.Second)
}

func TestLease_RenewalKeepsALongRunningHolderBeyondItsFirstLease(t *testing.T) {
	s, clk := leaseTest(t)
	key := ops.Key("authorise", "S2", "2026-03-04")
	holder, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatal(err)
	}
	lease := holder.Lease(s)
	// A gateway call of two minutes, four times the lease, with a renewal
	// at every heartbeat (a third of the lease).
	for range 12 {
		clk.Advance(10 * time.Second)
		if err := lease.Renew(t.Context()); err != nil {
			t.Fatalf("renewal by the live holder: %v", err)
		}
		claimedFor(t, s, key, 30*time.Second)
	}
	holder.State.Reference = "PSP-2"
	if err := holder.Save(t.Context(), s, "gateway"); err != nil {
		t.Fatalf("the holder's save after renewals: %v", err)
	}
	got, err := ops.Get[authState](t.Context(), s, key)
	if err != nil || got.Step != "gateway" || got.State.Reference != "PSP-2" || got.Owner != holder.Owner {
		t.Fatalf("stored %+v (%v), want the holder's save", got, err)
	}

	// The holder dies: nothing renews the claim, and it is taken over once
	// the lease has run out.
	clk.Advance(30*time.Second + time.Millisecond)
	next, err := ops.Claim[authState](t.Context(), s, key, "authorise")
	if err != nil {
		t.Fatalf("claim after the holder stopped renewing: %v", err)
	}
	if next.Step != "gateway" || next.State.Reference != "PSP-2" {
		t.Errorf("takeover lost progress: %+v", next)
	}
	if err := lease.Renew(t.Context()); !errors.Is(err, ops.ErrLost) || !failure.Is(err, failure.ClassNotYet) {
		t.Errorf("the old holder's renewal after a takeover: %v, want a NotYet ErrLost", err)
	}
	if err := holder.Save(t.Context(), s, "cleeng-payment"); !errors.Is(err, ops.ErrConflict) {
		t.Errorf("the old holder's save after a takeover: %v, want ErrConflict", err)
	}
}

func TestLease_UnwritableRenewalLosesTheClaimOnceTheLeaseRanOut(t *testing.T) {
	b := testkit.Broker(t)
	nc, err := nats.Connect(b.Server.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), broker.OpsBucket)
	if err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	s := ops.NewStore(kv, ops.WithClock(clk.Now), ops.WithLease(30*time.Second))
	holder, err := ops.Claim[authState](t.Context(), s, ops.Key("authorise", "S5", "2026-03-04"), "authorise")
	if err != nil {
		t.Fatal(err)
	}
	lease := holder.Lease(s)
	nc.Close() // the worker cut off from NATS

	clk.Advance(10 * time.Second)
	if err := lease.Renew(t.Context()); err == nil || errors.Is(err, ops.ErrLost) || !failure.Is(err, failure.ClassTransient) {
		t.Fatalf("unwritable renewal within the lease: %v, want a transient error: the next one may succeed", err)
	}
	clk.Advance(20 * time.Second)
	if err := lease.Renew(t.Context()); !errors.Is(err, ops.ErrLost) {
		t.Fatalf("unwritable renewal after the lease ran out: %v, want ErrLost: another worker may have taken over", err)
	}
	if holder.Held() {
		t.Error("the holder still believes it holds the claim")
	}
}

func TestLease_RenewalAfterReleaseLeavesTheClaimFree(t *testing.T) {
	s, _ := leaseTest(t)
	key := ops.Key("refund", "P3")
	holder, err := ops.Claim[authState](t.Context(), s, key, "refund")
	if err != nil {
		t.Fatal(err)
	}
	lease := holder.Lease(s)
	if err := holder.Park(t.Context(), s, "awaiting-confirmation"); err != nil {
		t.Fatal(err)
	}
	// A heartbeat that fires just after the release must not re-take it.
	if err := lease.Renew(t.Context()); err != nil {
		t.Fatalf("renewal after release: %v, want nothing done", err)
	}
	if _, err := ops.Claim[authState](t.Context(), s, key, "refund"); err != nil {
		t.Fatalf("claim of a released operation: %v", err)
	}
}

// TestLease_RenewalsBesideSavesKeepEveryStep renews from another goroutine,
// as the heartbeat does, while the holder changes State and saves it; run
// with -race it also shows the two never touch the same memory unguarded.
func TestLease_RenewalsBesideSavesKeepEveryStep(t *testing.T) {
	s := ops.NewStore(testkit.Broker(t).Ops)
	key := ops.Key("initial", "O-4")
	holder, err := ops.Claim[authState](t.Context(), s, key, "initial")
	if err != nil {
		t.Fatal(err)
	}
	lease := holder.Lease(s)
	stop := make(chan struct{})
	var renewals sync.WaitGroup
	renewals.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := lease.Renew(t.Context()); err != nil {
				t.Errorf("renewal beside the holder's saves: %v", err)
				return
			}
		}
	})
	for i := range 50 {
		holder.State.OrderID = i
		if err := holder.Save(t.Context(), s, "step"); err != nil {
			t.Fatalf("save %d beside renewals: %v", i, err)
		}
	}
	close(stop)
	renewals.Wait()
	if err := holder.Finish(t.Context(), s, "done"); err != nil {
		t.Fatal(err)
	}
	got, err := ops.Get[authState](t.Context(), s, key)
	if err != nil || got.Status != ops.StatusDone || got.State.OrderID != 49 {
		t.Fatalf("stored %+v (%v), want done with the last saved state", got, err)
	}
}

// TestRelease_LeavesTheRecordAsLastStored: a holder changes State, its
// write fails, and it releases the claim. The next claim finds the step
// and State last stored, free at once, as a lease running out would leave
// them: never the change that was not recorded.
func TestRelease_LeavesTheRecordAsLastStored(t *testing.T) {
	s, _ := leaseTest(t)
	key := ops.Key("update-details", "C1", "R1")
	holder, err := ops.Claim[authState](t.Context(), s, key, "update-details")
	if err != nil {
		t.Fatal(err)
	}
	holder.State.Reference = "TOKEN"
	if err := holder.Save(t.Context(), s, "gateway"); err != nil {
		t.Fatal(err)
	}
	holder.State.Reference = "" // the next step's change, whose write failed
	if err := holder.Release(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if holder.Held() {
		t.Error("the holder still believes it holds the claim")
	}
	next, err := ops.Claim[authState](t.Context(), s, key, "update-details")
	if err != nil {
		t.Fatalf("claim of a released operation: %v", err)
	}
	if next.Step != "gateway" || next.State.Reference != "TOKEN" {
		t.Errorf("released record at step %q with reference %q, want step gateway with TOKEN as stored", next.Step, next.State.Reference)
	}
}
