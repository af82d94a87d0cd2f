package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/money"
)

// Call is one Process Cart call as the sandbox received and answered it.
type Call struct {
	At time.Time `json:"at"`
	// Request is the decoded request; zero when it was refused before decoding.
	Request cleverbridge.ProcessCartRequest `json:"request"`
	// HTTPStatus and Status are the answer.
	HTTPStatus int    `json:"httpStatus"`
	Status     string `json:"status,omitempty"`
	PurchaseID string `json:"purchaseId,omitempty"`
}

// SubscriptionID is the subscription the call referenced.
func (c Call) SubscriptionID() string {
	if c.Request.Subscription == nil {
		return ""
	}
	return c.Request.Subscription.SubscriptionID
}

// Purchase is a purchase Process Cart created.
type Purchase struct {
	ID             string                       `json:"id"`
	SubscriptionID string                       `json:"subscriptionId"`
	Status         string                       `json:"status"` // Paid, WaitingForOfflinePayment, Pending, CustomerActionNeeded, Declined
	Amount         decimal.Decimal              `json:"amount"`
	Currency       string                       `json:"currency"`
	Items          []cleverbridge.CartItem      `json:"items"`
	Extra          cleverbridge.ExtraParameters `json:"extraParameters"`
	ErrorCode      string                       `json:"errorCode,omitempty"`
	RetryScheduled bool                         `json:"retryScheduled,omitempty"`
	URL            string                       `json:"url,omitempty"`
	CreatedAt      time.Time                    `json:"createdAt"`
}

// Metadata is the purchase's x-parameters as metadata (orderId, …).
func (p Purchase) Metadata() map[string]string { return p.Extra.Metadata() }

// purchaseDeclined is the status of a purchase whose payment failed for good.
const purchaseDeclined = "Declined"

// answer is a Process Cart response.
type answer struct {
	status int
	body   cleverbridge.ProcessCartResponse
}

func invalidRequest(format string, args ...any) answer {
	return answer{http.StatusBadRequest, cleverbridge.ProcessCartResponse{
		Status: cleverbridge.StatusInvalidRequest, ResultMessage: fmt.Sprintf(format, args...)}}
}

// serveProcessCart authenticates, validates, applies the subscription's
// scenario and records the call.
func (s *Sandbox) serveProcessCart(w http.ResponseWriter, r *http.Request) {
	call := Call{At: s.opts.Now().UTC()}
	var a answer
	if !s.authorised(r) {
		a = answer{http.StatusUnauthorized, cleverbridge.ProcessCartResponse{Status: "Unauthorized", ResultMessage: "missing or wrong basic-auth credentials"}}
	} else {
		var req cleverbridge.ProcessCartRequest
		req, a = decodeRequest(r)
		call.Request = req
		if a.status == 0 {
			a = s.apply(req)
		}
	}
	call.HTTPStatus, call.Status, call.PurchaseID = a.status, a.body.Status, a.body.PurchaseID
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.changedLocked()
	s.mu.Unlock()
	writeJSON(w, a.status, a.body)
}

