// Package workers is the worker runtime: it runs flows (message handlers) on
// durable JetStream pull consumers of the CONNECTOR_INBOX stream and decides,
// in one place, what happens to each message after its handler returns: ack,
// delayed redelivery (NakWithDelay on a schedule) or dead-letter to
// CONNECTOR_DLQ (DESIGN sections 2, 3 and 5).
//
// It knows nothing about payments. A handler returns nil when the work is
// done, or an error classified with internal/failure; see Config.decide for
// the failure policy. Handlers never ack, nak or terminate messages.
//
// Each flow has one durable consumer named after it, shared by every
// replica of the worker: any number of Runtimes, in any number of
// processes, can run the same flows and JetStream hands each message to one
// of them at a time. A Runtime bounds the handlers in flight per flow, sends
// InProgress heartbeats while a handler runs, and drains gracefully when its
// context is cancelled (SIGTERM): it stops fetching, hands back messages it
// had buffered, lets running handlers finish within DrainTimeout, and never
// acks work that was cut off.
package workers
