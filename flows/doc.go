// Package flows is the connector's payment logic: one flow per connector
// function of DESIGN section 1 (initial purchase and free trial, recurring
// authorise, capture and capture-only, termination, payment-details update
// and deactivation, refund, and gateway notifications).
//
// Each flow is a list of named steps and parked states (flow, runner.go),
// the same as its row of DESIGN section 1's table. It claims an operation
// record keyed on the business operation (initial.<orderId>,
// authorise.<subscriptionId>.<dunningAttemptDate>, ...); the runner records
// each step's result before the next step, and resumes from the last
// recorded step on redelivery; gateway calls carry idempotency keys derived
// from the same operation. An operator's replay of a dead letter
// re-opens a failed operation as a new attempt (replay.go). Flows return
// classified errors (internal/failure) and never ack, retry or dead-letter
// themselves: the worker runtime does. Flows are the only place business
// decisions live.
package flows
