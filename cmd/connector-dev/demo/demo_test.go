package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
)

// TestDemo_WalksASubscriptionThroughEveryFunction is `make demo`'s scenario
// against an in-process dev stack, twice: the second run must find nothing
// the first one left (its refused card, its terminated subscription).
func TestDemo_WalksASubscriptionThroughEveryFunction(t *testing.T) {
	t.Parallel()
	dev := stack.StartSeeded(t)
	var first demo.Result
	for run := 1; run <= 2; run++ {
		var log bytes.Buffer
		res, err := demo.Run(context.Background(), stack.DemoTarget(dev.IngressURL, dev.SandboxURL), &log)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, log.String())
		}
		checkDemoResult(t, res)
		if run == 1 {
			first = res
		} else if res.CustomerID == first.CustomerID || res.SubscriptionID == first.SubscriptionID {
			t.Errorf("second run reused customer %s, subscription %s", res.CustomerID, res.SubscriptionID)
		}
	}
}

func checkDemoResult(t *testing.T, res demo.Result) {
	t.Helper()
	want := []struct {
		op     cleeng.PaymentOperation
		status cleeng.PaymentStatus
	}{
		{cleeng.OperationInitialPayment, cleeng.StatusCaptured},
		{cleeng.OperationRecurringPayment, cleeng.StatusRefunded},
		{cleeng.OperationRecurringPayment, cleeng.StatusCaptured},
		{cleeng.OperationRecurringPayment, cleeng.StatusRejected},
	}
	if len(res.Payments) != len(want) {
		t.Fatalf("%d payments, want %d: %+v", len(res.Payments), len(want), res.Payments)
	}
	for i, w := range want {
		p := res.Payments[i]
		if p.PaymentOperation != w.op || p.Status != w.status {
			t.Errorf("payment %d: %s %s, want %s %s", i, p.PaymentOperation, p.Status, w.op, w.status)
		}
		c, ok := res.Charges[p.ExternalPaymentID]
		if !ok || c.Amount != 999 {
			t.Errorf("payment %d: Adyen charge %+v, want 999 EUR", i, c)
		}
	}
	if c := res.Charges[res.Payments[1].ExternalPaymentID]; c.Refunded != 999 {
		t.Errorf("refunded renewal: Adyen refunded %d, want 999", c.Refunded)
	}
	if res.Subscription.Status != cleeng.SubscriptionTerminated || !res.DetailsChanged {
		t.Errorf("subscription %+v, card updated %t; want terminated on the new card", res.Subscription, res.DetailsChanged)
	}
	var table bytes.Buffer
	res.Table(&table)
	if !strings.Contains(table.String(), "refund: demo") {
		t.Errorf("table lacks the refund:\n%s", table.String())
	}
}
