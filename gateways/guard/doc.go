// Package guard keeps the connector gentle on a payment gateway: it wraps a
// gateways.Gateway so that every call first waits for a rate limiter
// (golang.org/x/time/rate) and passes a circuit breaker
// (github.com/sony/gobreaker/v2), both one per gateway in this process.
//
// The limit is backpressure: a call waits for its turn, while the worker
// runtime's heartbeats keep its message, and never fails for it. Only a
// wait longer than the handler has left is handed back, as "not yet" for
// that wait, without taking a turn.
//
// The breaker opens after a run of failed calls (5xx, 429, timeouts, no
// answer: the failure classes transient and unknown outcome) and refuses
// calls until a cool-down has passed, then lets one probe through: its
// success closes the breaker, its failure opens it again. Refusals (a card
// declined) and 4xx answers are the gateway working, and count as successes.
// A refused call was never sent, so it is transient (retried on the
// redelivery schedule), never permanent and never an unknown outcome; a
// call that was sent returns its own result and error, unchanged.
package guard
