package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
)

// State is where a payment stands at its gateway.
type State string

const (
	StatePending    State = "pending" // received, not decided (or Cleverbridge waiting for the shopper)
	StateAuthorised State = "authorised"
	StateCaptured   State = "captured"
	StateRefused    State = "refused"
	StateCancelled  State = "cancelled"
)

// GatewayPayment is one payment as its gateway recorded it.
type GatewayPayment struct {
	Gateway string
	// Reference is the gateway's payment reference (Adyen's pspReference,
	// Cleverbridge's purchase id): Cleeng's externalPaymentId.
	Reference string
	// MerchantReference is the connector's reference: the Cleeng order id.
	MerchantReference string
	State             State
	// Refunded: a refund or chargeback stands (none failed or reversed).
	Refunded bool
	// Amount authorised or charged, in major units.
	Amount money.Amount
	// At is the payment's first record at the gateway.
	At time.Time
}

// Kind of drift.
type Kind string

const (
	// MissingInCleeng: charged (or authorised) at the gateway, no Cleeng payment.
	MissingInCleeng Kind = "missing-in-cleeng"
	// RejectedInCleeng: charged (or authorised) at the gateway, rejected or cancelled in Cleeng.
	RejectedInCleeng Kind = "rejected-in-cleeng"
	// CapturedVsAuthorised: captured at one side, only authorised at the other.
	CapturedVsAuthorised Kind = "captured-vs-authorised"
	// RefundedOneSide: refunded at one side only.
	RefundedOneSide Kind = "refunded-one-side"
	// NotChargedAtGateway: Cleeng holds a payment the gateway refused or cancelled.
	NotChargedAtGateway Kind = "not-charged-at-gateway"
	AmountMismatch      Kind = "amount-mismatch"
	CurrencyMismatch    Kind = "currency-mismatch"
	// InDoubt: an operation in progress past its deadline: its intent is
	// recorded, its outcome is not.
	InDoubt Kind = "in-doubt"
)

// Drift is one disagreement and what resolves it.
type Drift struct {
	Kind    Kind   `json:"kind"`
	Gateway string `json:"gateway,omitempty"`
	// ExternalPaymentID is the gateway's reference (Adyen's pspReference).
	ExternalPaymentID string `json:"externalPaymentId,omitempty"`
	// OrderID is the merchant reference at the gateway: the Cleeng order.
	OrderID         string `json:"orderId,omitempty"`
	CleengPaymentID string `json:"cleengPaymentId,omitempty"`
	Operation       string `json:"operation,omitempty"`
	GatewaySide     string `json:"gatewaySide"`
	CleengSide      string `json:"cleengSide"`
	Action          string `json:"action"`
}

// Inputs are what is compared.
type Inputs struct {
	// Gateways are the gateway payments; those first recorded outside the
	// window are left out.
	Gateways []GatewayPayment
	Cleeng   []cleeng.Payment
	// Operations are the connector's operation records (state not read).
	Operations []*ops.Record[json.RawMessage]
	// From and To bound the window: From <= time < To.
	From, To time.Time
	// Now and InDoubtAfter: an operation in progress whose last write is
	// older than Now - InDoubtAfter is in doubt.
	Now          time.Time
	InDoubtAfter time.Duration
}

// Compare lists every drift, gateway payments first in the order given,
// then the operations in doubt by key.
func Compare(in Inputs) []Drift {
	byExternalID := map[string]cleeng.Payment{}
	for _, p := range in.Cleeng {
		byExternalID[p.ExternalPaymentID] = p
	}
	var drifts []Drift
	for _, g := range in.Gateways {
		if g.At.Before(in.From) || !g.At.Before(in.To) {
			continue
		}
		c, found := byExternalID[g.Reference]
		var cp *cleeng.Payment
		if found {
			cp = &c
		}
		drifts = append(drifts, comparePayment(g, cp)...)
	}
	return append(drifts, inDoubt(in)...)
}

// comparePayment compares one gateway payment with its Cleeng payment (nil: none).
func comparePayment(g GatewayPayment, c *cleeng.Payment) []Drift {
	d := Drift{Gateway: g.Gateway, ExternalPaymentID: g.Reference, OrderID: g.MerchantReference, GatewaySide: gatewaySide(g), CleengSide: "no payment"}
	if c != nil {
		d.CleengPaymentID, d.CleengSide = c.ID.String(), cleengSide(*c)
		if d.OrderID == "" {
			d.OrderID = c.OrderID.String()
		}
	}
	charged := g.State == StateAuthorised || g.State == StateCaptured
	// A zero-amount authorisation charges nothing: a card check (a card
	// update) has no Cleeng payment, and a free trial's needs no capture.
	verification := charged && g.Amount.IsZero()
	status := cleeng.PaymentStatus("")
	if c != nil {
		status = c.Status.Normalize()
	}
	kind, action := Kind(""), ""
	switch {
	case g.State == StatePending:
		// Not decided at the gateway yet: a later run sees its outcome.
	case verification:
		// Nothing charged; the amounts are still compared below.
	case c != nil && c.Amount.IsZero() && g.State == StateCancelled:
		// A free trial whose gateway cannot authorise zero: one minor unit
		// authorised and cancelled (DESIGN section 12).
	case c == nil && charged:
		kind, action = MissingInCleeng, missingAction(g)
	case (status == cleeng.StatusRejected || status == cleeng.StatusCancelled) && charged && !g.Refunded:
		kind, action = RejectedInCleeng, undoAtGateway(g, "Cleeng "+string(status)+" it")
	case c == nil || status == cleeng.StatusRejected || status == cleeng.StatusCancelled:
		// Nothing charged, nothing recorded as paid.
	case !charged:
		kind, action = NotChargedAtGateway, fmt.Sprintf("the gateway %s it: mark Cleeng payment %s rejected (PATCH /payments/%s status rejected), or charge again", g.State, c.ID, c.ID)
	case status == cleeng.StatusAuthorized && g.State == StateCaptured:
		kind, action = CapturedVsAuthorised, fmt.Sprintf("mark Cleeng payment %s captured (PATCH /payments/%s status captured)", c.ID, c.ID)
	case (status == cleeng.StatusCaptured || status == cleeng.StatusRefunded) && g.State == StateAuthorised:
		kind, action = CapturedVsAuthorised, fmt.Sprintf("capture %s at %s (POST /payments/%s/captures), or correct Cleeng payment %s", g.Reference, g.Gateway, g.Reference, c.ID)
	case status == cleeng.StatusCaptured && g.Refunded:
		kind, action = RefundedOneSide, fmt.Sprintf("mark Cleeng payment %s refunded (PATCH /payments/%s status refunded)", c.ID, c.ID)
	case status == cleeng.StatusRefunded && !g.Refunded:
		kind, action = RefundedOneSide, refundAtGateway(g, "Cleeng refunded it")
	}
	var out []Drift
	if kind != "" {
		d.Kind, d.Action = kind, action
		out = append(out, d)
	}
	if c != nil && charged && status != cleeng.StatusRejected && status != cleeng.StatusCancelled {
		if m, ok := compareAmounts(d, g, *c); ok {
			out = append(out, m)
		}
	}
	return out
}

