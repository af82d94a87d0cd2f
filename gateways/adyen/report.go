package adyen

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/internal/money"
)

// The Checkout API cannot list payments: what Adyen recorded is read from the
// reports it publishes as CSV (docs.adyen.com/reporting), by header name, as
// Adyen allows columns to be added and reordered. Two reports are read:
//
//   - the Payment accounting report, one row per lifecycle status change
//     (Received, Authorised, Refused, Cancelled, SentForSettle, Settled,
//     SentForRefund, Refunded, Chargeback, ...) in its "Record Type", amounts
//     in the payment currency ("Payment Currency", "Received (PC)",
//     "Authorised (PC)", "Captured (PC)"), dated by "Booking Date";
//   - the Settlement details report, one row per settled movement ("Type":
//     Settled, Refunded, Chargeback, ...), amounts in "Gross Currency",
//     "Gross Debit (GC)" and "Gross Credit (GC)", dated by "Creation Date".
//
// Both carry "Merchant Account", "Psp Reference" (the payment's),
// "Merchant Reference", "TimeZone" and the modification's own reference
// ("Modification Psp Reference", or "Modification Reference" in the
// settlement report and older accounting reports).

// Report kinds, told apart by their headers.
const (
	PaymentAccountingReport = "payment accounting report"
	SettlementDetailsReport = "settlement details report"
)

// ReportRow is one row of an Adyen report about a payment.
type ReportRow struct {
	// Line is the row's line in the file (the header is line 1).
	Line            int
	MerchantAccount string
	// PSPReference is the payment's pspReference, on the rows of its
	// modifications too.
	PSPReference      string
	MerchantReference string
	// ModificationReference is a capture's, refund's or cancellation's own
	// pspReference; empty on the payment's own rows.
	ModificationReference string
	// Type is the Record Type (accounting) or Type (settlement) as Adyen
	// writes it: Authorised, SentForSettle, Settled, Refunded, ...
	Type string
	// Amount is the row's amount, unsigned, in major units; exact in Adyen's
	// minor units for its currency.
	Amount money.Amount
	Booked time.Time
}

// reportColumns names, per kind, the columns read.
type reportColumns struct {
	kind, typ, date, currency string
	amounts                   func(recordType string) []string // the columns holding the row's amount, first non-empty wins
}

var (
	accountingColumns = reportColumns{
		kind: PaymentAccountingReport, typ: "Record Type", date: "Booking Date", currency: "Payment Currency",
		amounts: func(t string) []string {
			switch t {
			case "Received", "Authorised", "Refused", "Cancelled", "Expired", "Error":
				// Nothing is captured yet: the row moves the amount between
				// the received and authorised registers.
				return []string{"Authorised (PC)", "Received (PC)"}
			}
			return []string{"Captured (PC)", "Authorised (PC)"}
		},
	}
	settlementColumns = reportColumns{
		kind: SettlementDetailsReport, typ: "Type", date: "Creation Date", currency: "Gross Currency",
		amounts: func(string) []string { return []string{"Gross Credit (GC)", "Gross Debit (GC)"} },
	}
)

// reportTimeLayout is the reports' "YYYY-MM-DD HH:MM:SS", in the row's TimeZone.
const reportTimeLayout = "2006-01-02 15:04:05"

// ParseReport reads a Payment accounting report or a Settlement details
// report (CSV, with its header line), telling which from the headers. Rows
// without a Psp Reference (payouts, fees, balance transfers) are skipped. An
// error names the line and column at fault.
func ParseReport(r io.Reader) (kind string, rows []ReportRow, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with the line in the error
	header, err := cr.Read()
	if err != nil {
		return "", nil, fmt.Errorf("adyen report: no CSV header line: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	var cols reportColumns
	switch {
	case has(col, "Record Type"):
		cols = accountingColumns
	case has(col, "Type") && has(col, "Gross Currency"):
		cols = settlementColumns
	default:
		return "", nil, errors.New("adyen report: neither a Payment accounting report (no Record Type column) nor a Settlement details report (no Type and Gross Currency columns)")
	}
	modification := "Modification Psp Reference"
	if !has(col, modification) {
		modification = "Modification Reference"
	}
	for _, name := range []string{"Merchant Account", "Psp Reference", "Merchant Reference", "TimeZone", cols.date, cols.currency} {
		if !has(col, name) {
			return "", nil, fmt.Errorf("adyen %s: no %q column", cols.kind, name)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return cols.kind, rows, nil
		}
		if err != nil {
			return "", nil, fmt.Errorf("adyen %s: %w", cols.kind, err)
		}
		if len(rec) != len(header) {
			return "", nil, fmt.Errorf("adyen %s: line %d: %d fields, the header has %d", cols.kind, line, len(rec), len(header))
		}
		field := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if field("Psp Reference") == "" {
			continue
		}
		row := ReportRow{Line: line, MerchantAccount: field("Merchant Account"), PSPReference: field("Psp Reference"),
			MerchantReference: field("Merchant Reference"), ModificationReference: field(modification), Type: field(cols.typ)}
		if row.Booked, err = reportTime(field(cols.date), field("TimeZone")); err != nil {
			return "", nil, fmt.Errorf("adyen %s: line %d: %s: %w", cols.kind, line, cols.date, err)
		}
		if row.Amount, err = reportAmount(field, cols.amounts(row.Type), field(cols.currency)); err != nil {
			return "", nil, fmt.Errorf("adyen %s: line %d (%s %s): %w", cols.kind, line, row.Type, row.PSPReference, err)
		}
		rows = append(rows, row)
	}
}

func has(col map[string]int, name string) bool {
	_, ok := col[name]
	return ok
}

// reportTime reads a report's date in the row's time zone (Adyen writes the
// account's setting, an IANA abbreviation such as CET or UTC).
func reportTime(value, zone string) (time.Time, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return time.Time{}, fmt.Errorf("time zone %q: not one the system knows", zone)
	}
	t, err := time.ParseInLocation(reportTimeLayout, value, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD HH:MM:SS", value)
	}
	return t, nil
}

// reportAmount reads the first non-empty of the amount columns, unsigned,
// and checks it is a whole number of Adyen's minor units.
func reportAmount(field func(string) string, columns []string, currency string) (money.Amount, error) {
	for _, name := range columns {
		v := field(name)
		if v == "" {
			continue
		}
		d, err := decimal.NewFromString(v)
		if err != nil {
			return money.Amount{}, fmt.Errorf("%s: %q is not a decimal amount", name, v)
		}
		a := money.Amount{Value: d.Abs(), Currency: currency}
		if _, err := currencyTable.Minor(a); err != nil {
			return money.Amount{}, fmt.Errorf("%s: adyen's currency table: %w", name, err)
		}
		return a, nil
	}
	return money.Amount{Currency: currency}, nil
}

// ReportAmount formats minor units of Adyen's table as a report writes them
// (the sandbox's reports): decimal major units.
func ReportAmount(minor int64, currency string) (string, error) {
	a, err := currencyTable.FromMinor(minor, currency)
	if err != nil {
		return "", err
	}
	exp, _ := currencyTable.Exponent(currency)
	return a.Value.StringFixed(exp), nil
}
