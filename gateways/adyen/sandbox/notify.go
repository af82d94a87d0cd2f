package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/adyen/adyen-go-api-library/v9/src/hmacvalidator"
	"github.com/adyen/adyen-go-api-library/v9/src/webhook"

	"github.com/cleeng-connector/connector/internal/webhookout"
)

// NotificationItem is a standard notification item as Webhooks-v1.json
// describes it (the library's struct would send nulls the spec forbids).
type NotificationItem struct {
	AdditionalData      map[string]string `json:"additionalData,omitempty"`
	Amount              amount            `json:"amount"`
	EventCode           string            `json:"eventCode"`
	EventDate           string            `json:"eventDate"`
	MerchantAccountCode string            `json:"merchantAccountCode"`
	MerchantReference   string            `json:"merchantReference"`
	OriginalReference   string            `json:"originalReference,omitempty"`
	OriginalPsp         string            `json:"originalPsp,omitempty"` // RECURRING_CONTRACT's payment
	PaymentMethod       string            `json:"paymentMethod,omitempty"`
	PspReference        string            `json:"pspReference"`
	Reason              string            `json:"reason,omitempty"`
	Success             string            `json:"success"`
}

type notificationRequest struct {
	Live              string                `json:"live"`
	NotificationItems []notificationWrapper `json:"notificationItems"`
}

type notificationWrapper struct {
	NotificationRequestItem NotificationItem `json:"NotificationRequestItem"`
}

// Notification is a notification the sandbox sent or is sending.
type Notification struct {
	Item      NotificationItem
	Delivered bool
	Attempts  int
}

// authorisation is the AUTHORISATION item of a settled payment.
func (p *Payment) authorisation(success bool, reason string) NotificationItem {
	item := NotificationItem{
		PspReference:      p.PSPReference,
		MerchantReference: p.Reference,
		Amount:            amount{p.Currency, p.Amount},
		EventCode:         "AUTHORISATION",
		PaymentMethod:     p.variant(),
		Success:           "false",
		Reason:            reason,
	}
	if success {
		item.Success = "true"
		item.AdditionalData = p.notifiedData()
		if p.Token != "" && !p.Recurring {
			item.AdditionalData["recurring.recurringDetailReference"] = p.Token
		}
	}
	return item
}

// notify signs item, records it and starts its delivery. Called with s.mu held.
func (s *Sandbox) notify(item NotificationItem) {
	item.MerchantAccountCode = s.opts.MerchantAccount
	item.EventDate = s.opts.Now().UTC().Format(time.RFC3339)
	signed := webhook.NotificationRequestItem{
		PspReference: item.PspReference, OriginalReference: item.OriginalReference,
		MerchantAccountCode: item.MerchantAccountCode, MerchantReference: item.MerchantReference,
		Amount:    webhook.Amount{Currency: item.Amount.Currency, Value: item.Amount.Value},
		EventCode: item.EventCode, Success: item.Success,
	}
	sig, err := hmacvalidator.CalculateHmac(signed, s.opts.HMACKey)
	if err != nil {
		s.violations = append(s.violations, "sandbox: HMAC key is not hex")
	}
	if item.AdditionalData == nil {
		item.AdditionalData = map[string]string{}
	}
	item.AdditionalData["hmacSignature"] = sig
	rec := &Notification{Item: item}
	s.notifications = append(s.notifications, rec)
	s.send(rec)
}

// send starts a delivery of rec's item. Called with s.mu held.
func (s *Sandbox) send(rec *Notification) {
	body, _ := json.Marshal(notificationRequest{Live: "false", NotificationItems: []notificationWrapper{{rec.Item}}})
	// A notification is about its payment: a modification's about the
	// payment it modifies.
	about := rec.Item.OriginalReference
	if about == "" {
		about = rec.Item.PspReference
	}
	started := s.outbox.Send(about, body, func(a webhookout.Attempt) {
		s.mu.Lock()
		defer s.mu.Unlock()
		rec.Attempts++
		rec.Delivered = accepted(a)
	})
	if c := s.opts.Contract; started && c != nil {
		s.violations = append(s.violations, c.CheckNotification(rec.Item.EventCode, body)...)
	}
}

// Resend sends notification i of Notifications again, unchanged (same item,
// same eventDate and signature), to the current target, as Adyen does: it
// delivers at least once and re-sends an event it already delivered (a
// retry whose acceptance it missed, or a resend from the Customer Area), so
// a receiver must make a repeat harmless. It reports false when there is no
// notification i.
func (s *Sandbox) Resend(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.notifications) {
		return false
	}
	s.send(s.notifications[i])
	return true
}

// accepted: Adyen re-sends a notification until it is answered 200
// "[accepted]" (within its 10 s timeout, the outbox client's).
func accepted(a webhookout.Attempt) bool {
	return a.Status == http.StatusOK && strings.TrimSpace(string(a.Answer)) == "[accepted]"
}

// Notifications returns copies of every notification, oldest first.
func (s *Sandbox) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, 0, len(s.notifications))
	for _, n := range s.notifications {
		c := *n
		c.Item.AdditionalData = make(map[string]string, len(n.Item.AdditionalData))
		for k, v := range n.Item.AdditionalData {
			c.Item.AdditionalData[k] = v
		}
		out = append(out, c)
	}
	return out
}
