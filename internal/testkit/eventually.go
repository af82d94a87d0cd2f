package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually looks at its condition.
const pollEvery = 5 * time.Millisecond

// Eventually polls cond until it holds, failing the test with what when it
// does not within the given time. Tests wait on conditions this way, never
// on fixed sleeps.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
}
