package adyen_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// settlementReport is a Settlement details report in Adyen's column order,
// with a payout row (no Psp Reference) and a time zone other than UTC.
const settlementReport = `Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number,Reserved4,Reserved5,Reserved6,Reserved7,Reserved8,Reserved9,Reserved10
Shop,ShopECOM,8815000000000001,1001,visa,2026-11-30 23:30:00,CET,Settled,8825000000000001,EUR,,9.99,1,EUR,,9.87,,0.12,,,visa,,7,,,,,,,
Shop,ShopECOM,8815000000000002,1002,mc,2026-11-30 10:00:00,CET,Refunded,8835000000000002,IDR,99000,,1,IDR,99000,,,,,,mc,,7,,,,,,,
Shop,ShopECOM,,,,2026-11-30 12:00:00,CET,MerchantPayout,,EUR,100.00,,1,EUR,100.00,,,,,,,,7,,,,,,,
`

func TestParseReport_SettlementDetailsByHeaderName(t *testing.T) {
	t.Parallel()
	kind, rows, err := adyen.ParseReport(strings.NewReader(settlementReport))
	if err != nil {
		t.Fatal(err)
	}
	if kind != adyen.SettlementDetailsReport || len(rows) != 2 {
		t.Fatalf("kind %q, rows %+v; want the settlement report's two payment rows", kind, rows)
	}
	settled, refunded := rows[0], rows[1]
	if settled.PSPReference != "8815000000000001" || settled.ModificationReference != "8825000000000001" || settled.Type != "Settled" ||
		settled.MerchantReference != "1001" || settled.Amount.Value.String() != "9.99" || settled.Amount.Currency != "EUR" || settled.Line != 2 {
		t.Errorf("settled row %+v", settled)
	}
	if want := time.Date(2026, 11, 30, 22, 30, 0, 0, time.UTC); !settled.Booked.Equal(want) {
		t.Errorf("booked %s, want %s (23:30 CET)", settled.Booked, want)
	}
	// IDR has no minor unit at Adyen: 99000 is whole.
	if refunded.Type != "Refunded" || refunded.Amount.Value.String() != "99000" || refunded.Amount.Currency != "IDR" {
		t.Errorf("refunded row %+v", refunded)
	}
}

func TestParseReport_RefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	accounting := "Merchant Account,Psp Reference,Merchant Reference,Booking Date,TimeZone,Record Type,Payment Currency,Authorised (PC),Captured (PC)\n"
	tests := []struct{ name, csv, mention string }{
		{"finer than Adyen's unit", accounting + "M,881,1,2026-11-30 10:00:00,UTC,Authorised,CVE,10.50,\n", "line 2 (Authorised 881): Authorised (PC): adyen's currency table"},
		{"not a date", accounting + "M,881,1,30/11/2026,UTC,Authorised,EUR,10.50,\n", "line 2: Booking Date"},
		{"unknown zone", accounting + "M,881,1,2026-11-30 10:00:00,Mars,Authorised,EUR,10.50,\n", `time zone "Mars"`},
		{"a column missing", "Merchant Account,Psp Reference,Booking Date,TimeZone,Record Type,Payment Currency\n", `no "Merchant Reference" column`},
		{"another report", "Date,Amount\n", "neither a Payment accounting report"},
	}
	for _, tt := range tests {
		_, _, err := adyen.ParseReport(strings.NewReader(tt.csv))
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: %v, want an error mentioning %q", tt.name, err, tt.mention)
		}
	}
}

// TestSandboxReport_AccountingReportOfItsPayments: the sandbox's report
// download needs the report user's key and books each payment's lifecycle.
func TestSandboxReport_AccountingReportOfItsPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.gw.Pay(t.Context(), firstPayment(t, "report-1", amount(t, "10.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(e.url, "/v71") + "/reports/download/MerchantAccount/" + e.sb.MerchantAccount() + "/payments_accounting_report_2026_12_01.csv"
	if resp, _ := get(t, url, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the key: %s, want 401", resp.Status)
	}
	resp, body := get(t, url, e.sb.APIKey())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %s %s", resp.Status, body)
	}
	kind, rows, err := adyen.ParseReport(strings.NewReader(body))
	if err != nil || kind != adyen.PaymentAccountingReport {
		t.Fatalf("kind %q, err %v", kind, err)
	}
	var types []string
	for _, r := range rows {
		if r.PSPReference == res.PaymentReference {
			types = append(types, r.Type)
		}
	}
	if strings.Join(types, ",") != "Received,Authorised,SentForSettle,Settled" {
		t.Errorf("records of %s: %v, want a payment captured at once", res.PaymentReference, types)
	}
}

func get(t *testing.T, url, key string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
