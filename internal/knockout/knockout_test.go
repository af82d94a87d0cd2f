package knockout

import "testing"

// TestOff_NeverWithoutTheTag: in a build without -tags knockout (the
// production binary's, and this test's), no mechanism is off, whatever the
// environment says.
func TestOff_NeverWithoutTheTag(t *testing.T) {
	if Built {
		t.Skip("built with -tags knockout: the switch is on purpose here")
	}
	for _, m := range Mechanisms {
		t.Setenv(Env, string(m))
		if Off(m) {
			t.Errorf("Off(%s) is true without -tags knockout", m)
		}
	}
}