// compareAmounts reports a currency, else an amount, that differs.
func compareAmounts(d Drift, g GatewayPayment, c cleeng.Payment) (Drift, bool) {
	switch {
	case !strings.EqualFold(g.Amount.Currency, c.Currency):
		d.Kind = CurrencyMismatch
	case !g.Amount.Value.Equal(c.Amount.Decimal):
		d.Kind = AmountMismatch
	default:
		return Drift{}, false
	}
	d.Action = fmt.Sprintf("the gateway %s %s, Cleeng payment %s says %s: refund the difference at %s or correct the Cleeng payment, then find why the order and the charge differ",
		g.State, formatAmount(g.Amount), c.ID, formatAmount(money.Amount{Value: c.Amount.Decimal, Currency: c.Currency}), g.Gateway)
	return d, true
}

func missingAction(g GatewayPayment) string {
	status := cleeng.StatusCaptured
	if g.State == StateAuthorised {
		status = cleeng.StatusAuthorized
	}
	return fmt.Sprintf("record it in Cleeng (POST /payments order %s, status %s, externalPaymentId %s), or %s",
		orDash(g.MerchantReference), status, g.Reference, undoAtGateway(g, "nobody should have been charged"))
}

// undoAtGateway is the gateway-side correction: a refund, or the
// cancellation of an open authorisation.
func undoAtGateway(g GatewayPayment, why string) string {
	if g.State == StateAuthorised {
		return fmt.Sprintf("cancel the authorisation %s at %s if %s (POST /payments/%s/cancels)", g.Reference, g.Gateway, why, g.Reference)
	}
	return refundAtGateway(g, why)
}

func refundAtGateway(g GatewayPayment, why string) string {
	if g.Gateway == adyen.Name {
		return fmt.Sprintf("refund %s at adyen if %s (POST /payments/%s/refunds)", g.Reference, why, g.Reference)
	}
	return fmt.Sprintf("refund purchase %s in %s's own tools if %s", g.Reference, g.Gateway, why)
}

func gatewaySide(g GatewayPayment) string {
	s := fmt.Sprintf("%s %s", g.State, formatAmount(g.Amount))
	if g.Refunded {
		s += ", refunded"
	}
	return s
}

func cleengSide(c cleeng.Payment) string {
	return fmt.Sprintf("payment %s %s %s", c.ID, c.Status.Normalize(), formatAmount(money.Amount{Value: c.Amount.Decimal, Currency: c.Currency}))
}

func formatAmount(a money.Amount) string { return a.Value.String() + " " + a.Currency }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// inDoubt lists the operations started in the window and still in
// progress, without a write, past the deadline.
func inDoubt(in Inputs) []Drift {
	var out []Drift
	deadline := in.Now.Add(-in.InDoubtAfter)
	recs := slices.Clone(in.Operations)
	slices.SortFunc(recs, func(a, b *ops.Record[json.RawMessage]) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		if r.Status != ops.StatusInProgress || r.Created.Before(in.From) || !r.Created.Before(in.To) || !r.Updated.Before(deadline) {
			continue
		}
		out = append(out, Drift{
			Kind: InDoubt, Operation: r.Key,
			GatewaySide: "-", CleengSide: "-",
			Action: fmt.Sprintf("operation %s (flow %s) has been at step %s since %s: check connector ops show %s and connector dlq list, look its order up at the gateway and in Cleeng, and finish it by hand or replay its letter",
				r.Key, r.Flow, orDash(r.Step), r.Updated.UTC().Format(time.RFC3339), r.Key),
		})
	}
	return out
}

// TableHeader heads the table of TableLine's lines (cells separated by tabs).
const TableHeader = "KIND\tGATEWAY\tREFERENCE\tORDER\tGATEWAY SIDE\tCLEENG SIDE\tACTION"

// TableLine is the drift as one line of the table: an operation in doubt
// is named by its key where a payment is by its reference.
func (d Drift) TableLine() string {
	ref := d.ExternalPaymentID
	if d.Kind == InDoubt {
		ref = d.Operation
	}
	return strings.Join([]string{string(d.Kind), orDash(d.Gateway), ref, orDash(d.OrderID), d.GatewaySide, d.CleengSide, d.Action}, "\t")
}
