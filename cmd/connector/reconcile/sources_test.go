package reconcile_test

import (
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cmd/connector/reconcile"
)

// TestAdyenPayments_LifecycleFromEitherReport: each report kind's rows
// make the payment's state; a refund that failed or was reversed does not
// count.
func TestAdyenPayments_LifecycleFromEitherReport(t *testing.T) {
	t.Parallel()
	settlement := `Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC)
Shop,ShopECOM,881A,1001,visa,2026-11-30 10:00:00,CET,Settled,882A,EUR,,9.99
Shop,ShopECOM,881B,1002,visa,2026-11-30 10:00:00,CET,Settled,882B,EUR,,9.99
Shop,ShopECOM,881B,1002,visa,2026-11-30 11:00:00,CET,Refunded,883B,EUR,9.99,
Shop,OtherECOM,881C,1003,visa,2026-11-30 11:00:00,CET,Settled,882C,EUR,,5.00
`
	accounting := `Merchant Account,Psp Reference,Merchant Reference,Booking Date,TimeZone,Record Type,Payment Currency,Received (PC),Authorised (PC),Captured (PC),Modification Psp Reference
ShopECOM,881D,1004,2026-11-30 10:00:00,UTC,Received,EUR,9.99,,,
ShopECOM,881D,1004,2026-11-30 10:00:00,UTC,Authorised,EUR,-9.99,9.99,,
ShopECOM,881E,1005,2026-11-30 10:00:00,UTC,Authorised,EUR,,9.99,,
ShopECOM,881E,1005,2026-11-30 10:01:00,UTC,SentForSettle,EUR,,-9.99,9.99,882E
ShopECOM,881E,1005,2026-11-30 10:02:00,UTC,Refunded,EUR,,,-9.99,883E
ShopECOM,881E,1005,2026-11-30 10:03:00,UTC,RefundFailed,EUR,,,,883E
ShopECOM,881F,1006,2026-11-30 10:00:00,UTC,Refused,EUR,-9.99,,,
ShopECOM,881G,1007,2026-11-30 10:00:00,UTC,Authorised,EUR,,9.99,,
ShopECOM,881G,1007,2026-11-30 10:05:00,UTC,Cancelled,EUR,,-9.99,,882G
`
	tests := []struct {
		name, report string
		want         string // psp:state[:refunded] for each payment, in order
	}{
		{"settlement details", settlement, "881A:captured 881B:captured:refunded"},
		{"payment accounting", accounting, "881D:authorised 881E:captured 881F:refused 881G:cancelled"},
	}
	for _, tt := range tests {
		payments, err := reconcile.AdyenPayments([]byte(tt.report), "ShopECOM")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, p := range payments {
			s := p.Reference + ":" + string(p.State)
			if p.Refunded {
				s += ":refunded"
			}
			if p.Amount.Value.String() != "9.99" || p.Amount.Currency != "EUR" {
				t.Errorf("%s: %s amount %v", tt.name, p.Reference, p.Amount)
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, got, tt.want)
		}
	}
}

func TestListings_ShapesAcceptedAndRefused(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{`[{"id":"1","externalPaymentId":"881A","status":"captured","amount":9.99,"currency":"EUR"}]`,
		`{"items":[{"id":"1","externalPaymentId":"881A","status":"authorised","amount":"9.99","currency":"EUR"}]}`,
		`{"version":3,"payments":[{"id":1,"externalPaymentId":"881A","status":"captured","amount":9.99,"currency":"EUR"}]}`} {
		payments, err := reconcile.CleengPayments([]byte(doc))
		if err != nil || len(payments) != 1 || payments[0].ExternalPaymentID != "881A" || payments[0].Amount.String() != "9.99" {
			t.Errorf("%s: %+v, %v", doc, payments, err)
		}
	}
	if _, err := reconcile.CleengPayments([]byte(`{"orders":[]}`)); err == nil || !strings.Contains(err.Error(), "cleeng payments: an object without items or payments") {
		t.Errorf("an object without payments: %v", err)
	}
	purchases, err := reconcile.CleverbridgePayments([]byte(`{"purchases":[
		{"id":"P1","status":"Paid","amount":"9.99","currency":"EUR","createdAt":"2026-11-30T10:00:00Z"},
		{"id":"P2","status":"Declined","amount":"9.99","currency":"EUR","createdAt":"2026-11-30T10:00:00Z"},
		{"id":"P3","status":"Refunded","amount":"9.99","currency":"EUR","createdAt":"2026-11-30T10:00:00Z"},
		{"id":"P4","status":"WaitingForOfflinePayment","amount":"9.99","currency":"EUR","createdAt":"2026-11-30T10:00:00Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range purchases {
		got = append(got, p.Reference+":"+string(p.State)+map[bool]string{true: ":refunded"}[p.Refunded])
	}
	if want := "P1:captured P2:refused P3:captured:refunded P4:pending"; strings.Join(got, " ") != want {
		t.Errorf("purchases %v, want %s", got, want)
	}
}
