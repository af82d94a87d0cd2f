package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// modificationRequest is the part of capture, refund and cancel requests the sandbox reads.
type modificationRequest struct {
	Amount          *amount `json:"amount"`
	MerchantAccount string  `json:"merchantAccount"`
	Reference       string  `json:"reference"`
}

// modify handles POST /payments/{psp}/captures|refunds|cancels: Adyen
// answers 201 "received" and reports the outcome by notification.
func (s *Sandbox) modify(kind, psp string, body []byte) answer {
	var req modificationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiError(http.StatusBadRequest, "702", "validation", "malformed JSON")
	}
	if req.MerchantAccount != s.opts.MerchantAccount {
		return apiError(http.StatusForbidden, "901", "security", "Invalid Merchant Account")
	}
	if kind != "cancels" && (req.Amount == nil || req.Amount.Value <= 0) {
		return apiError(http.StatusUnprocessableEntity, "137", "validation", "Invalid amount specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return apiError(http.StatusUnprocessableEntity, "167", "validation", "Original pspReference required for this operation")
	}
	amt := amount{p.Currency, p.Amount}
	if req.Amount != nil {
		amt = *req.Amount
	}
	ref := req.Reference
	if ref == "" {
		ref = p.Reference
	}
	item := NotificationItem{
		PspReference:      newReference(),
		OriginalReference: p.PSPReference,
		MerchantReference: ref,
		Amount:            amt,
		PaymentMethod:     p.variant(),
		Success:           "true",
	}
	switch kind {
	case "captures":
		item.EventCode, item.Reason = s.capture(p, amt)
	case "refunds":
		item.EventCode, item.Reason = s.refund(p, amt)
	case "cancels":
		item.EventCode, item.Reason = s.cancelPayment(p)
	}
	if item.Reason != "" && !strings.HasSuffix(item.EventCode, "_FAILED") {
		item.Success = "false"
	}
	s.notify(item)
	resp := map[string]any{
		"merchantAccount":     s.opts.MerchantAccount,
		"paymentPspReference": p.PSPReference,
		"pspReference":        item.PspReference,
		"status":              "received",
	}
	if req.Reference != "" {
		resp["reference"] = req.Reference
	}
	if kind != "cancels" {
		resp["amount"] = amt
	}
	return jsonAnswer(http.StatusCreated, resp)
}

// capture applies a capture; a non-empty reason means it failed.
// Called with s.mu held.
func (s *Sandbox) capture(p *Payment, amt amount) (eventCode, reason string) {
	switch {
	case strings.EqualFold(p.Card.HolderName, HolderCaptureFailed):
		return "CAPTURE_FAILED", "Capture failed by the acquirer"
	case p.Status != StatusAuthorised || !p.ManualCapture:
		return "CAPTURE", "Payment is " + p.Status + ", not authorised for capture"
	case amt.Currency != p.Currency:
		return "CAPTURE", "Currency does not match the authorisation"
	case amt.Value > p.Amount-p.Captured:
		return "CAPTURE", "Insufficient amount to capture"
	}
	p.Captured += amt.Value
	if p.Captured == p.Amount {
		p.Status = StatusCaptured
	}
	return "CAPTURE", ""
}

// refund applies a refund; a non-empty reason means it failed.
// Called with s.mu held.
func (s *Sandbox) refund(p *Payment, amt amount) (eventCode, reason string) {
	switch {
	case strings.EqualFold(p.Card.HolderName, HolderRefundFailed):
		return "REFUND_FAILED", "Refund failed by the acquirer"
	case amt.Currency != p.Currency:
		return "REFUND", "Currency does not match the payment"
	case amt.Value > p.Captured-p.Refunded:
		return "REFUND", "Insufficient captured amount to refund"
	}
	p.Refunded += amt.Value
	return "REFUND", ""
}

// cancelPayment cancels an open authorisation; a non-empty reason means it
// failed. Called with s.mu held.
func (s *Sandbox) cancelPayment(p *Payment) (eventCode, reason string) {
	if p.Status != StatusAuthorised || p.Captured > 0 {
		return "CANCELLATION", "Payment is " + p.Status + ", only an open authorisation can be cancelled"
	}
	p.Status = StatusCancelled
	return "CANCELLATION", ""
}
