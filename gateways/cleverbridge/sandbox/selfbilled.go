package sandbox

import (
	"fmt"
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/money"
)

// Subscriptions Cleverbridge bills by itself (externally-managed billing):
// Cleverbridge's own checkout starts them, its scheduler renews them, its
// support refunds and cancels them; the connector only hears the
// notifications. These controls play those parts.

// Billing is one charge Cleverbridge makes by itself.
type Billing struct {
	// SubscriptionID renews that subscription; empty starts a new one.
	SubscriptionID string `json:"subscriptionId,omitempty"`
	// Amount and Currency of a new subscription; a renewal bills its first purchase's.
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency,omitempty"`
	// Extra are a new subscription's x-parameters; a renewal keeps its first purchase's.
	Extra cleverbridge.ExtraParameters `json:"extraParameters,omitempty"`
	// ErrorCode declines the charge with that payment error.
	ErrorCode string `json:"errorCode,omitempty"`
}

// Bill charges a subscription as Cleverbridge's scheduler does, and sends
// PurchasePaid, or PurchaseDeclined when ErrorCode is set.
func (s *Sandbox) Bill(b Billing) (Purchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Purchase{ID: newID("P"), SubscriptionID: b.SubscriptionID, Status: cleverbridge.StatusPaid,
		Amount: b.Amount, Currency: b.Currency, Extra: b.Extra, CreatedAt: s.opts.Now().UTC()}
	if b.SubscriptionID == "" {
		if _, err := money.Exponent(b.Currency); err != nil || !b.Amount.IsPositive() {
			return Purchase{}, &ControlError{Status: http.StatusBadRequest, Message: fmt.Sprintf("a new subscription needs an amount above 0 and a currency, got %s %q", b.Amount, b.Currency)}
		}
		p.SubscriptionID = newID("S")
		p.Items = []cleverbridge.CartItem{{ProductID: "1", Quantity: 1}}
	} else {
		first := s.firstPurchaseLocked(b.SubscriptionID)
		if first == nil {
			return Purchase{}, &ControlError{Status: http.StatusNotFound, Message: "subscription " + b.SubscriptionID + " not found"}
		}
		p.Amount, p.Currency, p.Extra, p.Items = first.Amount, first.Currency, first.Extra, first.Items
	}
	event := cleverbridge.EventPurchasePaid
	if b.ErrorCode != "" {
		p.Status, p.ErrorCode, event = purchaseDeclined, b.ErrorCode, cleverbridge.EventPurchaseDeclined
	}
	s.purchases[p.ID] = p
	s.order = append(s.order, p.ID)
	s.notifyLocked(event, p)
	return *p, nil
}

// Refund refunds a paid purchase, as Cleverbridge's support does, and
// sends PurchaseRefunded.
func (s *Sandbox) Refund(purchaseID string) (Purchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.purchases[purchaseID]
	switch {
	case !ok:
		return Purchase{}, &ControlError{Status: http.StatusNotFound, Message: "purchase " + purchaseID + " not found"}
	case p.Status != cleverbridge.StatusPaid:
		return Purchase{}, &ControlError{Status: http.StatusConflict, Message: fmt.Sprintf("purchase %s is %s: only a paid purchase can be refunded", p.ID, p.Status)}
	}
	p.Status = cleverbridge.StatusRefunded
	s.notifyLocked(cleverbridge.EventPurchaseRefunded, p)
	return *p, nil
}

// Cancel ends a subscription's renewals, as a shopper does in
// Cleverbridge's account pages, and sends SubscriptionDeactivated about its
// latest purchase.
func (s *Sandbox) Cancel(subscriptionID string) (Purchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last *Purchase
	for _, id := range s.order {
		if p := s.purchases[id]; p.SubscriptionID == subscriptionID {
			last = p
		}
	}
	if last == nil {
		return Purchase{}, &ControlError{Status: http.StatusNotFound, Message: "subscription " + subscriptionID + " not found"}
	}
	s.notifyLocked(cleverbridge.EventSubscriptionDeactivated, last)
	return *last, nil
}

// firstPurchaseLocked is the purchase that started a subscription. Callers hold mu.
func (s *Sandbox) firstPurchaseLocked(subscriptionID string) *Purchase {
	for _, id := range s.order {
		if p := s.purchases[id]; p.SubscriptionID == subscriptionID {
			return p
		}
	}
	return nil
}

// selfBillingControls are the HTTP forms of Bill, Refund and Cancel.
func (s *Sandbox) selfBillingControls(mux *http.ServeMux) {
	mux.HandleFunc("POST /sandbox/billings", func(w http.ResponseWriter, r *http.Request) {
		var b Billing
		if !decodeControl(w, r, &b) {
			return
		}
		p, err := s.Bill(b)
		controlAnswer(w, p, err)
	})
	mux.HandleFunc("POST /sandbox/purchases/{id}/refund", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Refund(r.PathValue("id"))
		controlAnswer(w, p, err)
	})
	mux.HandleFunc("POST /sandbox/subscriptions/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Cancel(r.PathValue("id"))
		controlAnswer(w, p, err)
	})
}
