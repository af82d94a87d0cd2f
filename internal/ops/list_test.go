package ops_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestList_ReturnsTheRecordsUnderAPrefixInKeyOrder(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	s := ops.NewStore(b.Ops)
	if recs, err := ops.List[authState](t.Context(), s, ""); err != nil || len(recs) != 0 {
		t.Fatalf("List of an empty bucket = %d records, %v; want none", len(recs), err)
	}
	for _, key := range []string{"authorise.S2.d", "authorise.S1.d", "authorise", "authorised.S3", "charge.S1.d"} {
		rec, err := ops.Claim[authState](t.Context(), s, key, "f")
		if err != nil {
			t.Fatal(err)
		}
		rec.State.Reference = "ref-" + key
		if err := rec.Finish(t.Context(), s, "done"); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(prefix string) []string {
		t.Helper()
		recs, err := ops.List[authState](t.Context(), s, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			if r.State.Reference != "ref-"+r.Key || r.Status != ops.StatusDone || r.Revision() == 0 {
				t.Errorf("record %+v: not as stored", r)
			}
			out = append(out, r.Key)
		}
		return out
	}
	if got, want := keys("authorise"), []string{"authorise", "authorise.S1.d", "authorise.S2.d"}; !slices.Equal(got, want) {
		t.Errorf("List(authorise) = %v, want %v (authorised.S3 is another prefix)", got, want)
	}
	if got := keys("refund"); len(got) != 0 {
		t.Errorf("List(refund) = %v, want none", got)
	}
	if got := keys(""); len(got) != 5 {
		t.Errorf("List() = %v, want all 5", got)
	}
}

// TestInProgress_AListingWhoseKeysStopComingFailsBeforeTheCallersDeadline:
// on a cluster, the stream of a listing's keys stops for good when the
// client's node dies, and nats.go waits for the rest until the context
// ends; a capture asked under its handler's timeout of minutes and held its
// message that long (chaos, issue 11). The listing must fail sooner, as
// transient, so the flow retries it; and never answer with what it read so
// far. The lost stream is played by a lister that, like nats.go's, closes
// its keys only when its context ends.
func TestInProgress_AListingWhoseKeysStopComingFailsBeforeTheCallersDeadline(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	handler, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	keys, err := ops.InProgress(handler, ops.NewStore(stalledListings{b.Ops}), "authorise.S1")
	if failure.ClassOf(err) != failure.ClassTransient || !errors.Is(err, context.DeadlineExceeded) || handler.Err() != nil {
		t.Fatalf("InProgress over a stalled listing = %v, %v with the handler's context %v; want a transient deadline error, the handler's still running", keys, err, handler.Err())
	}
}

type stalledListings struct{ jetstream.KeyValue }

func (stalledListings) ListKeysFiltered(ctx context.Context, _ ...string) (jetstream.KeyLister, error) {
	l := stalledLister{keys: make(chan string)}
	context.AfterFunc(ctx, func() { close(l.keys) })
	return l, nil
}

type stalledLister struct{ keys chan string }

func (l stalledLister) Keys() <-chan string { return l.keys }
func (stalledLister) Stop() error           { return nil }
