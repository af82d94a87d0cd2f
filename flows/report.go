package flows

import (
	"fmt"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

// reporting is what a gateway's answer is reported to Cleeng for.
type reporting string

const (
	reportInitial   reporting = "initial purchase"
	reportAuthorise reporting = "renewal authorisation" // authorise-only
	reportCharge    reporting = "renewal charge"        // capture-only: a direct charge
	reportCapture   reporting = "capture"               // of an authorised renewal
)

// renewalAuthenticationReason is a renewal's rejection when the issuer asks
// for 3-D Secure: nobody is present to authenticate a merchant-initiated
// payment.
const renewalAuthenticationReason = "the issuer asked for shopper authentication on a renewal"

// cleengStatus is the one mapping of a gateway's final answer to the
// status (and rejection reason) of its Cleeng payment. An answer that is not
// final for what is reported is "not yet": a flow parks on those before it
// reports (a shopper action on a purchase, a pending payment).
func cleengStatus(what reporting, res gateways.Result) (cleeng.PaymentStatus, string, error) {
	switch o := res.Outcome; {
	case o == gateways.Refused:
		return cleeng.StatusRejected, res.RefusalReason, nil
	case o == gateways.Captured:
		return cleeng.StatusCaptured, "", nil
	case o == gateways.Authorised && what == reportAuthorise:
		return cleeng.StatusAuthorized, "", nil
	case o == gateways.Authorised && (what == reportInitial || what == reportCharge):
		return cleeng.StatusCaptured, "", nil // auto-captured by the gateway
	case o == gateways.ActionRequired && (what == reportAuthorise || what == reportCharge):
		return cleeng.StatusRejected, renewalAuthenticationReason, nil
	case o == gateways.Received && what == reportCapture:
		// Accepted for capture, confirmed later: a CAPTURE_FAILED turns it
		// rejected (gateway-events flow).
		return cleeng.StatusCaptured, "", nil
	}
	return "", "", failure.NotYet(0, fmt.Errorf("%s: gateway outcome %q is not final yet", what, res.Outcome))
}
