package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/gateways/adyen"
)

// accountingReportColumns are the standard columns of Adyen's Payment
// accounting report, in Adyen's order (docs.adyen.com, Payment accounting
// report), and the modification's own reference last.
var accountingReportColumns = []string{
	"Company Account", "Merchant Account", "Psp Reference", "Merchant Reference", "Payment Method",
	"Booking Date", "TimeZone", "Main Currency", "Main Amount", "Record Type", "Payment Currency",
	"Received (PC)", "Authorised (PC)", "Captured (PC)", "Settlement Currency", "Payable (SC)",
	"Commission (SC)", "Markup (SC)", "Scheme Fees (SC)", "Interchange (SC)", "Processing Fee Currency",
	"Processing Fee (FC)", "User Name", "Payment Method Variant", "Modification Merchant Reference",
	"Modification Psp Reference",
}

// CompanyAccount is the company account the sandbox's reports name.
const CompanyAccount = "SandboxCompany"

// accountingEntry is one lifecycle record of the report; the registers
// hold the signed amounts moved between them, as Adyen books them.
type accountingEntry struct {
	recordType                              string
	received, authorised, captured, payable int64 // multiples of the amount: +1, -1 or 0
}

// entriesOf are the records Adyen books for a notification's event.
func entriesOf(item NotificationItem, autoCaptured bool) []accountingEntry {
	ok := item.Success == "true"
	switch {
	case item.EventCode == "AUTHORISATION" && !ok:
		return []accountingEntry{{recordType: "Received", received: 1}, {recordType: "Refused", received: -1}}
	case item.EventCode == "AUTHORISATION":
		e := []accountingEntry{{recordType: "Received", received: 1}, {recordType: "Authorised", received: -1, authorised: 1}}
		if autoCaptured {
			e = append(e, accountingEntry{recordType: "SentForSettle", authorised: -1, captured: 1},
				accountingEntry{recordType: "Settled", captured: -1, payable: 1})
		}
		return e
	case item.EventCode == "CAPTURE" && ok:
		return []accountingEntry{{recordType: "SentForSettle", authorised: -1, captured: 1}, {recordType: "Settled", captured: -1, payable: 1}}
	case item.EventCode == "CAPTURE", item.EventCode == "CAPTURE_FAILED":
		return []accountingEntry{{recordType: "CaptureFailed"}}
	case item.EventCode == "REFUND" && ok:
		return []accountingEntry{{recordType: "SentForRefund", captured: 1}, {recordType: "Refunded", captured: -1, payable: -1}}
	case item.EventCode == EventRefundFailed:
		return []accountingEntry{{recordType: "RefundFailed", payable: 1}}
	case item.EventCode == EventRefundedReversed:
		return []accountingEntry{{recordType: "RefundedReversed", payable: 1}}
	case item.EventCode == "CANCELLATION" && ok:
		return []accountingEntry{{recordType: "Cancelled", authorised: -1}}
	}
	return nil
}

// AccountingReport is the Payment accounting report of everything the
// sandbox did, as CSV: its notifications are its lifecycle events, each
// booked at its eventDate (in UTC).
func (s *Sandbox) AccountingReport() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(accountingReportColumns); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.notifications {
		item := n.Item
		payment := item.PspReference
		if item.OriginalReference != "" {
			payment = item.OriginalReference
		}
		p := s.payments[payment]
		auto := p != nil && !p.ManualCapture && p.Amount > 0
		booked, err := time.Parse(time.RFC3339, item.EventDate)
		if err != nil {
			return nil, err
		}
		modification := ""
		if item.OriginalReference != "" {
			modification = item.PspReference
		}
		for _, e := range entriesOf(item, auto) {
			amount := func(sign int64) string {
				if sign == 0 {
					return ""
				}
				v, _ := adyen.ReportAmount(sign*item.Amount.Value, item.Amount.Currency)
				return v
			}
			settlementCurrency := ""
			if e.payable != 0 {
				settlementCurrency = item.Amount.Currency
			}
			if err := w.Write([]string{
				CompanyAccount, s.opts.MerchantAccount, payment, item.MerchantReference, item.PaymentMethod,
				booked.UTC().Format("2006-01-02 15:04:05"), "UTC", item.Amount.Currency, amount(1), e.recordType,
				item.Amount.Currency, amount(e.received), amount(e.authorised), amount(e.captured), settlementCurrency,
				amount(e.payable), "", "", "", "", "", "", "", item.PaymentMethod, "", modification,
			}); err != nil {
				return nil, err
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// serveReport answers a report download as Adyen's does
// (/reports/download/MerchantAccount/{account}/{file}, authenticated with
// the report user's X-API-Key): any payments_accounting_report*.csv is the
// report of everything so far.
func (s *Sandbox) serveReport(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(s.opts.APIKey)) != 1 {
		write(w, apiError(http.StatusUnauthorized, "000", "security", "HTTP Status Response - Unauthorized"))
		return
	}
	file := r.PathValue("file")
	if r.PathValue("account") != s.opts.MerchantAccount || !strings.HasPrefix(file, "payments_accounting_report") || !strings.HasSuffix(file, ".csv") {
		write(w, apiError(http.StatusNotFound, "000", "validation", "no report "+file))
		return
	}
	body, err := s.AccountingReport()
	if err != nil {
		write(w, apiError(http.StatusInternalServerError, "000", "internal", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	_, _ = w.Write(body)
}
