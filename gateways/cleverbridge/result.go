package cleverbridge

import (
	"fmt"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

// Default refusal reasons when Cleverbridge gives no payment error code.
const (
	reasonDeclined       = "Payment declined by Cleverbridge; the customer can change the payment details at Cleverbridge"
	reasonCustomerAction = "Customer information at Cleverbridge is invalid or incomplete (e.g. payment details); the customer must complete it at Cleverbridge"
)

// result maps a 2xx Process Cart answer to a Result:
//
//	Paid                     → Captured, PaymentReference = purchase id
//	WaitingForOfflinePayment → Pending (settled by a purchase notification)
//	Pending                  → Refused (payment declined), CustomerURL
//	CustomerActionNeeded     → Refused (customer data to complete), CustomerURL
//
// Any other status leaves the outcome unknown.
func result(what string, resp ProcessCartResponse) (gateways.Result, error) {
	res := gateways.Result{
		PaymentReference: resp.PurchaseID,
		CustomerURL:      resp.URL,
		RetryScheduled:   resp.IsPaymentRetryScheduled,
	}
	switch resp.Status {
	case StatusPaid:
		if resp.PurchaseID == "" {
			return gateways.Result{}, failure.UnknownOutcome(fmt.Errorf("%s: Paid without a purchase id", what))
		}
		res.Outcome = gateways.Captured
	case StatusWaitingForOfflinePayment:
		res.Outcome = gateways.Pending
	case StatusPending:
		res.Outcome, res.RefusalReason = gateways.Refused, refusalReason(resp, reasonDeclined)
	case StatusCustomerActionNeeded:
		res.Outcome, res.RefusalReason = gateways.Refused, refusalReason(resp, reasonCustomerAction)
	default:
		return gateways.Result{}, failure.UnknownOutcome(fmt.Errorf("%s: unknown status %q", what, resp.Status))
	}
	return res, nil
}

// refusalReason is the readable reason of the payment error in the answer
// ("error", else "paymentResult"), or fallback.
func refusalReason(resp ProcessCartResponse, fallback string) string {
	for _, pr := range []*PaymentResult{resp.Error, resp.PaymentResult} {
		if pr != nil && (pr.Code != "" || pr.Message != "") {
			return paymentErrorReason(*pr)
		}
	}
	return fallback
}

// paymentErrorReason: the documented message of a known code, else the
// message Cleverbridge sent, else the bare code.
func paymentErrorReason(pr PaymentResult) string {
	if msg, ok := PaymentErrorMessage(pr.Code); ok {
		return msg
	}
	if pr.Message != "" {
		return pr.Message
	}
	return "Payment declined (Cleverbridge code " + pr.Code + ")"
}
