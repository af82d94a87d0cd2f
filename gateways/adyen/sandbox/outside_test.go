package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// accepting is a notification receiver that accepts everything, so that
// the sandbox sends (and, in strict mode, validates) each notification.
func accepting(t *testing.T) string {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "[accepted]") }))
	t.Cleanup(hook.Close)
	return hook.URL
}

// paid makes a captured payment of 10.00 EUR and returns its pspReference.
func paid(t *testing.T, sb *Sandbox, url, ref string) string {
	t.Helper()
	post(t, url+"/v71/payments", sb.APIKey(), validPayment(sb, ref))
	payments := sb.PaymentsFor(ref)
	if len(payments) != 1 || payments[0].Status != StatusCaptured {
		t.Fatalf("payment %s: %+v", ref, payments)
	}
	return payments[0].PSPReference
}

// last returns the last notification the sandbox made.
func last(sb *Sandbox) NotificationItem {
	n := sb.Notifications()
	return n[len(n)-1].Item
}

// TestSandbox_DisputeStagesFollowAdyensOrder: a dispute moves as Adyen's
// dispute process does, keeps one pspReference, names the payment, and
// every notification conforms to Webhooks-v1.json (strict mode).
func TestSandbox_DisputeStagesFollowAdyensOrder(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{NotifyURL: accepting(t)})
	psp := paid(t, sb, srv.URL, "order-d1")
	for _, out := range []string{EventChargebackReversed, EventSecondChargeback, EventPrearbitrationWon, "REFUND"} {
		if _, err := sb.Dispute(psp, out, 0); err == nil {
			t.Errorf("%s without a chargeback: accepted", out)
		}
	}
	if _, err := sb.Dispute(psp, EventChargeback, 1001); err == nil {
		t.Error("a chargeback of more than was captured: accepted")
	}
	var dispute string
	for _, stage := range []string{EventNotificationOfChargeback, EventChargeback, EventChargebackReversed, EventSecondChargeback, EventPrearbitrationLost} {
		ref, err := sb.Dispute(psp, stage, 0)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if dispute == "" {
			dispute = ref
		}
		if it := last(sb); ref != dispute || it.EventCode != stage || it.PspReference != dispute || it.OriginalReference != psp || it.Amount.Value != 1000 {
			t.Fatalf("%s: %+v, want dispute %s of payment %s, 1000", stage, it, dispute, psp)
		}
	}
	if p := sb.PaymentsFor("order-d1")[0]; p.ChargedBack != 1000 || p.DisputeStage != EventPrearbitrationLost {
		t.Fatalf("after a lost pre-arbitration: %+v", p)
	}
	if v := sb.Violations(); len(v) > 0 {
		t.Fatalf("contract violations: %v", v)
	}
}

// TestSandbox_OutsideRefundsKeepTheRefundRules: a Customer Area refund and
// a cancel-or-refund refund at most what is captured and say what they did.
func TestSandbox_OutsideRefundsKeepTheRefundRules(t *testing.T) {
	t.Parallel()
	sb, srv := newServer(t, Options{NotifyURL: accepting(t)})
	psp := paid(t, sb, srv.URL, "order-r1")
	if _, ok := sb.RefundInCustomerArea("nope", 0); ok {
		t.Fatal("refund of an unknown payment")
	}
	sb.RefundInCustomerArea(psp, 300)
	if it := last(sb); it.EventCode != "REFUND" || it.Success != "true" || it.Amount.Value != 300 || it.OriginalReference != psp {
		t.Fatalf("partial refund: %+v", it)
	}
	sb.RefundInCustomerArea(psp, 800)
	if it := last(sb); it.Success != "false" || it.Reason == "" {
		t.Fatalf("refund of more than is left: %+v", it)
	}
	sb.CancelOrRefund(psp)
	if it := last(sb); it.EventCode != "CANCEL_OR_REFUND" || it.Success != "true" || it.Amount.Value != 700 || it.AdditionalData["modification.action"] != "refund" {
		t.Fatalf("cancel-or-refund of a captured payment: %+v", it)
	}
	sb.CancelOrRefund(psp)
	if it := last(sb); it.Success != "false" {
		t.Fatalf("cancel-or-refund of a refunded payment: %+v", it)
	}
	for _, code := range []string{"EXPIRE", "RECURRING_CONTRACT", "REPORT_AVAILABLE", "PAYOUT_EXPIRE"} {
		if !sb.SendEvent(psp, code) || last(sb).EventCode != code {
			t.Fatalf("SendEvent %s", code)
		}
	}
	if v := sb.Violations(); len(v) > 0 {
		t.Fatalf("contract violations: %v", v)
	}
}