// decodeRequest reads the body strictly (unknown fields are refused, so a
// misspelt key shows here) and validates it; a refusal is a 400 answer.
func decodeRequest(r *http.Request) (cleverbridge.ProcessCartRequest, answer) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return cleverbridge.ProcessCartRequest{}, invalidRequest("unreadable body")
	}
	var body struct {
		ProcessCartRequest *cleverbridge.ProcessCartRequest `json:"processCartRequest"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return cleverbridge.ProcessCartRequest{}, invalidRequest("body: %v", err)
	}
	if body.ProcessCartRequest == nil {
		return cleverbridge.ProcessCartRequest{}, invalidRequest("processCartRequest: required")
	}
	req := *body.ProcessCartRequest
	if msg := validate(req); msg != "" {
		return req, invalidRequest("%s", msg)
	}
	return req, answer{}
}

// validate returns what is wrong with req, or "".
func validate(req cleverbridge.ProcessCartRequest) string {
	if req.Subscription == nil || req.Subscription.SubscriptionID == "" {
		// Cleverbridge would create a new subscription [doc]: never what a renewal wants.
		return "subscription.subscriptionId: required for a subscription handled by client"
	}
	if req.DefaultLanguageID == "" {
		return "defaultLanguageId: required"
	}
	switch req.ProcessCartMode {
	case "", cleverbridge.ProcessCartInteractive, cleverbridge.ProcessCartNonInteractive:
	default:
		return fmt.Sprintf("processCartMode %q: want %s or %s", req.ProcessCartMode, cleverbridge.ProcessCartInteractive, cleverbridge.ProcessCartNonInteractive)
	}
	if msg := validateExtra("extraParameters", req.ExtraParameters); msg != "" {
		return msg
	}
	if len(req.Cart.Items) == 0 {
		return "cart.items: at least one item required"
	}
	currency := ""
	for i, it := range req.Cart.Items {
		at := fmt.Sprintf("cart.items[%d]", i)
		if id, err := it.ProductID.Int64(); err != nil || id <= 0 {
			return at + ".productId: want a positive integer"
		}
		if it.Quantity < 1 {
			return at + ".quantity: want at least 1"
		}
		if it.DynamicPrice == nil {
			return at + ".dynamicPrice: required (the sandbox has no product catalogue)"
		}
		if _, err := price(*it.DynamicPrice); err != nil {
			return at + ".dynamicPrice: " + err.Error()
		}
		if currency != "" && it.DynamicPrice.CurrencyID != currency {
			return at + ".dynamicPrice.currencyId: every item must have the same currency"
		}
		currency = it.DynamicPrice.CurrencyID
		if msg := validateExtra(at+".extraParameters", it.ExtraParameters); msg != "" {
			return msg
		}
	}
	return ""
}

func validateExtra(at string, params cleverbridge.ExtraParameters) string {
	for i, p := range params {
		if !strings.HasPrefix(strings.ToLower(p.Key), "x-") || len(p.Key) < 3 {
			return fmt.Sprintf("%s[%d].key %q: x-parameters must begin with x-", at, i, p.Key)
		}
	}
	return ""
}

// price validates a dynamic price: a decimal amount >= 0 with no more
// decimals than its currency has.
func price(p cleverbridge.DynamicPrice) (money.Amount, error) {
	a, err := money.New(string(p.Amount), p.CurrencyID)
	if err != nil {
		return a, err
	}
	if _, err := a.Minor(); err != nil {
		return a, err
	}
	return a, nil
}

// apply answers a valid request by the subscription's scenario, creating
// the purchase and starting its notification where Cleverbridge would.
func (s *Sandbox) apply(req cleverbridge.ProcessCartRequest) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	subscriptionID := req.Subscription.SubscriptionID
	sc := s.scenario(subscriptionID)
	resp := cleverbridge.ProcessCartResponse{Status: sc.Status, IsPaymentRetryScheduled: sc.RetryScheduled}
	interactive := req.ProcessCartMode != cleverbridge.ProcessCartNonInteractive
	switch sc.Status {
	case cleverbridge.StatusInvalidRequest:
		return invalidRequest("the referenced subscription is not handled by client")
	case cleverbridge.StatusInternalServerError:
		resp.ResultMessage = "An internal error occurred."
		return answer{http.StatusInternalServerError, resp}
	case cleverbridge.StatusCustomerActionNeeded:
		resp.URL = s.customerURL()
		if interactive {
			// Interactive: nothing is saved, the session URL holds the data for 72 hours [doc].
			break
		}
		p := s.newPurchaseLocked(req, sc, resp.URL)
		resp.PurchaseID = p.ID
	case cleverbridge.StatusPending:
		resp.URL = s.customerURL()
		p := s.newPurchaseLocked(req, sc, resp.URL)
		resp.PurchaseID = p.ID
		s.notifyLocked(cleverbridge.EventPurchaseDeclined, p)
	case cleverbridge.StatusWaitingForOfflinePayment:
		p := s.newPurchaseLocked(req, sc, "")
		resp.PurchaseID = p.ID
		s.notifyLocked(cleverbridge.EventPurchaseAwaitingPayment, p)
	default: // Paid
		p := s.newPurchaseLocked(req, sc, "")
		resp.PurchaseID = p.ID
		s.notifyLocked(cleverbridge.EventPurchasePaid, p)
	}
	if sc.ErrorCode != "" {
		pr := &cleverbridge.PaymentResult{Code: sc.ErrorCode}
		pr.Message, _ = cleverbridge.PaymentErrorMessage(sc.ErrorCode)
		if sc.ErrorCode == "CCA_EXP" {
			resp.PaymentResult = pr // the page names CCA_EXP under PaymentResult.Code
		} else {
			resp.Error = pr
		}
	}
	return answer{http.StatusOK, resp}
}

func (s *Sandbox) customerURL() string {
	return s.opts.CheckoutURL + "/session/" + newID("C")
}

// newPurchaseLocked records the purchase of a valid request. Callers hold mu.
func (s *Sandbox) newPurchaseLocked(req cleverbridge.ProcessCartRequest, sc Scenario, url string) *Purchase {
	p := &Purchase{
		ID: newID("P"), SubscriptionID: req.Subscription.SubscriptionID, Status: sc.Status,
		Items: req.Cart.Items, Extra: req.ExtraParameters, ErrorCode: sc.ErrorCode,
		RetryScheduled: sc.RetryScheduled, URL: url, CreatedAt: s.opts.Now().UTC(),
	}
	for _, it := range req.Cart.Items {
		a, _ := price(*it.DynamicPrice) // validated
		p.Amount = p.Amount.Add(a.Value.Mul(decimal.NewFromInt(int64(it.Quantity))))
		p.Currency = a.Currency
	}
	s.purchases[p.ID] = p
	s.order = append(s.order, p.ID)
	s.changedLocked()
	return p
}

// Settlement settles a purchase waiting for an offline payment, or a
// declined one whose retry was scheduled.
type Settlement struct {
	Paid bool `json:"paid"`
	// ErrorCode is the payment error of an unpaid settlement (optional).
	ErrorCode string `json:"errorCode,omitempty"`
}

// Settle ends a purchase waiting for payment (WaitingForOfflinePayment, or
// Pending with a retry scheduled) and sends its notification:
// PurchasePaid, or PurchaseDeclined.
func (s *Sandbox) Settle(purchaseID string, st Settlement) (Purchase, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.purchases[purchaseID]
	if !ok {
		return Purchase{}, &ControlError{Status: http.StatusNotFound, Message: "purchase " + purchaseID + " not found"}
	}
	waiting := p.Status == cleverbridge.StatusWaitingForOfflinePayment ||
		(p.Status == cleverbridge.StatusPending && p.RetryScheduled)
	if !waiting {
		return Purchase{}, &ControlError{Status: http.StatusConflict,
			Message: fmt.Sprintf("purchase %s is %s: only a purchase waiting for an offline payment or a scheduled retry can be settled", p.ID, p.Status)}
	}
	p.RetryScheduled = false
	if st.Paid {
		p.Status, p.ErrorCode = cleverbridge.StatusPaid, ""
		s.notifyLocked(cleverbridge.EventPurchasePaid, p)
	} else {
		p.Status, p.ErrorCode = purchaseDeclined, st.ErrorCode
		s.notifyLocked(cleverbridge.EventPurchaseDeclined, p)
	}
	s.changedLocked()
	return *p, nil
}
