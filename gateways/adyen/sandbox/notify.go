package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/adyen/adyen-go-api-library/v9/src/hmacvalidator"
	"github.com/adyen/adyen-go-api-library/v9/src/webhook"
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
		PaymentMethod:     p.Card.Brand,
		Success:           "false",
		Reason:            reason,
	}
	if success {
		item.Success = "true"
		item.AdditionalData = map[string]string{"cardSummary": p.Card.summary(), "expiryDate": p.Card.expiryDate()}
		if p.Token != "" && !p.Recurring {
			item.AdditionalData["recurring.recurringDetailReference"] = p.Token
		}
	}
	return item
}

// notify signs item and starts its delivery. Called with s.mu held.
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
	if s.closed {
		return
	}
	body, _ := json.Marshal(notificationRequest{Live: "false", NotificationItems: []notificationWrapper{{item}}})
	s.wg.Add(1)
	go s.deliver(rec, body)
}

var notifyClient = &http.Client{Timeout: 10 * time.Second} // Adyen waits 10 s for [accepted]

// deliver POSTs one notification until it is answered 200 [accepted], with
// growing waits, until Close.
func (s *Sandbox) deliver(rec *Notification, body []byte) {
	defer s.wg.Done()
	if c := s.opts.Contract; c != nil {
		if v := c.CheckNotification(rec.Item.EventCode, body); len(v) > 0 {
			s.recordViolations(v)
		}
	}
	wait := s.opts.NotifyRetryBase
	for {
		s.mu.Lock()
		target := s.target
		if target.url != "" {
			rec.Attempts++
		}
		s.mu.Unlock()
		if target.url != "" && s.post(target, body) {
			s.mu.Lock()
			rec.Delivered = true
			s.mu.Unlock()
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

func (s *Sandbox) post(t notifyTarget, body []byte) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if t.username != "" || t.password != "" {
		req.SetBasicAuth(t.username, t.password)
	}
	resp, err := notifyClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	ack, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(ack)) == "[accepted]"
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
