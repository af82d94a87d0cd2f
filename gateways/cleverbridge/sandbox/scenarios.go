package sandbox

import (
	"net/http"
	"slices"
	"strings"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
)

// Scenario is how the sandbox answers Process Cart for one subscription.
type Scenario struct {
	// Status is a Process Cart status (cleverbridge.Status*). Default Paid.
	Status string `json:"status"`
	// ErrorCode is the payment error of a Pending or CustomerActionNeeded
	// answer: PAY_CEX, PAY_CLE, PAY_DEC, PAY_REJ, FRA_REJ, PAY_SCO (sent as
	// "error"), CCA_EXP (sent as "paymentResult"), or any other code.
	ErrorCode string `json:"errorCode,omitempty"`
	// RetryScheduled sets isPaymentRetryScheduled.
	RetryScheduled bool `json:"retryScheduled,omitempty"`
}

var statuses = []string{
	cleverbridge.StatusPaid, cleverbridge.StatusWaitingForOfflinePayment, cleverbridge.StatusPending,
	cleverbridge.StatusCustomerActionNeeded, cleverbridge.StatusInvalidRequest, cleverbridge.StatusInternalServerError,
}

// Test subscriptions with a fixed behaviour. Any other subscription id is
// paid, unless SetScenario says otherwise.
const (
	SubscriptionPaid                 = "S1000001"
	SubscriptionWaitingForOffline    = "S-OFFLINE"
	SubscriptionPending              = "S-PENDING"
	SubscriptionCustomerActionNeeded = "S-ACTION-NEEDED"
	SubscriptionInvalidRequest       = "S-INVALID"
	SubscriptionInternalServerError  = "S-ERROR"
	SubscriptionRetryScheduled       = "S-CCA_EXP" // Pending, CCA_EXP, retry scheduled
	// SubscriptionErrorPrefix + a payment error code (S-PAY_CEX, …):
	// Pending with that code.
	SubscriptionErrorPrefix = "S-"
)

// Refusal is a test subscription that is refused, with the reason the
// gateway reports.
type Refusal struct {
	SubscriptionID string
	Code           string
	Reason         string
}

// Refusals lists a test subscription per documented payment error code.
var Refusals = func() []Refusal {
	var out []Refusal
	for _, e := range cleverbridge.PaymentErrors {
		out = append(out, Refusal{SubscriptionID: SubscriptionErrorPrefix + e.Code, Code: e.Code, Reason: e.Message})
	}
	return out
}()

// builtIn is the fixed scenario of a test subscription id.
func builtIn(subscriptionID string) Scenario {
	switch subscriptionID {
	case SubscriptionWaitingForOffline:
		return Scenario{Status: cleverbridge.StatusWaitingForOfflinePayment}
	case SubscriptionPending:
		return Scenario{Status: cleverbridge.StatusPending}
	case SubscriptionCustomerActionNeeded:
		return Scenario{Status: cleverbridge.StatusCustomerActionNeeded}
	case SubscriptionInvalidRequest:
		return Scenario{Status: cleverbridge.StatusInvalidRequest}
	case SubscriptionInternalServerError:
		return Scenario{Status: cleverbridge.StatusInternalServerError}
	case SubscriptionRetryScheduled:
		return Scenario{Status: cleverbridge.StatusPending, ErrorCode: "CCA_EXP", RetryScheduled: true}
	}
	if code, ok := strings.CutPrefix(subscriptionID, SubscriptionErrorPrefix); ok {
		if _, known := cleverbridge.PaymentErrorMessage(code); known {
			return Scenario{Status: cleverbridge.StatusPending, ErrorCode: code}
		}
	}
	return Scenario{Status: cleverbridge.StatusPaid}
}

// SetScenario sets how Process Cart answers for subscriptionID, until
// cleared or set again.
func (s *Sandbox) SetScenario(subscriptionID string, sc Scenario) error {
	if sc.Status == "" {
		sc.Status = cleverbridge.StatusPaid
	}
	if subscriptionID == "" {
		return &ControlError{Status: http.StatusBadRequest, Message: "scenario: subscription id required"}
	}
	if !slices.Contains(statuses, sc.Status) {
		return &ControlError{Status: http.StatusBadRequest, Message: "scenario: status " + sc.Status + ": want one of " + strings.Join(statuses, ", ")}
	}
	if sc.ErrorCode != "" && sc.Status != cleverbridge.StatusPending && sc.Status != cleverbridge.StatusCustomerActionNeeded {
		return &ControlError{Status: http.StatusBadRequest, Message: "scenario: errorCode goes with Pending or CustomerActionNeeded"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scenarios[subscriptionID] = sc
	s.changedLocked()
	return nil
}

// ClearScenario returns subscriptionID to its built-in behaviour.
func (s *Sandbox) ClearScenario(subscriptionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.scenarios, subscriptionID)
	s.changedLocked()
}

// scenario is the behaviour for subscriptionID. Callers hold mu.
func (s *Sandbox) scenario(subscriptionID string) Scenario {
	if sc, ok := s.scenarios[subscriptionID]; ok {
		return sc
	}
	return builtIn(subscriptionID)
}
