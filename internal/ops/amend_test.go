package ops_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestAmend_ConcurrentFillsOfAnEmptyFieldWriteOnce: every writer fills the
// reference only while it is empty; the compare-and-set makes the losers see
// the winner's value, so exactly one write lands and it is the stored one.
func TestAmend_ConcurrentFillsOfAnEmptyFieldWriteOnce(t *testing.T) {
	s := ops.NewStore(testkit.Broker(t).Ops)
	const key = "payment.adyen.P1"
	if err := ops.PutOnce(t.Context(), s, key, "payment-index", "done", authState{OrderID: 1}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		writers []string
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := fmt.Sprintf("payment-%d", i)
			wrote := false
			err := ops.Amend(t.Context(), s, key, func(st *authState) bool {
				wrote = st.Reference == ""
				if wrote {
					st.Reference = mine
				}
				return wrote
			})
			if err != nil {
				t.Error(err)
				return
			}
			if wrote {
				mu.Lock()
				writers = append(writers, mine)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rec, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(writers) != 1 || rec.State.Reference != writers[0] || rec.State.OrderID != 1 || rec.Status != ops.StatusDone {
		t.Fatalf("writers %v, stored %+v (%s); want one writer whose value is stored, the rest of the entry kept", writers, rec.State, rec.Status)
	}
}

func TestAmend_MissingKeyIsNotFound(t *testing.T) {
	s := ops.NewStore(testkit.Broker(t).Ops)
	err := ops.Amend(t.Context(), s, "payment.adyen.NONE", func(*authState) bool { return true })
	if !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

// TestRemove_OnlyTheRevisionRead: a removal of an entry rewritten since it
// was read is a "not yet" conflict and leaves the new entry; removed, the
// key can be created again.
func TestRemove_OnlyTheRevisionRead(t *testing.T) {
	s := ops.NewStore(testkit.Broker(t).Ops)
	const key = "charging.cleverbridge.S1"
	if err := ops.PutOnce(t.Context(), s, key, "charge-lock", "done", authState{OrderID: 1}); err != nil {
		t.Fatal(err)
	}
	stale, err := ops.Get[authState](t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.Amend(t.Context(), s, key, func(st *authState) bool { st.OrderID = 2; return true }); err != nil {
		t.Fatal(err)
	}
	if err := ops.Remove(t.Context(), s, stale); !errors.Is(err, ops.ErrConflict) || !failure.Is(err, failure.ClassNotYet) {
		t.Fatalf("removing a stale read: %v, want a not-yet ErrConflict", err)
	}
	current, err := ops.Get[authState](t.Context(), s, key)
	if err != nil || current.State.OrderID != 2 {
		t.Fatalf("after the refused removal: %+v, %v; want the amended entry", current, err)
	}
	if err := ops.Remove(t.Context(), s, current); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Get[authState](t.Context(), s, key); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("after removal: %v, want ErrNotFound", err)
	}
	if err := ops.PutOnce(t.Context(), s, key, "charge-lock", "done", authState{OrderID: 3}); err != nil {
		t.Fatal(err)
	}
	if again, err := ops.Get[authState](t.Context(), s, key); err != nil || again.State.OrderID != 3 {
		t.Fatalf("created again: %+v, %v; want the new entry", again, err)
	}
}
