package flows

import (
	"context"

	"github.com/cleeng-connector/connector/gateways"
)

// eventDecision is what the connector does with a gateway event it did not
// ask for (DESIGN section 1, "Gateway events"). An event that answers the
// connector's own call (a refund's REFUND, a pending payment's
// AUTHORISATION) completes that call's operation whatever the row says.
type eventDecision string

const (
	// decideCleeng: Cleeng's payment is changed to say what happened.
	decideCleeng eventDecision = "cleeng"
	// decideRecord: an operation record keeps the event for the operator
	// (connector ops, the console); Cleeng has nothing to change yet.
	decideRecord eventDecision = "record"
	// decideOperator: recorded as decideRecord, and counted in
	// connector_gateway_events_for_operator_total, which alerts: Cleeng
	// has no way to say it (a refund or chargeback undone) and a person
	// must correct the Cleeng payment.
	decideOperator eventDecision = "operator"
	// decideIgnore: acknowledged, nothing recorded or changed; the row's
	// text says why.
	decideIgnore eventDecision = "ignore"
)

// eventRow is one row of the decision table: the events of one gateway
// with one code (and, where it matters, one outcome).
type eventRow struct {
	Gateway string
	Code    string
	// Success limits the row to "true" or "false" events; "" is both.
	Success  string
	Decision eventDecision
	// Cleeng is what Cleeng is asked to do for a decideCleeng row the
	// connector did not start (nil for the other rows).
	Cleeng cleengChange
	// handle runs the row (nil: decideIgnore, acknowledged).
	handle func(f *Flows, ctx context.Context, ev gateways.Event, row eventRow) error
}

// cleengChange is the Cleeng side of a decideCleeng row.
type cleengChange string

const (
	cleengRefunded       cleengChange = "refunded"         // PATCH refunded, refundType refund, the event's amount
	cleengChargedBack    cleengChange = "charged-back"     // PATCH refunded, refundType chargeback, the disputed amount
	cleengCancelRefunded cleengChange = "cancel-or-refund" // PATCH cancel or refunded, as the gateway chose
)

const (
	gatewayAdyen        = "adyen"        // gateways/adyen.Name
	gatewayCleverbridge = "cleverbridge" // gateways/cleverbridge.Name
)

// Handlers of the rows. The answers to the connector's own calls resume the
// operations waiting for them; the rest run the event flow (eventflow.go).
var (
	settlesPayment = func(f *Flows, ctx context.Context, ev gateways.Event, _ eventRow) error {
		return f.paymentNotified(ctx, ev)
	}
	failsCapture = func(f *Flows, ctx context.Context, ev gateways.Event, _ eventRow) error {
		return f.captureFailed(ctx, ev)
	}
	refundEvent  = (*Flows).refundEvent
	recordsEvent = (*Flows).recordEvent
)

// eventTable is DESIGN section 1's "Gateway events" table: every Adyen
// eventCode of Webhooks-v1.json and every Cleverbridge notification type
// the connector subscribes to. GatewayEvent dispatches on it and
// TestDesignEventTableIsTheCodesTable compares it with DESIGN.md.
var eventTable = []eventRow{
	// Answers to the connector's own calls.
	{Gateway: gatewayAdyen, Code: "AUTHORISATION", Decision: decideCleeng, handle: settlesPayment},
	{Gateway: gatewayAdyen, Code: "CAPTURE", Success: "true", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "CAPTURE", Success: "false", Decision: decideCleeng, handle: failsCapture},
	{Gateway: gatewayAdyen, Code: "CAPTURE_FAILED", Decision: decideCleeng, handle: failsCapture},
	{Gateway: gatewayAdyen, Code: "CANCELLATION", Decision: decideIgnore},
	// Refunds, the connector's or made elsewhere (the Customer Area).
	{Gateway: gatewayAdyen, Code: "REFUND", Success: "true", Decision: decideCleeng, Cleeng: cleengRefunded, handle: refundEvent},
	{Gateway: gatewayAdyen, Code: "REFUND", Success: "false", Decision: decideIgnore, handle: refundEvent},
	{Gateway: gatewayAdyen, Code: "REFUND_FAILED", Decision: decideOperator, handle: refundEvent},
	{Gateway: gatewayAdyen, Code: "REFUNDED_REVERSED", Decision: decideOperator, handle: refundEvent},
	{Gateway: gatewayAdyen, Code: "CANCEL_OR_REFUND", Success: "true", Decision: decideCleeng, Cleeng: cleengCancelRefunded, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "CANCEL_OR_REFUND", Success: "false", Decision: decideIgnore},
	// Disputes.
	{Gateway: gatewayAdyen, Code: "NOTIFICATION_OF_CHARGEBACK", Decision: decideRecord, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "REQUEST_FOR_INFORMATION", Decision: decideRecord, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "NOTIFICATION_OF_FRAUD", Decision: decideRecord, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "CHARGEBACK", Decision: decideCleeng, Cleeng: cleengChargedBack, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "CHARGEBACK_REVERSED", Decision: decideOperator, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "SECOND_CHARGEBACK", Decision: decideCleeng, Cleeng: cleengChargedBack, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "PREARBITRATION_WON", Decision: decideOperator, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "PREARBITRATION_LOST", Decision: decideCleeng, Cleeng: cleengChargedBack, handle: recordsEvent},
	// Tokens.
	{Gateway: gatewayAdyen, Code: "RECURRING_CONTRACT", Decision: decideIgnore},
	// The rest.
	{Gateway: gatewayAdyen, Code: "EXPIRE", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "AUTHORISATION_ADJUSTMENT", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "AUTORESCUE", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "CANCEL_AUTORESCUE", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "MANUAL_REVIEW_ACCEPT", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "MANUAL_REVIEW_REJECT", Decision: decideOperator, handle: recordsEvent},
	{Gateway: gatewayAdyen, Code: "OFFER_CLOSED", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "ORDER_OPENED", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "ORDER_CLOSED", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "POSTPONED_REFUND", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "REFUND_WITH_DATA", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "TECHNICAL_CANCEL", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "VOID_PENDING_REFUND", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "PAYOUT_THIRDPARTY", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "PAYOUT_DECLINE", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "PAYOUT_EXPIRE", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "PAIDOUT_REVERSED", Decision: decideIgnore},
	{Gateway: gatewayAdyen, Code: "REPORT_AVAILABLE", Decision: decideIgnore},
	// Cleverbridge's purchase notifications.
	{Gateway: gatewayCleverbridge, Code: "PurchasePaid", Decision: decideCleeng, handle: mirrorsElse(settlesPayment)},
	{Gateway: gatewayCleverbridge, Code: "PurchaseDeclined", Decision: decideCleeng, handle: mirrorsElse(settlesPayment)},
	{Gateway: gatewayCleverbridge, Code: "PurchaseAwaitingPayment", Decision: decideIgnore},
	{Gateway: gatewayCleverbridge, Code: "PurchaseRefunded", Decision: decideCleeng, Cleeng: cleengRefunded, handle: recordsEvent},
	{Gateway: gatewayCleverbridge, Code: eventSubscriptionDeactivated, Decision: decideCleeng, handle: mirrorsElse(nil)},
}

// eventRowOf finds ev's row; ok is false for an event the table lacks.
func eventRowOf(ev gateways.Event) (eventRow, bool) {
	success := "false"
	if ev.Success {
		success = "true"
	}
	for _, row := range eventTable {
		if row.Gateway == ev.Gateway && row.Code == ev.Code && (row.Success == "" || row.Success == success) {
			return row, true
		}
	}
	return eventRow{}, false
}
