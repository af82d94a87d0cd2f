package workers

import (
	"errors"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
)

func TestDecide_ChoosesActionAndDelayPerAttempt(t *testing.T) {
	t.Parallel()
	cfg := Config{MaxDeliver: 4, MaxDeliverNotYet: 6, HandlerTimeout: 40 * time.Second}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	old := 24 * time.Hour // older than the transient budget (1s+5s+30s)
	cases := []struct {
		name    string
		err     error
		attempt uint64
		want    decision
		age     time.Duration
	}{
		{"success acks", nil, 1, decision{action: actAck, outcome: outcomeAcked}, old},
		{"success on the last delivery acks", nil, 6, decision{action: actAck, outcome: outcomeAcked}, old},
		{"transient 1st", failure.Transient(boom), 1, decision{actRetry, time.Second, outcomeRetried}, old},
		{"transient 2nd", failure.Transient(boom), 2, decision{actRetry, 5 * time.Second, outcomeRetried}, old},
		{"transient 3rd", failure.Transient(boom), 3, decision{actRetry, 30 * time.Second, outcomeRetried}, old},
		{"transient at MaxDeliver dead-letters", failure.Transient(boom), 4, decision{action: actDeadLetter, outcome: outcomeDeadLettered}, old},
		{"unclassified is transient", boom, 2, decision{actRetry, 5 * time.Second, outcomeRetried}, old},
		{"unknown outcome retries", failure.UnknownOutcome(boom), 3, decision{actRetry, 30 * time.Second, outcomeRetried}, old},
		{"unknown outcome at MaxDeliver dead-letters", failure.UnknownOutcome(boom), 4, decision{action: actDeadLetter, outcome: outcomeDeadLettered}, old},
		{"retry-after longer than schedule wins", &failure.Error{Class: failure.ClassTransient, After: time.Minute, Err: boom}, 1, decision{actRetry, time.Minute, outcomeRetried}, old},
		{"retry-after shorter than schedule loses", &failure.Error{Class: failure.ClassTransient, After: time.Millisecond, Err: boom}, 2, decision{actRetry, 5 * time.Second, outcomeRetried}, old},
		{"permanent dead-letters at once", failure.Permanent(boom), 1, decision{action: actDeadLetter, outcome: outcomeDeadLettered}, old},
		{"not yet with a wait uses it", failure.NotYet(7*time.Second, boom), 1, decision{actRetry, 7 * time.Second, outcomeNotYet}, old},
		{"a claim's lease left is waited in full", failure.NotYet(29*time.Second, boom), 2, decision{actRetry, 29 * time.Second, outcomeNotYet}, old},
		{"not yet without a wait uses schedule", failure.NotYet(0, boom), 2, decision{actRetry, 5 * time.Second, outcomeNotYet}, old},
		{"not yet outlasts MaxDeliver", failure.NotYet(0, boom), 5, decision{actRetry, 10 * time.Minute, outcomeNotYet}, old},
		{"not yet at MaxDeliverNotYet dead-letters", failure.NotYet(0, boom), 6, decision{action: actDeadLetter, outcome: outcomeDeadLettered}, old},
		// Four deliveries in 10s were not-yets with waits of their own: the
		// schedule would have taken 36s to give them, so the delay is the
		// one a message of that age would be at (30s), not the 5th (10min).
		{"transient after not-yets, younger than the budget, waits as its age", failure.Transient(boom), 5, decision{actRetry, 30 * time.Second, outcomeRetried}, 10 * time.Second},
		{"not yet without a wait after quick not-yets waits as its age", failure.NotYet(0, boom), 5, decision{actRetry, time.Second, outcomeNotYet}, 500 * time.Millisecond},
		{"transient at MaxDeliverNotYet dead-letters whatever its age", failure.Transient(boom), 6, decision{action: actDeadLetter, outcome: outcomeDeadLettered}, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.decide(tc.err, tc.attempt, tc.age); got != tc.want {
				t.Errorf("decide(%v, %d, %v) = %+v, want %+v", tc.err, tc.attempt, tc.age, got, tc.want)
			}
		})
	}
}

func TestRetryDelay_LastEntryRepeats(t *testing.T) {
	t.Parallel()
	cfg := Config{}
	cfg.setDefaults()
	want := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
		10 * time.Minute, time.Hour, 4 * time.Hour, 4 * time.Hour, 4 * time.Hour}
	for i, w := range want {
		if got := cfg.retryDelay(uint64(i + 1)); got != w {
			t.Errorf("delay after delivery %d = %v, want %v", i+1, got, w)
		}
	}
	if got := cfg.retryDelay(0); got != time.Second {
		t.Errorf("delay after delivery 0 = %v, want the first entry", got)
	}
}

func TestConfig_RejectsInconsistentSettings(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Concurrency: -1},
		{Schedule: []time.Duration{time.Second, 0}},
		{MaxDeliver: 10, MaxDeliverNotYet: 5},
		{Concurrency: 100, MaxAckPending: 10},
		// 16 deliveries behind a live claim need a budget of 32.
		{MaxDeliverNotYet: 31},
		{AckWait: 3 * time.Second, MaxDeliverNotYet: 50},
	} {
		cfg.setDefaults()
		if err := cfg.validate(); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}

// TestConfig_LiveClaimNeverExhaustsTheNotYetBudget checks the arithmetic of
// claimedDeliveries: a message waiting behind a live claim, answered "not
// yet" with the time left on the holder's lease (at least AckWait minus one
// heartbeat, since the holder renews it at every heartbeat), for as long as
// the holder may run, uses at most half of its not-yet budget.
func TestConfig_LiveClaimNeverExhaustsTheNotYetBudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		deliveries int
		budget     int
	}{
		{"defaults", Config{}, 16, 50},
		// A short AckWait (tests, or an operator's choice) makes each wait
		// shorter: the default budget grows to cover it.
		{"ack wait 3s", Config{AckWait: 3 * time.Second}, 151, 302},
		{"ack wait 3s, handler timeout 30s", Config{AckWait: 3 * time.Second, HandlerTimeout: 30 * time.Second}, 16, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.setDefaults()
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			if got := cfg.claimedDeliveries(); got != tc.deliveries {
				t.Errorf("claimed deliveries %d, want %d", got, tc.deliveries)
			}
			if cfg.MaxDeliverNotYet != tc.budget {
				t.Errorf("not-yet budget %d, want %d", cfg.MaxDeliverNotYet, tc.budget)
			}
			// Walk the worst case: the holder renews at every heartbeat;
			// every answer waits the least time left on its lease.
			leastWait := cfg.AckWait - cfg.heartbeatEvery()
			deliveries := 0
			for waited := time.Duration(0); waited <= cfg.HandlerTimeout; waited += leastWait {
				if d := cfg.decide(failure.NotYet(leastWait, errors.New("claimed")), uint64(deliveries+1), waited); d.action != actRetry {
					t.Fatalf("delivery %d behind a live claim: %+v, want a retry", deliveries+1, d)
				}
				deliveries++
			}
			if 2*deliveries > cfg.MaxDeliverNotYet {
				t.Errorf("%d deliveries behind a live claim use more than half of the budget %d", deliveries, cfg.MaxDeliverNotYet)
			}
		})
	}
}

func TestHeaderValue_OneLineBounded(t *testing.T) {
	t.Parallel()
	got := headerValue("line one\r\nline two\x00")
	if got != "line one  line two " {
		t.Errorf("got %q", got)
	}
	long := headerValue(string(make([]rune, 2000)) + "é")
	if len(long) > 1024 {
		t.Errorf("length %d, want at most 1024", len(long))
	}
}
