package workers

import (
	"errors"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
)

func TestDecide_ChoosesActionAndDelayPerAttempt(t *testing.T) {
	cfg := Config{MaxDeliver: 4, MaxDeliverNotYet: 6}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	cases := []struct {
		name    string
		err     error
		attempt uint64
		want    decision
	}{
		{"success acks", nil, 1, decision{action: actAck, outcome: outcomeAcked}},
		{"success on the last delivery acks", nil, 6, decision{action: actAck, outcome: outcomeAcked}},
		{"transient 1st", failure.Transient(boom), 1, decision{actRetry, time.Second, outcomeRetried}},
		{"transient 2nd", failure.Transient(boom), 2, decision{actRetry, 5 * time.Second, outcomeRetried}},
		{"transient 3rd", failure.Transient(boom), 3, decision{actRetry, 30 * time.Second, outcomeRetried}},
		{"transient at MaxDeliver dead-letters", failure.Transient(boom), 4, decision{action: actDeadLetter, outcome: outcomeDeadLettered}},
		{"unclassified is transient", boom, 2, decision{actRetry, 5 * time.Second, outcomeRetried}},
		{"unknown outcome retries", failure.UnknownOutcome(boom), 3, decision{actRetry, 30 * time.Second, outcomeRetried}},
		{"unknown outcome at MaxDeliver dead-letters", failure.UnknownOutcome(boom), 4, decision{action: actDeadLetter, outcome: outcomeDeadLettered}},
		{"retry-after longer than schedule wins", &failure.Error{Class: failure.ClassTransient, After: time.Minute, Err: boom}, 1, decision{actRetry, time.Minute, outcomeRetried}},
		{"retry-after shorter than schedule loses", &failure.Error{Class: failure.ClassTransient, After: time.Millisecond, Err: boom}, 2, decision{actRetry, 5 * time.Second, outcomeRetried}},
		{"permanent dead-letters at once", failure.Permanent(boom), 1, decision{action: actDeadLetter, outcome: outcomeDeadLettered}},
		{"not yet with a wait uses it", failure.NotYet(7*time.Second, boom), 1, decision{actRetry, 7 * time.Second, outcomeNotYet}},
		{"not yet without a wait uses schedule", failure.NotYet(0, boom), 2, decision{actRetry, 5 * time.Second, outcomeNotYet}},
		{"not yet outlasts MaxDeliver", failure.NotYet(0, boom), 5, decision{actRetry, 10 * time.Minute, outcomeNotYet}},
		{"not yet at MaxDeliverNotYet dead-letters", failure.NotYet(0, boom), 6, decision{action: actDeadLetter, outcome: outcomeDeadLettered}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.decide(tc.err, tc.attempt); got != tc.want {
				t.Errorf("decide(%v, %d) = %+v, want %+v", tc.err, tc.attempt, got, tc.want)
			}
		})
	}
}

func TestRetryDelay_LastEntryRepeats(t *testing.T) {
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
	for _, cfg := range []Config{
		{Concurrency: -1},
		{Schedule: []time.Duration{time.Second, 0}},
		{MaxDeliver: 10, MaxDeliverNotYet: 5},
		{Concurrency: 100, MaxAckPending: 10},
	} {
		cfg.setDefaults()
		if err := cfg.validate(); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}

func TestHeaderValue_OneLineBounded(t *testing.T) {
	got := headerValue("line one\r\nline two\x00")
	if got != "line one  line two " {
		t.Errorf("got %q", got)
	}
	long := headerValue(string(make([]rune, 2000)) + "é")
	if len(long) > 1024 {
		t.Errorf("length %d, want at most 1024", len(long))
	}
}
