// Package console is the operator console: a web page the production binary
// serves (`connector console`, and `connector-dev dev` beside its stack) for
// the person on call. It shows the dead letters with their reasons and
// replays one after a confirmation, the operations in progress, parked and
// failed with their earlier attempts, the timeline of one subscription or
// order as the operation records and the payment index hold it, and the
// health of the JetStream streams and consumers.
//
// It is a composition root beside cmd/connector: it reads through the same
// packages the operator commands use (cmd/connector/deadletter,
// internal/ops, internal/broker) and changes nothing but what a replay
// changes. Pages are rendered on the server with html/template from embedded
// files; nothing is fetched from elsewhere and no script runs in the page.
// Every route is behind HTTP Basic credentials of the console's own; the
// replay is a POST carrying a token derived from the letter, and
// cross-origin POSTs are refused. Card data, tokens and encrypted fields are
// redacted (internal/redact) before a page shows a record or a payload.
package console
