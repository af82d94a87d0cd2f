package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/flows"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// eventRowsTestedElsewhere are the decision table's rows whose events
// answer the connector's own calls: their end-to-end tests, copies past the
// duplicate window included, are where those calls are tested.
var eventRowsTestedElsewhere = map[string]string{
	"adyen AUTHORISATION ":                  "TestDuplicates_AdyenNotificationsPastTheWindowActOnce (purchases and renewals answered pending, a refused renewal)",
	"adyen CAPTURE true":                    "TestDuplicates_AdyenNotificationsPastTheWindowActOnce/CAPTURE",
	"adyen CAPTURE_FAILED ":                 "TestDuplicates_AdyenNotificationsPastTheWindowActOnce/CAPTURE_FAILED",
	"adyen CANCELLATION ":                   "TestDuplicates_AdyenNotificationsPastTheWindowActOnce/CANCELLATION",
	"cleverbridge PurchasePaid ":            "TestDuplicates_CleverbridgeNotificationsPastTheWindowActOnce",
	"cleverbridge PurchaseDeclined ":        "TestDuplicates_CleverbridgeNotificationsPastTheWindowActOnce",
	"cleverbridge PurchaseAwaitingPayment ": "TestDuplicates_CleverbridgeNotificationsPastTheWindowActOnce",
	"cleverbridge PurchaseRefunded ":        "TestExternallyManaged_WholeLifeMirroredFromCleverbridgeEventsAlone, TestCleverbridge_RefundAndCancellationInCleverbridgeOfAConnectorBilledSubscription",
	"cleverbridge SubscriptionDeactivated ": "TestExternallyManaged_WholeLifeMirroredFromCleverbridgeEventsAlone, TestCleverbridge_RefundAndCancellationInCleverbridgeOfAConnectorBilledSubscription",
}

// ignoredAdyenEvents are the rows decided "ignore" whose events the sandbox
// sends about a captured payment (SendEvent).
var ignoredAdyenEvents = []string{
	"RECURRING_CONTRACT", "EXPIRE", "AUTHORISATION_ADJUSTMENT", "AUTORESCUE", "CANCEL_AUTORESCUE",
	"MANUAL_REVIEW_ACCEPT", "OFFER_CLOSED", "ORDER_OPENED", "ORDER_CLOSED", "POSTPONED_REFUND",
	"REFUND_WITH_DATA", "TECHNICAL_CANCEL", "VOID_PENDING_REFUND", "PAYOUT_THIRDPARTY", "PAYOUT_DECLINE",
	"PAYOUT_EXPIRE", "PAIDOUT_REVERSED", "REPORT_AVAILABLE",
}

