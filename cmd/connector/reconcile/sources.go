package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	// Adyen dates its reports in the account's time zone (CET, say); the
	// production image is FROM scratch, without the system's zoneinfo.
	_ "time/tzdata"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/outbound"
)

// maxDocument bounds a report or listing read: a month of a large
// broadcaster's Adyen report is tens of megabytes.
const maxDocument = 1 << 30

// fetchTimeout bounds one download.
const fetchTimeout = 5 * time.Minute

// Fetch reads location: an http(s) URL, fetched with header (an answer
// other than 200 is an error naming the status), or else a file path.
func Fetch(ctx context.Context, location string, header http.Header) ([]byte, error) {
	if !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		b, err := os.ReadFile(location)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := outbound.Client(fetchTimeout).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return body, nil
}

// Sources say where each side's records are read: a file path or an
// http(s) URL each; an empty gateway source is not read.
type Sources struct {
	// AdyenReport is Adyen's Payment accounting or Settlement details
	// report, downloaded with AdyenReportAPIKey as X-API-Key when set.
	AdyenReport, AdyenReportAPIKey string
	// AdyenMerchantAccount keeps that merchant account's rows only.
	AdyenMerchantAccount  string
	CleverbridgePurchases string
	CleengPayments        string
}

// Load reads every source into in's Gateways and Cleeng; an error names
// the source.
func (s Sources) Load(ctx context.Context, in *Inputs) error {
	if s.AdyenReport != "" {
		header := http.Header{}
		if s.AdyenReportAPIKey != "" {
			header.Set("X-API-Key", s.AdyenReportAPIKey)
		}
		doc, err := Fetch(ctx, s.AdyenReport, header)
		if err == nil {
			var payments []GatewayPayment
			payments, err = AdyenPayments(doc, s.AdyenMerchantAccount)
			in.Gateways = append(in.Gateways, payments...)
		}
		if err != nil {
			return fmt.Errorf("--adyen-report: %w", err)
		}
	}
	if s.CleverbridgePurchases != "" {
		doc, err := Fetch(ctx, s.CleverbridgePurchases, nil)
		if err == nil {
			var payments []GatewayPayment
			payments, err = CleverbridgePayments(doc)
			in.Gateways = append(in.Gateways, payments...)
		}
		if err != nil {
			return fmt.Errorf("--cleverbridge-purchases: %w", err)
		}
	}
	doc, err := Fetch(ctx, s.CleengPayments, nil)
	if err == nil {
		in.Cleeng, err = CleengPayments(doc)
	}
	if err != nil {
		return fmt.Errorf("--cleeng-payments: %w", err)
	}
	return nil
}

// AdyenPayments reads an Adyen report (CSV) into payments, keeping those
// of merchantAccount (all of them when it is empty).
func AdyenPayments(report []byte, merchantAccount string) ([]GatewayPayment, error) {
	_, rows, err := adyen.ParseReport(bytes.NewReader(report))
	if err != nil {
		return nil, err
	}
	byPSP := map[string]*GatewayPayment{}
	var order []string
	refunds := map[string]bool{} // refund reference → counts as refunded
	for _, r := range rows {
		if merchantAccount != "" && r.MerchantAccount != merchantAccount {
			continue
		}
		p := byPSP[r.PSPReference]
		if p == nil {
			p = &GatewayPayment{Gateway: adyen.Name, Reference: r.PSPReference, MerchantReference: r.MerchantReference,
				Amount: r.Amount, At: r.Booked}
			byPSP[r.PSPReference] = p
			order = append(order, r.PSPReference)
		}
		if r.Booked.Before(p.At) {
			p.At = r.Booked
		}
		switch r.Type {
		case "Received":
			if p.State == "" {
				p.State = StatePending
			}
		case "Authorised":
			if p.State == "" || p.State == StatePending {
				p.State, p.Amount = StateAuthorised, r.Amount
			}
		case "Refused", "Error":
			p.State = StateRefused
		case "Cancelled", "Expired":
			p.State = StateCancelled
		case "SentForSettle", "Settled", "SettledBulk", "Captured":
			p.State = StateCaptured
		case "SentForRefund", "Refunded", "RefundedBulk", "Chargeback", "ChargebackExternally", "RefundedExternally", "SecondChargeback":
			// A settlement report has no authorisation rows: a refund
			// or chargeback implies the capture.
			p.State = StateCaptured
			refunds[refundKey(r)] = true
		case "RefundFailed", "RefundedReversed", "ChargebackReversed":
			refunds[refundKey(r)] = false
		}
	}
	for key, refunded := range refunds {
		if refunded {
			byPSP[strings.SplitN(key, "/", 2)[0]].Refunded = true
		}
	}
	out := make([]GatewayPayment, 0, len(order))
	for _, psp := range order {
		out = append(out, *byPSP[psp])
	}
	return out, nil
}

// refundKey names one refund of a payment: its own reference, which its
// later failure or reversal carries too.
func refundKey(r adyen.ReportRow) string { return r.PSPReference + "/" + r.ModificationReference }

// CleverbridgePurchase is a purchase as Cleverbridge lists it: the fields
// reconcile reads of the sandbox's purchases (GET /sandbox/state).
type CleverbridgePurchase struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	CreatedAt time.Time       `json:"createdAt"`
}

// CleverbridgePayments reads a purchase listing: a JSON array of purchases,
// or an object whose "purchases" holds them (the sandbox's state).
func CleverbridgePayments(listing []byte) ([]GatewayPayment, error) {
	purchases, err := decodeList[CleverbridgePurchase](listing, "purchases")
	if err != nil {
		return nil, fmt.Errorf("cleverbridge purchases: %w", err)
	}
	out := make([]GatewayPayment, 0, len(purchases))
	for _, p := range purchases {
		if p.ID == "" {
			return nil, fmt.Errorf("cleverbridge purchases: a purchase without an id")
		}
		state := StatePending // WaitingForOfflinePayment, Pending, CustomerActionNeeded: not settled yet
		switch p.Status {
		case "Paid":
			state = StateCaptured
		case "Declined":
			state = StateRefused
		}
		// Refunds happen in Cleverbridge's own tools (the gateway cannot
		// refund), which mark the purchase Refunded.
		refunded := p.Status == "Refunded"
		if refunded {
			state = StateCaptured
		}
		out = append(out, GatewayPayment{Gateway: cleverbridge.Name, Reference: p.ID, State: state, Refunded: refunded,
			Amount: money.Amount{Value: p.Amount, Currency: p.Currency}, At: p.CreatedAt})
	}
	return out, nil
}

// CleengPayments reads Cleeng's payments: a JSON array of payment objects,
// or an object whose "items" (as Cleeng pages its lists) or "payments" (the
// sandbox's state) holds them.
func CleengPayments(listing []byte) ([]cleeng.Payment, error) {
	payments, err := decodeList[cleeng.Payment](listing, "items", "payments")
	if err != nil {
		return nil, fmt.Errorf("cleeng payments: %w", err)
	}
	return payments, nil
}

// decodeList decodes a JSON array of T, or the first of fields of a JSON
// object that holds one.
func decodeList[T any](doc []byte, fields ...string) ([]T, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) > 0 && doc[0] == '[' {
		var list []T
		return list, json.Unmarshal(doc, &list)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return nil, fmt.Errorf("neither a JSON array nor an object: %w", err)
	}
	for _, f := range fields {
		if raw, ok := obj[f]; ok {
			var list []T
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			return list, nil
		}
	}
	return nil, fmt.Errorf("an object without %s", strings.Join(fields, " or "))
}
