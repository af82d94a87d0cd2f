// Package deadletter reads and replays the dead-letter stream CONNECTOR_DLQ
// (DESIGN section 3): the messages a flow gave up on, stored by the workers
// runtime on dlq.<flow> with the reason in Connector-* headers.
//
// Replay puts a letter back on the inbox subject it came from, payload byte
// for byte with its original headers, under a Nats-Msg-Id derived from the
// letter, waits for the inbox's ack and only then deletes the letter: an
// interrupted or repeated replay stores the message in the inbox once. The
// replayed message is marked with workers.HeaderReplay (ReplayMarker): the
// flows re-open a failed operation for a marked message, and nothing but a
// replay marks one.
//
// Payloads can hold front-end card data and Cleeng webhook tokens: this
// package returns them to its caller and never logs them.
package deadletter
