package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// Payment states.
const (
	StatusChallenge  = "challenge"  // waiting for 3-D Secure through /payments/details
	StatusAuthorised = "authorised" // funds reserved (manual capture, or a zero-amount authorisation)
	StatusCaptured   = "captured"   // captured in full (auto-capture, or captures adding up)
	StatusRefused    = "refused"
	StatusCancelled  = "cancelled"
	StatusExpired    = "expired" // an authorisation left uncaptured too long (SendEvent EXPIRE)
)

// Payment is the sandbox's record of one /payments call (copies are handed to tests).
type Payment struct {
	PSPReference     string `json:"pspReference"`
	Reference        string `json:"reference"`
	ShopperReference string `json:"shopperReference,omitempty"`
	Currency         string `json:"currency"`
	Amount           int64  `json:"amount"`
	Captured         int64  `json:"captured"`
	Refunded         int64  `json:"refunded"`
	Status           string `json:"status"`
	RefusalReason    string `json:"refusalReason,omitempty"`
	ManualCapture    bool   `json:"manualCapture"`
	Recurring        bool   `json:"recurring"` // paid with a stored token
	// ShopperInteraction and RecurringProcessingModel are the request's
	// (a renewal's: ContAuth and Subscription).
	ShopperInteraction       string `json:"shopperInteraction,omitempty"`
	RecurringProcessingModel string `json:"recurringProcessingModel,omitempty"`
	Token                    string `json:"-"`
	Card                     card   `json:"card"`
	// Method is the payment method's type: "scheme" (cards), "applepay",
	// "googlepay", "paypal", "sepadirectdebit" or "ideal".
	Method string `json:"paymentMethod"`
	// Dispute is the pspReference of the payment's dispute, DisputeStage
	// its last event, ChargedBack the amount the shopper's bank took back.
	Dispute      string `json:"dispute,omitempty"`
	DisputeStage string `json:"disputeStage,omitempty"`
	ChargedBack  int64  `json:"chargedBack,omitempty"`
	// Account is the PayPal account's email or the debited IBAN.
	Account string `json:"-"`

	storeToken bool
	outcome    verdict
	// approved is the verdict once the shopper approves at a redirect
	// (iDEAL's issuer decides it); cards are judged then instead.
	approved *verdict
}

// storedToken is a stored payment method.
type storedToken struct {
	ID               string
	ShopperReference string
	// Method is the paymentMethod.type it is charged with (storedType).
	Method  string
	Card    card
	Account string   // a PayPal account's email, a mandate's IBAN
	refusal *verdict // forced by RefuseToken
	seq     int      // creation order, for listing a shopper's tokens oldest first
}

// amount is Adyen's Amount.
type amount struct {
	Currency string `json:"currency"`
	Value    int64  `json:"value"`
}

// paymentRequest is the part of PaymentRequest the sandbox reads.
type paymentRequest struct {
	Amount                   amount            `json:"amount"`
	MerchantAccount          string            `json:"merchantAccount"`
	Reference                string            `json:"reference"`
	ReturnURL                string            `json:"returnUrl"`
	PaymentMethod            json.RawMessage   `json:"paymentMethod"`
	ShopperReference         string            `json:"shopperReference"`
	StorePaymentMethod       bool              `json:"storePaymentMethod"`
	ShopperInteraction       string            `json:"shopperInteraction"`
	RecurringProcessingModel string            `json:"recurringProcessingModel"`
	AdditionalData           map[string]string `json:"additionalData"`
	AuthenticationData       struct {
		ThreeDSRequestData struct {
			NativeThreeDS string `json:"nativeThreeDS"`
		} `json:"threeDSRequestData"`
	} `json:"authenticationData"`
}

// native reports whether the request prefers in-page 3-D Secure; without
// it Adyen redirects the shopper to the issuer (Checkout API v69 and later).
func (r paymentRequest) native() bool {
	return r.AuthenticationData.ThreeDSRequestData.NativeThreeDS == "preferred"
}

