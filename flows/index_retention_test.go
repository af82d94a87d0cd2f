package flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// expireOperationRecords lets the operation records expire as their TTL
// (35 days) would: the deployment's topology is declared again with a
// one-second OpsTTL, as a process started with other settings does, until
// the record under key is gone; then the default TTL is declared back, so
// the operations the test starts next outlive it.
func (e *e2e) expireOperationRecords(key string) {
	e.t.Helper()
	declare := func(opsTTL time.Duration) {
		b, err := broker.Open(context.Background(), broker.Options{URL: e.dev.Broker.Server.ClientURL(), OpsTTL: opsTTL, Name: "test-redeclare"})
		if err != nil {
			e.t.Fatal(err)
		}
		b.Close()
	}
	declare(time.Second)
	store := ops.NewStore(e.dev.Broker.Ops)
	testkit.Eventually(e.t, 30*time.Second, "operation record "+key+" expired", func() bool {
		_, err := ops.Get[json.RawMessage](context.Background(), store, key)
		return errors.Is(err, ops.ErrNotFound)
	})
	declare(0)
}

// paymentOlderThanItsOperationRecord buys a subscription with Adyen and
// lets the purchase's operation record expire; it returns the Cleeng payment.
func (e *e2e) paymentOlderThanItsOperationRecord() cleeng.Payment {
	e.t.Helper()
	sub := e.subscribe("DE")
	initial := e.payments(sub.SubscriptionID)[0]
	e.expireOperationRecords(e.initialKey(initial.OrderID))
	return initial
}

// TestRefund_PaymentOlderThanItsOperationRecordIsRefunded: refunds and
// chargebacks come months after the payment, long after its operation
// record expired. With several gateways configured, the refund must still
// find the payment's gateway, and the gateway's confirmation its Cleeng
// payment.
func TestRefund_PaymentOlderThanItsOperationRecordIsRefunded(t *testing.T) {
	e := newE2E(t)
	initial := e.paymentOlderThanItsOperationRecord()

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
	var letters []deadletter.Letter
	testkit.Eventually(t, 15*time.Second, "Cleeng payment refunded or a dead letter", func() bool {
		letters = nil
		for _, flow := range []string{"refund", "gateway-events"} {
			l, err := deadletter.List(context.Background(), e.dev.Broker.JS, flow)
			if err != nil {
				t.Fatal(err)
			}
			letters = append(letters, l...)
		}
		p, _ := e.dev.Cleeng.State().Payment(initial.ID)
		return len(letters) > 0 || p.Status == cleeng.StatusRefunded
	})
	for _, l := range letters {
		t.Errorf("dead letter on %s: %s", l.Flow, l.Error)
	}
	if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); charge.Refunded != 999 {
		t.Errorf("Adyen refunded %d, want 999", charge.Refunded)
	}
	if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.Status != cleeng.StatusRefunded {
		t.Errorf("Cleeng payment %s, want refunded", p.Status)
	}
}

// TestRefund_MadeAtTheGatewayAfterTheOperationRecordExpiredIsRefundedInCleeng:
// a refund an operator makes in the gateway's console, months after the
// payment, is none of the connector's doing: its REFUND notification finds
// the payment in the index, sees no refund operation of the connector's and
// has Cleeng's payment refunded (DESIGN section 1, "Gateway events"). The
// index entry must name the Cleeng payment itself, since the operation
// record it was written from is gone.
func TestRefund_MadeAtTheGatewayAfterTheOperationRecordExpiredIsRefundedInCleeng(t *testing.T) {
	e := newE2E(t)
	initial := e.paymentOlderThanItsOperationRecord()

	console, err := adyen.New(adyen.Config{APIKey: stack.DevAdyenAPIKey, MerchantAccount: stack.DevMerchantAccount,
		CheckoutURL: e.dev.AdyenCheckoutURL(), ReturnURL: e.dev.IngressURL + "/return"})
	if err != nil {
		t.Fatal(err)
	}
	amount, err := money.New(initial.Amount.String(), initial.Currency)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := console.Refund(context.Background(), gateways.ModifyRequest{IdempotencyKey: "console-refund",
		PaymentReference: initial.ExternalPaymentID, Reference: "refunded in the console", Amount: amount}); err != nil {
		t.Fatal(err)
	}
	inbox, err := e.dev.Broker.JS.Stream(context.Background(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	var letters []deadletter.Letter
	testkit.Eventually(t, 15*time.Second, "the REFUND notification acknowledged or dead-lettered", func() bool {
		refundNotified := false
		for _, n := range e.dev.Adyen.Notifications() {
			refundNotified = refundNotified || (n.Item.EventCode == "REFUND" && n.Delivered)
		}
		info, err := inbox.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if letters, err = deadletter.List(context.Background(), e.dev.Broker.JS, "gateway-events"); err != nil {
			t.Fatal(err)
		}
		return len(letters) > 0 || (refundNotified && info.State.Msgs == 0)
	})
	for _, l := range letters {
		t.Errorf("dead letter on %s: %s", l.Flow, l.Error)
	}
	if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.Status != cleeng.StatusRefunded || p.RefundType != cleeng.RefundTypeRefund ||
		p.RefundedAmount == nil || !p.RefundedAmount.Equal(initial.Amount.Decimal) {
		t.Errorf("Cleeng payment %s after a refund made outside the connector, want refunded in full: %+v", p.Status, p)
	}
}
