package workers

import (
	"time"

	"github.com/cleeng-connector/connector/internal/failure"
)

// action is what happens to a message after its handler returned.
type action int

const (
	actAck action = iota
	actRetry
	actDeadLetter
)

// decision is the outcome of the failure policy for one delivery.
type decision struct {
	action action
	// delay before the next delivery, for actRetry.
	delay time.Duration
	// outcome is the metric label.
	outcome string
}

// Outcome labels of the connector_worker_messages_total counter.
const (
	outcomeAcked            = "acked"
	outcomeRetried          = "retried"
	outcomeNotYet           = "not_yet"
	outcomeDeadLettered     = "dead_lettered"
	outcomeAckFailed        = "ack_failed"
	outcomeDeadLetterFailed = "dead_letter_failed"
	outcomeDrained          = "drained"
)

var outcomes = []string{outcomeAcked, outcomeRetried, outcomeNotYet, outcomeDeadLettered,
	outcomeAckFailed, outcomeDeadLetterFailed, outcomeDrained}

// decide maps a handler's result on delivery number attempt (1 for the
// first) of a message stored age ago to an action. It is the only place
// that does.
//
// Failure policy:
//   - nil: the work is done; ack it. The ack does not wait for the
//     server: the flow's operation record makes a redelivery after a lost
//     ack a no-op (DESIGN section 12).
//   - Permanent: repeating cannot help (bad input, rejected credentials, an
//     unknown payment method); dead-letter it at once with the reason, so
//     an operator sees it and can replay it after a fix.
//   - Transient and UnknownOutcome: the next try may succeed (an unknown
//     outcome is resolved by the flow retrying with the same idempotency
//     key); redeliver after Schedule[attempt-1], or later if the error says
//     when (Retry-After). Once the message has had MaxDeliver deliveries and
//     is as old as the schedule takes to give them, the failure dead-letters
//     instead, so exhausting the attempts never drops a message silently.
//     The age condition keeps deliveries spent on "not yet" (which
//     JetStream counts too) from eating the transient budget.
//     Unclassified errors are transient (failure.ClassOf).
//   - NotYet: a precondition is still in flight; redeliver after the wait
//     the error names, else on the schedule. JetStream counts every
//     delivery, so "not yet" cannot be left uncounted; it gets the larger
//     budget MaxDeliverNotYet, which also caps every other class.
func (c *Config) decide(err error, attempt uint64, age time.Duration) decision {
	if err == nil {
		return decision{action: actAck, outcome: outcomeAcked}
	}
	class := failure.ClassOf(err)
	if class == failure.ClassPermanent || attempt >= uint64(c.MaxDeliverNotYet) {
		return decision{action: actDeadLetter, outcome: outcomeDeadLettered}
	}
	if class == failure.ClassNotYet {
		delay := failure.RetryAfter(err)
		if delay <= 0 {
			delay = c.delayAt(attempt, age)
		}
		return decision{action: actRetry, delay: delay, outcome: outcomeNotYet}
	}
	// transient, unknown outcome
	if attempt >= uint64(c.MaxDeliver) && age >= c.transientBudget() {
		return decision{action: actDeadLetter, outcome: outcomeDeadLettered}
	}
	return decision{action: actRetry, delay: max(c.delayAt(attempt, age), failure.RetryAfter(err)), outcome: outcomeRetried}
}

// delayAt is the schedule's delay after delivery number attempt of a
// message of age, but no more than the schedule would wait had every
// delivery so far failed on it: deliveries spent on "not yet" with a wait
// of their own (a renewal looking for its notification every half second,
// a claim's lease) count in attempt, and must not send the first
// transient failure after them to the schedule's far end (an hour) when
// the message is seconds old.
func (c *Config) delayAt(attempt uint64, age time.Duration) time.Duration {
	var waited time.Duration
	for n := uint64(1); n < attempt; n++ {
		d := c.retryDelay(n)
		if waited+d > age {
			return d
		}
		waited += d
	}
	return c.retryDelay(attempt)
}

// transientBudget is how long the schedule takes to give MaxDeliver deliveries.
func (c *Config) transientBudget() time.Duration {
	var total time.Duration
	for attempt := uint64(1); attempt < uint64(c.MaxDeliver); attempt++ {
		total += c.retryDelay(attempt)
	}
	return total
}

// retryDelay is the schedule's delay after delivery number attempt.
func (c *Config) retryDelay(attempt uint64) time.Duration {
	i := min(max(attempt, 1)-1, uint64(len(c.Schedule)-1))
	return c.Schedule[i]
}