// pay handles POST /payments.
func (s *Sandbox) pay(body []byte) answer {
	var req paymentRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiError(http.StatusBadRequest, "702", "validation", "malformed JSON")
	}
	if a, ok := s.checkPaymentRequest(req); !ok {
		return a
	}
	var pm methodInput
	if err := json.Unmarshal(req.PaymentMethod, &pm); err != nil {
		return apiError(http.StatusUnprocessableEntity, "702", "validation", "malformed paymentMethod")
	}
	p := &Payment{
		PSPReference:     newReference(),
		Reference:        req.Reference,
		ShopperReference: req.ShopperReference,
		Currency:         req.Amount.Currency,
		Amount:           req.Amount.Value,
		ManualCapture:    req.AdditionalData["manualCapture"] == "true",
		storeToken:       req.StorePaymentMethod && req.ShopperReference != "",
		Method:           methodScheme,

		ShopperInteraction:       req.ShopperInteraction,
		RecurringProcessingModel: req.RecurringProcessingModel,
	}
	storedID := pm.StoredPaymentMethodID
	if storedID == "" {
		storedID = pm.RecurringDetailRef
	}
	if pm.Type == methodIdeal && storedID == "" {
		return s.payIdeal(p, pm.Issuer)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var v verdict
	switch {
	case storedID != "":
		t, ok := s.tokens[storedID]
		// A stored method is found only under the type it was stored as.
		if !ok || t.ShopperReference != req.ShopperReference || t.Method != pm.Type {
			return apiError(http.StatusUnprocessableEntity, "800", "validation", "Contract not found")
		}
		p.Method, p.Card, p.Account, p.Token, p.Recurring, p.storeToken = t.Method, t.Card, t.Account, t.ID, true, false
		// A stored method is not challenged on a merchant-initiated payment.
		v = authorised
		if t.Method == methodScheme {
			v = judge(t.Card, "", s.opts.Now())
		}
		if t.refusal != nil {
			v = *t.refusal
		}
	case pm.Type == methodApplePay || pm.Type == methodGooglePay:
		return s.payWallet(p, pm)
	case pm.Type == methodPayPal:
		return s.payPayPal(p, pm.Subtype)
	case pm.Type == methodSEPA:
		return s.paySEPA(p, pm)
	default:
		c, cvc, a, ok := cardFrom(pm)
		if !ok {
			return a
		}
		p.Card = c
		v = judge(c, cvc, s.opts.Now())
		if v == authorised && testCards[c.Number].challenge {
			if !req.native() {
				return s.redirect(p)
			}
			return s.challenge(p)
		}
	}
	if v == authorised && strings.EqualFold(p.Card.HolderName, HolderPending) {
		s.settle(p, v) // known only through the AUTHORISATION notification
		return jsonAnswer(http.StatusOK, map[string]any{
			"pspReference": p.PSPReference, "merchantReference": p.Reference, "resultCode": "Pending"})
	}
	s.settle(p, v)
	return jsonAnswer(http.StatusOK, s.paymentResponse(p))
}

// checkPaymentRequest applies the checks Adyen makes before authorising.
func (s *Sandbox) checkPaymentRequest(req paymentRequest) (answer, bool) {
	switch {
	case req.MerchantAccount != s.opts.MerchantAccount:
		return apiError(http.StatusForbidden, "901", "security", "Invalid Merchant Account"), false
	case req.Reference == "":
		return apiError(http.StatusUnprocessableEntity, "130", "validation", "Required field 'reference' is not provided."), false
	case req.ReturnURL == "":
		return apiError(http.StatusUnprocessableEntity, "14_030", "validation", "Return URL is missing."), false
	case len(req.Amount.Currency) != 3 || req.Amount.Value < 0:
		return apiError(http.StatusUnprocessableEntity, "137", "validation", "Invalid amount specified"), false
	case len(req.PaymentMethod) == 0:
		return apiError(http.StatusUnprocessableEntity, "702", "validation", "Required field 'paymentMethod' is not provided."), false
	case (req.StorePaymentMethod || req.ShopperInteraction == "ContAuth") && len(req.ShopperReference) < 3:
		return apiError(http.StatusUnprocessableEntity, "14_0", "validation", "shopperReference must have at least 3 characters"), false
	}
	return answer{}, true
}

// cardFrom reads plain or test-encrypted card fields.
func cardFrom(pm methodInput) (card, string, answer, bool) {
	number, ok1 := decrypt(pm.EncryptedCardNumber, pm.Number)
	month, ok2 := decrypt(pm.EncryptedExpiryMonth, pm.ExpiryMonth)
	year, ok3 := decrypt(pm.EncryptedExpiryYear, pm.ExpiryYear)
	cvc, ok4 := decrypt(pm.EncryptedSecurityCode, pm.CVC)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return card{}, "", apiError(http.StatusUnprocessableEntity, "174", "validation", "Unable to decrypt data"), false
	}
	if number == "" {
		return card{}, "", apiError(http.StatusUnprocessableEntity, "101", "validation", "Invalid card number"), false
	}
	c := card{Number: number, HolderName: pm.HolderName, ExpiryMonth: month, ExpiryYear: year, Brand: testCards[number].brand}
	return c, cvc, answer{}, true
}

