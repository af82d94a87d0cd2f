package sandbox

import (
	"fmt"
	"slices"
)

// Events Adyen sends about what happens outside the merchant's API calls:
// a refund made in the Customer Area, a cancel-or-refund sent by another
// integration of the merchant account, the stages of a dispute, and the
// events whose cause the sandbox does not model (payouts, reports).

// Dispute stages, in the order a dispute may go through them (Adyen's
// dispute process: a notice, an RFI, the chargeback, its defence, the
// second presentment, pre-arbitration).
const (
	EventNotificationOfChargeback = "NOTIFICATION_OF_CHARGEBACK"
	EventRequestForInformation    = "REQUEST_FOR_INFORMATION"
	EventNotificationOfFraud      = "NOTIFICATION_OF_FRAUD"
	EventChargeback               = "CHARGEBACK"
	EventChargebackReversed       = "CHARGEBACK_REVERSED"
	EventSecondChargeback         = "SECOND_CHARGEBACK"
	EventPrearbitrationWon        = "PREARBITRATION_WON"
	EventPrearbitrationLost       = "PREARBITRATION_LOST"
)

// disputeAfter says which stage each dispute event may follow ("" a
// payment without a dispute); Dispute refuses any other order.
var disputeAfter = map[string][]string{
	EventNotificationOfChargeback: {"", EventRequestForInformation, EventNotificationOfFraud},
	EventRequestForInformation:    {"", EventNotificationOfFraud},
	EventNotificationOfFraud:      {""},
	EventChargeback:               {"", EventNotificationOfChargeback, EventRequestForInformation, EventNotificationOfFraud},
	EventChargebackReversed:       {EventChargeback},
	EventSecondChargeback:         {EventChargebackReversed},
	EventPrearbitrationWon:        {EventChargeback, EventSecondChargeback},
	EventPrearbitrationLost:       {EventChargeback, EventSecondChargeback},
}

// RefundInCustomerArea refunds value (Adyen minor units; 0: all that is
// left) of payment psp as a person does in Adyen's Customer Area: the
// REFUND notification is all the connector hears of it. It returns the
// refund's pspReference; false when there is no payment psp. A refund of
// more than is left fails, by notification, as through the API.
func (s *Sandbox) RefundInCustomerArea(psp string, value int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return "", false
	}
	if value == 0 {
		value = p.Captured - p.Refunded
	}
	amt := amount{p.Currency, value}
	item := s.modification(p, amt)
	item.EventCode, item.Reason = s.refund(p, amt)
	if item.Reason != "" && item.EventCode == "REFUND" {
		item.Success = "false"
	}
	s.notify(item)
	return item.PspReference, true
}

// CancelOrRefund does what POST /cancelOrRefund does, sent by another
// integration of the merchant account or from the Customer Area: an open
// authorisation is cancelled, a captured payment refunded in full.
// CANCEL_OR_REFUND says which in additionalData "modification.action", as
// Adyen's own example of the notification does. It returns the
// modification's pspReference; false when there is no payment psp.
func (s *Sandbox) CancelOrRefund(psp string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return "", false
	}
	item := s.modification(p, amount{p.Currency, p.Amount})
	item.EventCode = "CANCEL_OR_REFUND"
	action := "cancel"
	switch left := p.Captured - p.Refunded; {
	case p.Captured > 0 && left == 0:
		action, item.Reason = "refund", "Payment is already refunded"
	case p.Captured > 0:
		action = "refund"
		item.Amount.Value = left
		_, item.Reason = s.refund(p, item.Amount)
	default:
		_, item.Reason = s.cancelPayment(p)
	}
	if item.Reason != "" {
		item.Success = "false"
	}
	item.AdditionalData = map[string]string{"modification.action": action}
	s.notify(item)
	return item.PspReference, true
}

// Dispute plays one stage of a dispute of captured payment psp, as the
// shopper's bank and Adyen move it on: eventCode is one of the dispute
// events above, value the disputed amount (Adyen minor units; 0: all that
// is captured and not refunded). A dispute keeps one pspReference through
// its stages, each notification naming the payment as originalReference.
// A stage out of order, or a dispute of a payment with nothing captured,
// is refused with an error.
func (s *Sandbox) Dispute(psp, eventCode string, value int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	switch {
	case !ok:
		return "", fmt.Errorf("no payment %s", psp)
	case p.Captured == 0:
		return "", fmt.Errorf("payment %s is %s: only a captured payment is disputed", psp, p.Status)
	case disputeAfter[eventCode] == nil:
		return "", fmt.Errorf("%s is not a dispute event", eventCode)
	case !slices.Contains(disputeAfter[eventCode], p.DisputeStage):
		return "", fmt.Errorf("%s cannot follow %q in the dispute of %s", eventCode, p.DisputeStage, psp)
	}
	if value == 0 {
		value = p.Captured - p.Refunded
	}
	if value > p.Captured-p.Refunded {
		return "", fmt.Errorf("disputed %d is more than the %d captured and not refunded", value, p.Captured-p.Refunded)
	}
	if p.Dispute == "" {
		p.Dispute = newReference()
	}
	p.DisputeStage = eventCode
	switch eventCode {
	case EventChargeback, EventSecondChargeback, EventPrearbitrationLost:
		p.ChargedBack = value
	case EventChargebackReversed, EventPrearbitrationWon:
		p.ChargedBack = 0
	}
	item := s.modification(p, amount{p.Currency, value})
	item.PspReference, item.EventCode = p.Dispute, eventCode
	s.notify(item)
	return p.Dispute, nil
}

// SendEvent sends eventCode about payment psp, with its amount, for the
// events whose cause the sandbox does not model (Auto Rescue, a manual
// review, payouts, reports): a receiver must decide each code Adyen may
// send. EXPIRE also expires what psp has authorised and not captured, so a
// later capture fails. It reports false when there is no payment psp.
func (s *Sandbox) SendEvent(psp, eventCode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return false
	}
	item := s.modification(p, amount{p.Currency, p.Amount})
	item.EventCode = eventCode
	switch eventCode {
	case "RECURRING_CONTRACT":
		// Its pspReference is the token, originalPsp the payment that stored it.
		item.PspReference, item.OriginalPsp, item.OriginalReference = p.Token, p.PSPReference, ""
		item.Amount.Value = 0
	case "EXPIRE":
		if p.Status == StatusAuthorised {
			p.Status = StatusExpired
		}
		item.Amount.Value = p.Amount - p.Captured
	case "REPORT_AVAILABLE":
		item.Reason = "https://ca-test.adyen.com/reports/download/MerchantAccount/" + s.opts.MerchantAccount + "/settlement_detail_report_batch_1.csv"
	}
	s.notify(item)
	return true
}

// modification is a successful notification item about payment p, under a
// new pspReference. Called with s.mu held.
func (s *Sandbox) modification(p *Payment, amt amount) NotificationItem {
	return NotificationItem{
		PspReference:      newReference(),
		OriginalReference: p.PSPReference,
		MerchantReference: p.Reference,
		Amount:            amt,
		PaymentMethod:     p.variant(),
		Success:           "true",
	}
}