// TestGatewayEvents_EachRowChangesCleengOnceAlsoPastTheDuplicateWindow:
// each row of the decision table (DESIGN section 1, "Gateway events") for
// an event the connector did not start, played by the Adyen sandbox as
// Adyen would send it, through the ingress and the workers: three copies
// at once and one more after the duplicate window leave Cleeng's payment
// as the row says, once, with the operator's record and alert where the
// row asks for them and no dead letter.
func TestGatewayEvents_EachRowChangesCleengOnceAlsoPastTheDuplicateWindow(t *testing.T) {
	reg := prometheus.NewRegistry()
	shared := newDupE2E(t, func(o *stack.DevOptions) { o.Registry = reg })
	logRuntimeErrors(t, shared)
	tested := map[string]bool{}
	row := func(id, name string, play func(e *e2e)) {
		tested[id] = true
		t.Run(name, func(t *testing.T) { play(shared.in(t)) })
	}

	row("adyen REFUND true", "REFUND in the Customer Area", func(e *e2e) {
		p := e.paidPurchase()
		e.holdAdyenNotifications()
		refund := e.refundInCustomerArea(p, 0)
		e.actsOnce(e.heldAdyenNotification("REFUND", p.psp), 0, func() {
			e.assertRefunded(p.id, cleeng.RefundTypeRefund, p.amount)
			e.assertEventRecord("REFUND", refund, "cleeng")
		})
	})
	row("adyen REFUND true", "partial REFUND in the Customer Area", func(e *e2e) {
		p := e.paidPurchase()
		e.holdAdyenNotifications()
		e.refundInCustomerArea(p, 300)
		e.actsOnce(e.heldAdyenNotification("REFUND", p.psp), 0, func() {
			e.assertRefunded(p.id, cleeng.RefundTypeRefund, cleeng.MustDecimal("3.00"))
		})
	})
	row("adyen REFUND false", "REFUND in the Customer Area of more than was captured", func(e *e2e) {
		p := e.paidPurchase()
		e.holdAdyenNotifications()
		refund := e.refundInCustomerArea(p, 1_000_000)
		e.actsOnce(e.heldAdyenNotification("REFUND", p.psp), 0, func() {
			e.assertPaymentStatus(p.id, cleeng.StatusCaptured)
			e.assertNoEventRecord("REFUND", refund)
		})
	})
	for _, undo := range []string{adyensandbox.EventRefundFailed, adyensandbox.EventRefundedReversed} {
		row("adyen "+undo+" ", undo+" of a refund made in the Customer Area", func(e *e2e) {
			p := e.paidPurchase()
			refund := e.refundInCustomerArea(p, 0)
			e.waitPaymentStatus(p.id, cleeng.StatusRefunded)
			e.adyenDelivered()
			e.holdAdyenNotifications()
			if !e.dev.Adyen.UndoRefund(p.psp, undo) {
				t.Fatal("the sandbox found no refund to undo")
			}
			e.actsOnce(e.heldAdyenNotification(undo, p.psp), 0, func() {
				e.assertRefunded(p.id, cleeng.RefundTypeRefund, p.amount) // Cleeng cannot undo it: the operator must
				e.assertEventRecord(undo, refund, "operator")
				e.assertForOperator(reg, undo, 1)
			})
		})
	}
	row("adyen CANCEL_OR_REFUND true", "CANCEL_OR_REFUND of a captured payment", func(e *e2e) {
		p := e.paidPurchase()
		e.holdAdyenNotifications()
		modification, _ := e.dev.Adyen.CancelOrRefund(p.psp)
		e.actsOnce(e.heldAdyenNotification("CANCEL_OR_REFUND", p.psp), 0, func() {
			e.assertRefunded(p.id, cleeng.RefundTypeRefund, p.amount)
			e.assertEventRecord("CANCEL_OR_REFUND", modification, "cleeng")
		})
	})
	row("adyen CANCEL_OR_REFUND true", "CANCEL_OR_REFUND of an authorised renewal", func(e *e2e) {
		renewal := e.authorisedRenewal(e.subscribe("DE"))
		e.adyenDelivered()
		e.holdAdyenNotifications()
		e.dev.Adyen.CancelOrRefund(renewal.ExternalPaymentID)
		e.actsOnce(e.heldAdyenNotification("CANCEL_OR_REFUND", renewal.ExternalPaymentID), 0, func() {
			e.assertPaymentStatus(renewal.ID, cleeng.StatusCancelled)
		})
	})
	row("adyen CANCEL_OR_REFUND false", "CANCEL_OR_REFUND of a payment refunded already", func(e *e2e) {
		p := e.paidPurchase()
		e.refundInCustomerArea(p, 0)
		e.waitPaymentStatus(p.id, cleeng.StatusRefunded)
		e.adyenDelivered()
		e.holdAdyenNotifications()
		modification, _ := e.dev.Adyen.CancelOrRefund(p.psp)
		e.actsOnce(e.heldAdyenNotification("CANCEL_OR_REFUND", p.psp), 0, func() {
			e.assertRefunded(p.id, cleeng.RefundTypeRefund, p.amount)
			e.assertNoEventRecord("CANCEL_OR_REFUND", modification)
		})
	})

	// Disputes: each stage played after the ones it follows, which the
	// connector handled first.
	for _, dispute := range []struct {
		stages   []string // the last is the row's
		decision string
		cleeng   cleeng.PaymentStatus
		disputed int64 // of the last stage, in Adyen's minor units; 0: the whole payment
	}{
		{[]string{adyensandbox.EventNotificationOfChargeback}, "record", cleeng.StatusCaptured, 0},
		{[]string{adyensandbox.EventRequestForInformation}, "record", cleeng.StatusCaptured, 0},
		{[]string{adyensandbox.EventNotificationOfFraud}, "record", cleeng.StatusCaptured, 0},
		{[]string{adyensandbox.EventNotificationOfChargeback, adyensandbox.EventChargeback}, "cleeng", cleeng.StatusRefunded, 450},
		{[]string{adyensandbox.EventChargeback, adyensandbox.EventChargebackReversed}, "operator", cleeng.StatusRefunded, 0},
		{[]string{adyensandbox.EventChargeback, adyensandbox.EventChargebackReversed, adyensandbox.EventSecondChargeback}, "cleeng", cleeng.StatusRefunded, 0},
		{[]string{adyensandbox.EventChargeback, adyensandbox.EventPrearbitrationWon}, "operator", cleeng.StatusRefunded, 0},
		{[]string{adyensandbox.EventChargeback, adyensandbox.EventPrearbitrationLost}, "cleeng", cleeng.StatusRefunded, 0},
	} {
		code := dispute.stages[len(dispute.stages)-1]
		row("adyen "+code+" ", code, func(e *e2e) {
			p := e.paidPurchase()
			for _, earlier := range dispute.stages[:len(dispute.stages)-1] {
				e.waitEventDone(earlier, e.dispute(p, earlier, 0))
			}
			e.adyenDelivered()
			e.holdAdyenNotifications()
			psp := e.dispute(p, code, dispute.disputed)
			e.actsOnce(e.heldAdyenNotification(code, p.psp), 0, func() {
				e.assertPaymentStatus(p.id, dispute.cleeng)
				if dispute.cleeng == cleeng.StatusRefunded {
					amount := p.amount
					if dispute.disputed != 0 {
						amount = cleeng.MustDecimal("4.50")
					}
					e.assertRefunded(p.id, cleeng.RefundTypeChargeback, amount)
				}
				e.assertEventRecord(code, psp, dispute.decision)
				if dispute.decision == "operator" {
					e.assertForOperator(reg, code, 1)
				}
			})
		})
	}
	row("adyen MANUAL_REVIEW_REJECT ", "MANUAL_REVIEW_REJECT", func(e *e2e) {
		p := e.paidPurchase()
		e.holdAdyenNotifications()
		e.dev.Adyen.SendEvent(p.psp, "MANUAL_REVIEW_REJECT")
		e.actsOnce(e.heldAdyenNotification("MANUAL_REVIEW_REJECT", p.psp), 0, func() {
			e.assertPaymentStatus(p.id, cleeng.StatusCaptured)
			e.assertEventRecord("MANUAL_REVIEW_REJECT", e.lastAdyenEvent("MANUAL_REVIEW_REJECT"), "operator")
			e.assertForOperator(reg, "MANUAL_REVIEW_REJECT", 1)
		})
	})
	row("adyen CAPTURE false", "CAPTURE refused after the authorisation EXPIREd", func(e *e2e) {
		sub := e.subscribe("DE")
		renewal := e.authorisedRenewal(sub)
		if !e.dev.Adyen.SendEvent(renewal.ExternalPaymentID, "EXPIRE") {
			t.Fatal("no Adyen payment of the renewal")
		}
		e.adyenDelivered()
		e.holdAdyenNotifications()
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: dueDate})
		e.waitStep(ops.Key("capture", sub.SubscriptionID.String(), dueDate), "done")
		e.actsOnce(e.heldAdyenNotification("CAPTURE", renewal.ExternalPaymentID), 0, func() {
			e.assertPaymentStatus(renewal.ID, cleeng.StatusRejected)
		})
	})

	ignored := shared.paidPurchase()
	for _, code := range ignoredAdyenEvents {
		row("adyen "+code+" ", code, func(e *e2e) {
			e.holdAdyenNotifications()
			if !e.dev.Adyen.SendEvent(ignored.psp, code) {
				t.Fatal("no Adyen payment", ignored.psp)
			}
			about := ignored.psp
			if code == "RECURRING_CONTRACT" {
				about = e.lastAdyenEvent(code) // its pspReference is the token
			}
			e.actsOnce(e.heldAdyenNotification(code, about), 0, func() {
				e.assertPaymentStatus(ignored.id, cleeng.StatusCaptured)
				e.assertNoEventRecord(code, e.lastAdyenEvent(code))
			})
		})
	}

	for _, id := range flows.EventRows() {
		if !tested[id] && eventRowsTestedElsewhere[id] == "" {
			t.Errorf("decision table row %q has no end-to-end test", id)
		}
	}
}

