package sandbox

// Events Adyen sends about a refund it already reported successful.
const (
	// EventRefundFailed: the acquirer failed the refund after all (a closed
	// card account); the money stays with the merchant.
	EventRefundFailed = "REFUND_FAILED"
	// EventRefundedReversed: the refunded funds came back to the merchant.
	EventRefundedReversed = "REFUNDED_REVERSED"
)

// UndoRefund plays what an acquirer or a bank does days after a successful
// REFUND: eventCode (EventRefundFailed or EventRefundedReversed) is sent for
// the payment's last successful refund, whose amount counts as refunded no
// more. It reports false when payment psp has no successful refund.
func (s *Sandbox) UndoRefund(psp, eventCode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return false
	}
	for i := len(s.notifications) - 1; i >= 0; i-- {
		refund := s.notifications[i].Item
		if refund.EventCode != "REFUND" || refund.Success != "true" || refund.OriginalReference != psp {
			continue
		}
		p.Refunded -= refund.Amount.Value
		s.notify(NotificationItem{
			PspReference: refund.PspReference, OriginalReference: psp, MerchantReference: refund.MerchantReference,
			Amount: refund.Amount, PaymentMethod: refund.PaymentMethod, EventCode: eventCode, Success: "true",
		})
		return true
	}
	return false
}
