package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/money"
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
	s.changedLocked()
	if s.closed {
		return
	}
	body, _ := json.Marshal(d.Notification)
	s.wg.Add(1)
	go s.deliver(d, body)
}

var notifyClient = &http.Client{Timeout: 10 * time.Second}

// deliver POSTs one notification until it is answered 200, with growing
// waits, until Close.
func (s *Sandbox) deliver(d *Delivery, body []byte) {
	defer s.wg.Done()
	if !s.sleep(s.opts.NotifyDelay) {
		return
	}
	wait := s.opts.NotifyRetryBase
	for {
		s.mu.Lock()
		target := s.target
		s.mu.Unlock()
		if target.url != "" {
			status := s.post(target, body)
			s.mu.Lock()
			d.Attempts++
			d.LastStatus = status
			d.Delivered = status == http.StatusOK
			s.changedLocked()
			s.mu.Unlock()
			if status == http.StatusOK {
				return
			}
		}
		if !s.sleep(wait) {
			return
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// sleep waits d; false when the sandbox closed meanwhile.
func (s *Sandbox) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// post sends body once and returns the status (0: no answer).
func (s *Sandbox) post(t notifyTarget, body []byte) int {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if t.username != "" || t.password != "" {
		req.SetBasicAuth(t.username, t.password)
	}
	resp, err := notifyClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode
}