// logRuntimeErrors logs what the dev stack's worker runtimes report until
// the test ends. Every row restarts the runtimes (deliverCopies), and one
// that cannot start (its consumer not created in time on a busy machine)
// reports on a channel of four: unread, a fifth report would block
// StopWorkers for good.
func logRuntimeErrors(t *testing.T, e *e2e) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case err := <-e.dev.Err():
				t.Logf("worker runtime: %v", err)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// purchase is a captured initial purchase.
type purchase struct {
	id     cleeng.ID // the Cleeng payment
	psp    string    // its Adyen pspReference
	amount cleeng.Decimal
}

// paidPurchase buys the demo offer in Germany with a good card.
func (e *e2e) paidPurchase() purchase {
	e.t.Helper()
	out := e.pay(e.order("DE", stack.DemoOffer.ID).ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	if out.Status != "captured" {
		e.t.Fatalf("purchase: %+v", out)
	}
	p, _ := e.dev.Cleeng.State().Payment(out.PaymentID)
	e.adyenDelivered()
	return purchase{id: out.PaymentID, psp: out.ExternalPaymentID, amount: p.Amount}
}

// adyenDelivered waits until the ingress accepted every notification the
// Adyen sandbox made: one still on its way when a test holds them would
// wait out the sandbox's delivery backoff after the release.
func (e *e2e) adyenDelivered() {
	e.t.Helper()
	testkit.Eventually(e.t, 15*time.Second, "every Adyen notification delivered", func() bool {
		for _, n := range e.dev.Adyen.Notifications() {
			if !n.Delivered {
				return false
			}
		}
		return true
	})
}

// refundInCustomerArea refunds value (Adyen minor units, 0 all) of p at
// Adyen, as a person does in the Customer Area, and returns the refund's
// pspReference.
func (e *e2e) refundInCustomerArea(p purchase, value int64) string {
	e.t.Helper()
	refund, ok := e.dev.Adyen.RefundInCustomerArea(p.psp, value)
	if !ok {
		e.t.Fatalf("no Adyen payment %s", p.psp)
	}
	return refund
}

// dispute plays dispute stage code of p at Adyen, disputing value (Adyen's
// minor units; 0 the whole payment), and returns the dispute's pspReference.
func (e *e2e) dispute(p purchase, code string, value int64) string {
	e.t.Helper()
	psp, err := e.dev.Adyen.Dispute(p.psp, code, value)
	if err != nil {
		e.t.Fatal(err)
	}
	return psp
}

// lastAdyenEvent returns the pspReference of the last notification code.
func (e *e2e) lastAdyenEvent(code string) string {
	e.t.Helper()
	sent := e.dev.Adyen.Notifications()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Item.EventCode == code {
			return sent[i].Item.PspReference
		}
	}
	e.t.Fatalf("no Adyen notification %s", code)
	return ""
}

