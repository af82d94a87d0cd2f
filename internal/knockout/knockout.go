// Package knockout switches off one of the connector's idempotency
// mechanisms (DESIGN section 4), to prove that `make chaos` notices: issue
// 11 asks that its checker fail when any one of them is missing. It exists
// only for that proof. A switch can be on only in a binary built with
// `-tags knockout` (make connector-knockout, bin/connector-knockout), and
// there only when CONNECTOR_KNOCKOUT names it; in every other build Built
// is the constant false, so Off is constant false and the compiler drops
// the knocked-out branches: the production binary (make build) cannot run
// them.
package knockout

// Mechanism is one idempotency mechanism that can be switched off.
type Mechanism string

const (
	// OperationRecords: a finished operation's record is forgotten when
	// the message that starts it comes again (flows' runner), so a
	// redelivered or re-sent message does the operation again.
	OperationRecords Mechanism = "operation-records"
	// IdempotencyKeys: the gateway calls carry no Idempotency-Key
	// (gateways/adyen), so a retried call after a lost answer is new to
	// the gateway.
	IdempotencyKeys Mechanism = "idempotency-keys"
	// Intent: no intent is recorded before a call to a gateway without
	// idempotency keys (Cleverbridge's Process Cart, flows' renewal), so
	// a worker killed during the call leaves a renewal that calls again
	// instead of one in doubt.
	Intent Mechanism = "intent"
)

// Mechanisms are the switches, in the order the issue names them.
var Mechanisms = []Mechanism{OperationRecords, IdempotencyKeys, Intent}

// Env names the variable that switches one mechanism off in a knockout build.
const Env = "CONNECTOR_KNOCKOUT"

// Off reports whether m is switched off: never, unless Built.
func Off(m Mechanism) bool { return Built && switchedOff == m }
