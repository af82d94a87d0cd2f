package ops_test

import (
	"slices"
	"testing"

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
