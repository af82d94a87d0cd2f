package sandbox

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/webhookout"
)

// Delivery is a purchase notification the sandbox sent or is sending.
type Delivery struct {
	Notification cleverbridge.Notification `json:"notification"`
	Delivered    bool                      `json:"delivered"`
	Attempts     int                       `json:"attempts"`
	LastStatus   int                       `json:"lastStatus,omitempty"`
}

// notification builds the notification of an event on p.
func (s *Sandbox) notification(eventType string, p *Purchase) cleverbridge.Notification {
	exp, _ := money.Exponent(p.Currency) // validated with the request
	n := cleverbridge.Notification{
		ID: newID("N"), EventType: eventType, CreatedAt: s.opts.Now().UTC().Format(time.RFC3339),
		Purchase: cleverbridge.NotificationPurchase{
			ID: p.ID, Status: p.Status, CurrencyID: p.Currency, TotalGross: cleverbridge.Decimal(p.Amount.StringFixed(exp)),
			ExtraParameters: p.Extra,
		},
	}
	for _, it := range p.Items {
		n.Purchase.Items = append(n.Purchase.Items, cleverbridge.NotificationItem{
			ProductID: it.ProductID, Quantity: it.Quantity,
			RecurringBilling: &cleverbridge.RecurringBilling{SubscriptionID: p.SubscriptionID},
		})
	}
	if p.ErrorCode != "" {
		msg, _ := cleverbridge.PaymentErrorMessage(p.ErrorCode)
		n.Purchase.Error = &cleverbridge.PaymentResult{Code: p.ErrorCode, Message: msg}
	}
	return n
}

// notifyLocked records a notification and starts its delivery. Callers hold mu.
func (s *Sandbox) notifyLocked(eventType string, p *Purchase) {
	d := &Delivery{Notification: s.notification(eventType, p)}
	s.notifications = append(s.notifications, d)
	s.sendLocked(d)
}

// Resend sends notification i of Notifications again, unchanged (same id),
// to the current target: Cleverbridge re-sends a notification until it is
// answered 200, so a receiver whose answer was lost gets it twice. It
// reports false when there is no notification i.
func (s *Sandbox) Resend(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.notifications) {
		return false
	}
	s.sendLocked(s.notifications[i])
	return true
}

// sendLocked starts a delivery of d. Callers hold mu.
func (s *Sandbox) sendLocked(d *Delivery) {
	s.changedLocked()
	body, _ := json.Marshal(d.Notification)
	s.outbox.Send(about(d.Notification), body, func(a webhookout.Attempt) {
		s.mu.Lock()
		defer s.mu.Unlock()
		d.Attempts++
		d.LastStatus = a.Status
		d.Delivered = a.Status == http.StatusOK
		s.changedLocked()
	})
}

// about is what a notification reports on, for the order of deliveries:
// its subscription (a renewal, a deactivation), or its purchase.
func about(n cleverbridge.Notification) string {
	if id := n.SubscriptionID(); id != "" {
		return id
	}
	return n.Purchase.ID
}