// eventKey is the operation record of an Adyen event.
func eventKey(code, psp string) string { return ops.Key("event", "adyen", code, psp) }

func (e *e2e) waitEventDone(code, psp string) {
	e.t.Helper()
	e.waitStep(eventKey(code, psp), "done")
}

// assertEventRecord checks the event's operation record is done, with decision.
func (e *e2e) assertEventRecord(code, psp, decision string) {
	e.t.Helper()
	rec, err := ops.Get[struct {
		Decision string `json:"decision"`
		Unknown  bool   `json:"unknown"`
	}](context.Background(), ops.NewStore(e.dev.Broker.Ops), eventKey(code, psp))
	if err != nil {
		e.t.Fatalf("record of %s %s: %v", code, psp, err)
	}
	if rec.Status != ops.StatusDone || rec.State.Decision != decision || rec.State.Unknown {
		e.t.Fatalf("record of %s %s: %s, %+v; want done, decision %s, a payment of the connector", code, psp, rec.Status, rec.State, decision)
	}
}

// assertNoEventRecord checks the event left no operation record.
func (e *e2e) assertNoEventRecord(code, psp string) {
	e.t.Helper()
	if _, err := ops.Get[struct{}](context.Background(), ops.NewStore(e.dev.Broker.Ops), eventKey(code, psp)); err == nil {
		e.t.Fatalf("%s %s left an operation record; it changes nothing", code, psp)
	}
}

// assertRefunded checks Cleeng payment id is refunded as refundType, amount.
func (e *e2e) assertRefunded(id cleeng.ID, refundType cleeng.RefundType, amount cleeng.Decimal) {
	e.t.Helper()
	e.waitPaymentStatus(id, cleeng.StatusRefunded)
	p, _ := e.dev.Cleeng.State().Payment(id)
	if p.RefundType != refundType || p.RefundedAmount == nil || !p.RefundedAmount.Equal(amount.Decimal) {
		e.t.Fatalf("Cleeng payment %s refunded %v as %q, want %s as %q", id, p.RefundedAmount, p.RefundType, amount, refundType)
	}
}

// assertForOperator checks the operator alert's counter of an Adyen event code.
func (e *e2e) assertForOperator(reg *prometheus.Registry, code string, want float64) {
	e.t.Helper()
	families, err := reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "connector_gateway_events_for_operator_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["gateway"] == "adyen" && labels["event"] == code {
				if got := m.GetCounter().GetValue(); got != want {
					e.t.Fatalf("connector_gateway_events_for_operator_total{event=%q} = %v, want %v", code, got, want)
				}
				return
			}
		}
	}
	e.t.Fatalf("connector_gateway_events_for_operator_total{event=%q} is not exported", code)
}