// awaitShopper parks p until /payments/details brings the result the
// returned reference names. Called with s.mu held.
func (s *Sandbox) awaitShopper(p *Payment) (ref string) {
	p.Status = StatusChallenge
	s.add(p)
	ref = newReference()
	s.challenges[ref] = p.PSPReference
	return ref
}

// challenge parks p until /payments/details brings the 3-D Secure result.
// Called with s.mu held.
func (s *Sandbox) challenge(p *Payment) answer {
	transID := s.awaitShopper(p)
	token, _ := json.Marshal(map[string]string{"threeDSServerTransID": transID, "acsURL": "https://sandbox.invalid/acs"})
	return jsonAnswer(http.StatusOK, map[string]any{
		"resultCode":        "ChallengeShopper",
		"pspReference":      p.PSPReference,
		"merchantReference": p.Reference,
		"action": map[string]any{
			"type":              "threeDS2",
			"subtype":           "challenge",
			"paymentMethodType": "scheme",
			"paymentData":       transID,
			"token":             base64.StdEncoding.EncodeToString(token),
		},
	})
}

// ThreeDSResult builds the /payments/details `details` a shopper's browser
// would produce after the challenge of action: authenticated or not.
func ThreeDSResult(action json.RawMessage, authenticated bool) (json.RawMessage, error) {
	var a struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(action, &a); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(a.Token)
	if err != nil {
		return nil, err
	}
	var tok struct {
		TransID string `json:"threeDSServerTransID"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return nil, err
	}
	status := "N"
	if authenticated {
		status = "Y"
	}
	result, _ := json.Marshal(map[string]string{"transStatus": status, "threeDSServerTransID": tok.TransID})
	return json.Marshal(map[string]string{"threeDSResult": base64.StdEncoding.EncodeToString(result)})
}

// paymentDetails handles POST /payments/details: a 3-D Secure result
// (threeDSResult), a redirect's (redirectResult), or PayPal's approval of
// an sdk action (orderID and payerID, with the action's paymentData).
func (s *Sandbox) paymentDetails(body []byte) answer {
	var req struct {
		Details struct {
			ThreeDSResult  string `json:"threeDSResult"`
			RedirectResult string `json:"redirectResult"`
			OrderID        string `json:"orderID"`
			PayerID        string `json:"payerID"`
		} `json:"details"`
		PaymentData string `json:"paymentData"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiError(http.StatusBadRequest, "702", "validation", "malformed JSON")
	}
	var result struct {
		TransStatus string `json:"transStatus"`
		TransID     string `json:"threeDSServerTransID"`
	}
	if d := req.Details; d.OrderID != "" {
		if d.OrderID != req.PaymentData || d.PayerID == "" {
			return apiError(http.StatusUnprocessableEntity, "14_002", "validation", "Invalid payment details")
		}
		result.TransStatus, result.TransID = "Y", d.OrderID
	} else {
		encoded := req.Details.ThreeDSResult
		if encoded == "" {
			encoded = req.Details.RedirectResult
		}
		raw, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil || json.Unmarshal(raw, &result) != nil {
			return apiError(http.StatusUnprocessableEntity, "14_002", "validation", "Invalid payment details")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	psp, ok := s.challenges[result.TransID]
	if !ok {
		return apiError(http.StatusUnprocessableEntity, "14_002", "validation", "Invalid payment details")
	}
	delete(s.challenges, result.TransID)
	p := s.payments[psp]
	v := verdict{"Refused", "11", "3D Not Authenticated"}
	switch {
	case result.TransStatus == "Y" && p.approved != nil:
		v = *p.approved
	case result.TransStatus == "Y":
		v = judge(p.Card, "", s.opts.Now())
	case p.Method != methodScheme: // a redirect method the shopper left
		v = verdict{"Cancelled", "", "Cancelled by shopper"}
	}
	s.settle(p, v)
	return jsonAnswer(http.StatusOK, s.paymentResponse(p))
}

// settle records the verdict on p, stores the token, and queues the
// AUTHORISATION notification. Called with s.mu held.
func (s *Sandbox) settle(p *Payment, v verdict) {
	if _, known := s.payments[p.PSPReference]; !known {
		s.add(p)
	}
	p.outcome = v
	if v.resultCode != "Authorised" {
		p.Status, p.RefusalReason = StatusRefused, v.reason
		s.notify(p.authorisation(false, v.reason))
		return
	}
	switch {
	case p.ManualCapture || p.Amount == 0:
		p.Status = StatusAuthorised
	default:
		p.Status, p.Captured = StatusCaptured, p.Amount
	}
	if p.storeToken {
		p.Token = s.storeToken(p)
	}
	s.notify(p.authorisation(true, ""))
}

// storeToken returns the shopper's token for what paid p, creating it once
// (Adyen keeps one token per card, PayPal account or bank account and
// shopper). Called with s.mu held.
func (s *Sandbox) storeToken(p *Payment) string {
	method := storedType(p.Method)
	for _, t := range s.tokens {
		if t.ShopperReference == p.ShopperReference && t.Method == method && t.Card.Number == p.Card.Number && t.Account == p.Account {
			return t.ID
		}
	}
	s.tokenSeq++
	t := &storedToken{ID: newReference(), ShopperReference: p.ShopperReference, Method: method, Card: p.Card, Account: p.Account, seq: s.tokenSeq}
	s.tokens[t.ID] = t
	return t.ID
}

func (s *Sandbox) add(p *Payment) {
	s.payments[p.PSPReference] = p
	s.order = append(s.order, p.PSPReference)
}

// paymentResponse is the /payments (and /payments/details) answer for a settled payment.
func (s *Sandbox) paymentResponse(p *Payment) map[string]any {
	resp := map[string]any{
		"pspReference":      p.PSPReference,
		"merchantReference": p.Reference,
		"amount":            amount{p.Currency, p.Amount},
		"paymentMethod":     map[string]string{"type": p.Method, "brand": p.Card.Brand},
	}
	if p.Method != methodScheme {
		// brand is "only returned if paymentMethod.type is scheme".
		resp["paymentMethod"] = map[string]string{"type": p.Method}
	}
	if p.Status == StatusRefused {
		resp["resultCode"] = p.outcome.resultCode
		resp["refusalReason"], resp["refusalReasonCode"] = p.outcome.reason, p.outcome.code
		return resp
	}
	resp["resultCode"] = "Authorised"
	ad := p.methodData()
	if p.Token != "" && !p.Recurring {
		ad["recurring.recurringDetailReference"] = p.Token
		ad["recurring.shopperReference"] = p.ShopperReference
		ad["tokenization.storedPaymentMethodId"] = p.Token
		ad["tokenization.shopperReference"] = p.ShopperReference
		ad["tokenization.store.operationType"] = "created"
	}
	resp["additionalData"] = ad
	return resp
}

// deleteToken handles DELETE /storedPaymentMethods/{id}.
func (s *Sandbox) deleteToken(id, shopper, merchant string) answer {
	if merchant != s.opts.MerchantAccount {
		return apiError(http.StatusForbidden, "901", "security", "Invalid Merchant Account")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || t.ShopperReference != shopper {
		return apiError(http.StatusUnprocessableEntity, "800", "validation", "Contract not found")
	}
	delete(s.tokens, id)
	return answer{status: http.StatusNoContent}
}

// Payments returns copies of every payment, oldest first.
func (s *Sandbox) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payment, 0, len(s.order))
	for _, psp := range s.order {
		out = append(out, *s.payments[psp])
	}
	return out
}

// PaymentsFor returns the payments with merchant reference ref.
func (s *Sandbox) PaymentsFor(ref string) []Payment {
	var out []Payment
	for _, p := range s.Payments() {
		if p.Reference == ref {
			out = append(out, p)
		}
	}
	return out
}

// Payment returns the payment with pspReference psp.
func (s *Sandbox) Payment(psp string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[psp]
	if !ok {
		return Payment{}, false
	}
	return *p, true
}

// Tokens returns the ids of the shopper's stored tokens.
func (s *Sandbox) Tokens(shopperReference string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, t := range s.tokens {
		if t.ShopperReference == shopperReference {
			out = append(out, id)
		}
	}
	return out
}

// RefuseToken makes later payments with token refuse with the holder-name
// trigger's reason (one of Refusals' HolderName); "" restores normal service.
// It reports whether the token and trigger exist.
func (s *Sandbox) RefuseToken(token, holderName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[token]
	if !ok {
		return false
	}
	if holderName == "" {
		t.refusal = nil
		return true
	}
	for _, r := range Refusals {
		if strings.EqualFold(r.HolderName, holderName) {
			t.refusal = &verdict{"Refused", r.Code, r.Reason}
			return true
		}
	}
	return false
}
