package ops_test

import (
	"testing"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestKey_SanitisesDeterministicallyAndDistinctly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		parts []string
		want  string
	}{
		{[]string{"authorise", "S123", "2024-05-01"}, "authorise.S123.2024-05-01"},
		{[]string{"initial", "O_9"}, "initial.O_9"},
		{[]string{"refund", "a.b/c"}, "refund.a=2Eb=2Fc"},
		{[]string{"refund", "a", "b/c"}, "refund.a.b=2Fc"},
		{[]string{"x", "=2E"}, "x.=3D2E"},
		{[]string{"x", ""}, "x.="},
		{[]string{"x", "é *>"}, "x.=C3=A9=20=2A=3E"},
	}
	b := testkit.Broker(t)
	seen := map[string][]string{}
	for _, tc := range cases {
		got := ops.Key(tc.parts...)
		if got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.parts, got, tc.want)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("Key(%q) and Key(%q) collide on %q", prev, tc.parts, got)
		}
		seen[got] = tc.parts
		// The KV bucket itself is the judge of validity.
		if _, err := b.Ops.Put(t.Context(), got, []byte("{}")); err != nil {
			t.Errorf("KV rejects Key(%q) = %q: %v", tc.parts, got, err)
		}
	}
}
