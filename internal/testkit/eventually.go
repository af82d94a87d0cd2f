package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually looks at its condition.
const pollEvery = 5 * time.Millisecond

// Eventually polls cond until it holds, failing the test with what when it
// does not within the given time. Tests wait on conditions this way, never
// on fixed sleeps; within is a bound for a broken promise, not a claim on
// speed, so give it room for a machine whose cores are busy.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	EventuallyEvery(tb, within, pollEvery, what, cond)
}

// EventuallyEvery is Eventually looking every interval: for a condition
// whose look is expensive (a snapshot of a whole sandbox in a benchmark).
func EventuallyEvery(tb testing.TB, within, every time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
}
