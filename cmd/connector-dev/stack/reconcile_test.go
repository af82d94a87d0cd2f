package stack_test

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/reconcile"
	"github.com/cleeng-connector/connector/internal/ops"
)

// TestReconcile_TheDemoLeavesNoDriftAndAPlantedOneIsFound drives the demo's
// payments through the whole stack (purchase, renewals authorised then
// captured, a refusal, a refund, a card update) and reconciles the dev
// sandboxes' documents, served as `make run` serves them, with the
// operation records: nothing. A refund recorded in Cleeng only is then
// found, alone.
func TestReconcile_TheDemoLeavesNoDriftAndAPlantedOneIsFound(t *testing.T) {
	t.Parallel()
	dev := stack.StartSeeded(t)
	start := time.Now().Add(-time.Second)
	if _, err := demo.Run(t.Context(), stack.DemoTarget(dev.IngressURL, dev.SandboxURL), io.Discard); err != nil {
		t.Fatal(err)
	}
	reconcileDev := func() []reconcile.Drift {
		t.Helper()
		in := reconcile.Inputs{From: start, To: time.Now().Add(time.Minute), Now: time.Now(), InDoubtAfter: 14 * time.Hour}
		var err error
		if in.Operations, err = ops.List[json.RawMessage](t.Context(), ops.NewStore(dev.Broker.Ops), ""); err != nil {
			t.Fatal(err)
		}
		sources := reconcile.Sources{
			AdyenReport:           dev.SandboxURL + "/adyen/reports/download/MerchantAccount/" + stack.DevMerchantAccount + "/payments_accounting_report.csv",
			AdyenReportAPIKey:     stack.DevAdyenAPIKey,
			CleverbridgePurchases: dev.SandboxURL + "/cleverbridge/sandbox/state",
			CleengPayments:        dev.SandboxURL + "/cleeng/sandbox/state",
		}
		if err := sources.Load(t.Context(), &in); err != nil {
			t.Fatal(err)
		}
		if len(in.Gateways) == 0 || len(in.Cleeng) == 0 {
			t.Fatalf("read %d gateway payments and %d Cleeng payments: the demo's are missing", len(in.Gateways), len(in.Cleeng))
		}
		return reconcile.Compare(in)
	}
	if drifts := reconcileDev(); len(drifts) != 0 {
		t.Fatalf("after the demo: %+v, want no drift", drifts)
	}

	var captured cleeng.Payment
	for _, p := range dev.Cleeng.State().Payments {
		if p.Status == cleeng.StatusCaptured && !p.Amount.IsZero() {
			captured = p
		}
	}
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: dev.CleengAPIURL(), PublisherToken: stack.DevPublisherToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdatePayment(t.Context(), captured.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusRefunded,
		RefundedAmount: &captured.Amount, RefundedReason: "refunded in Cleeng only"}); err != nil {
		t.Fatal(err)
	}
	drifts := reconcileDev()
	if len(drifts) != 1 || drifts[0].Kind != reconcile.RefundedOneSide || drifts[0].ExternalPaymentID != captured.ExternalPaymentID {
		t.Fatalf("after a refund in Cleeng only: %+v, want one %s of %s", drifts, reconcile.RefundedOneSide, captured.ExternalPaymentID)
	}
}
