package sandbox_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
)

// TestSandbox_SelfBilledSubscriptionSendsItsNotifications: a subscription
// Cleverbridge bills by itself sends PurchasePaid for its start and each
// renewal (same subscription, x-parameters and amount), PurchaseDeclined
// with the error for a declined renewal, PurchaseRefunded for a refund (a
// purchase refunds once) and SubscriptionDeactivated for the cancellation,
// each decoding into the event the connector dispatches on.
func TestSandbox_SelfBilledSubscriptionSendsItsNotifications(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	sb, base := newSandbox(t, rc)
	extra := cleverbridge.ExtraParametersFrom(map[string]string{"customerId": "1001", "offerId": "S1", "paymentMethodId": "77", "country": "DE"})
	first, err := sb.Bill(sandbox.Billing{Amount: decimal.RequireFromString("9.99"), Currency: "EUR", Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	renewal, err := sb.Bill(sandbox.Billing{SubscriptionID: first.SubscriptionID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Bill(sandbox.Billing{SubscriptionID: first.SubscriptionID, ErrorCode: "PAY_CEX"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Refund(renewal.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Refund(renewal.ID); err == nil {
		t.Fatal("a second refund of the same purchase was accepted")
	}
	if status, _ := do(t, http.MethodPost, base+"/sandbox/subscriptions/"+first.SubscriptionID+"/cancel", "", "", ""); status != http.StatusOK {
		t.Fatalf("cancel over HTTP: %d", status)
	}
	want := []struct {
		event, purchase string
		success         bool
	}{
		{cleverbridge.EventPurchasePaid, first.ID, true},
		{cleverbridge.EventPurchasePaid, renewal.ID, true},
		{cleverbridge.EventPurchaseDeclined, "", false},
		{cleverbridge.EventPurchaseRefunded, renewal.ID, false},
		{cleverbridge.EventSubscriptionDeactivated, "", false},
	}
	// Deliveries run concurrently: match each expected one in what arrived.
	var got []cleverbridge.Notification
	for range want {
		got = append(got, rc.next(t))
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(n cleverbridge.Notification) bool {
			return n.EventType == w.event && (w.purchase == "" || n.Purchase.ID == w.purchase)
		})
		if i < 0 {
			t.Errorf("no %s of %q among %d notifications", w.event, w.purchase, len(got))
			continue
		}
		n := got[i]
		got = slices.Delete(got, i, i+1)
		ev, err := cleverbridge.ToEvent(n)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Token != first.SubscriptionID ||
			ev.Metadata["offerId"] != "S1" || ev.Metadata["paymentMethodId"] != "77" || ev.Success != w.success ||
			ev.Amount.String() != "9.99 EUR" {
			t.Errorf("notification %s %s: event %+v, want %s of %q in subscription %s", n.EventType, n.Purchase.ID, ev, w.event, w.purchase, first.SubscriptionID)
		}
		if w.event == cleverbridge.EventPurchaseDeclined && (n.Purchase.Error == nil || n.Purchase.Error.Code != "PAY_CEX") {
			t.Errorf("declined renewal: error %+v, want PAY_CEX", n.Purchase.Error)
		}
	}
	if _, err := sb.Bill(sandbox.Billing{SubscriptionID: "S-nope"}); err == nil {
		t.Error("a renewal of an unknown subscription was accepted")
	}
}
