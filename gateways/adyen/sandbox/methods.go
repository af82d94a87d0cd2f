package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// Payment method types the sandbox takes besides cards and iDEAL.
const (
	methodScheme    = "scheme"
	methodApplePay  = "applepay"
	methodGooglePay = "googlepay"
	methodPayPal    = "paypal"
	methodSEPA      = "sepadirectdebit"
)

// Test data of the methods that are no cards.
const (
	// PayPalPayer and PayPalPayerID are the PayPal account every sandbox
	// PayPal payment is approved with.
	PayPalPayer   = "shopper@paypal.example"
	PayPalPayerID = "TESTPAYER0001"
	// IBANGood is Adyen's test IBAN for SEPA Direct Debit; IBANRefused
	// (sandbox only) is refused "Refused".
	IBANGood    = "NL13TEST0123456789"
	IBANRefused = "NL78TEST0999999999"
)

// storedType is the paymentMethod.type a payment's stored method is
// charged with later: a wallet stores the card behind it, iDEAL a SEPA
// Direct Debit mandate (Adyen's documented behaviour).
func storedType(method string) string {
	switch method {
	case methodPayPal:
		return methodPayPal
	case methodSEPA, methodIdeal:
		return methodSEPA
	}
	return methodScheme
}

// variant is the payment's paymentMethod in notifications and reports
// (Adyen's variant): the card brand, a wallet's card brand and wallet
// ("visa_applepay"), or the method type.
func (p *Payment) variant() string {
	switch p.Method {
	case methodScheme:
		return p.Card.Brand
	case methodApplePay, methodGooglePay:
		return p.Card.Brand + "_" + p.Method
	}
	return p.Method
}

// walletCard reads a wallet's payment token. Apple's and Google's tokens
// are the device's encrypted card; the sandbox's test tokens (WalletMethod)
// are the test card in base64 JSON, which any other token is not.
func walletCard(token string) (card, bool) {
	raw, err := base64.StdEncoding.DecodeString(token)
	var c card
	var in struct {
		Number      string `json:"number"`
		HolderName  string `json:"holderName"`
		ExpiryMonth string `json:"expiryMonth"`
		ExpiryYear  string `json:"expiryYear"`
	}
	if err != nil || json.Unmarshal(raw, &in) != nil || in.Number == "" {
		return c, false
	}
	return card{Number: in.Number, HolderName: in.HolderName, ExpiryMonth: in.ExpiryMonth, ExpiryYear: in.ExpiryYear,
		Brand: testCards[in.Number].brand}, true
}

// WalletMethod is Drop-in's state.data.paymentMethod for Apple Pay
// (wallet "applepay") or Google Pay ("googlepay") paying with a test card
// (expiry 03/2030) whose holder name may be a trigger.
func WalletMethod(wallet, number, holderName string) json.RawMessage {
	token, _ := json.Marshal(map[string]string{"number": number, "holderName": holderName, "expiryMonth": "03", "expiryYear": "2030"})
	field := map[string]string{methodApplePay: "applePayToken", methodGooglePay: "googlePayToken"}[wallet]
	b, _ := json.Marshal(map[string]string{"type": wallet, field: base64.StdEncoding.EncodeToString(token)})
	return b
}

// PayPalMethod is Drop-in's state.data.paymentMethod for PayPal: subtype
// "sdk" (PayPal's button in the page) or "redirect".
func PayPalMethod(subtype string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": methodPayPal, "subtype": subtype})
	return b
}

// SEPAMethod is Drop-in's state.data.paymentMethod for SEPA Direct Debit,
// in Drop-in's field names.
func SEPAMethod(ownerName, iban string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": methodSEPA, "sepa.ownerName": ownerName, "sepa.ibanNumber": iban})
	return b
}

// payWallet authorises an Apple Pay or Google Pay payment like the card in
// its token; the wallet authenticated the shopper, so there is no 3-D
// Secure challenge. Called with s.mu held.
func (s *Sandbox) payWallet(p *Payment, pm methodInput) answer {
	token := pm.ApplePayToken
	if pm.Type == methodGooglePay {
		token = pm.GooglePayToken
	}
	c, ok := walletCard(token)
	if !ok {
		return apiError(http.StatusUnprocessableEntity, "174", "validation", "Unable to decrypt data")
	}
	p.Method, p.Card = pm.Type, c
	s.settle(p, judge(c, "", s.opts.Now()))
	return jsonAnswer(http.StatusOK, s.paymentResponse(p))
}

// payPayPal starts a PayPal payment: subtype "sdk" answers Pending with an
// sdk action (the token PayPal's button opens), "redirect" or none
// redirects to PayPal; either way the shopper's approval comes back
// through /payments/details and authorises. Called with s.mu held.
func (s *Sandbox) payPayPal(p *Payment, subtype string) answer {
	p.Method, p.Account = methodPayPal, PayPalPayer
	p.approved = &authorised
	if subtype != "sdk" {
		return s.redirect(p)
	}
	ref := s.awaitShopper(p)
	return jsonAnswer(http.StatusOK, map[string]any{
		"resultCode":        "Pending",
		"pspReference":      p.PSPReference,
		"merchantReference": p.Reference,
		"action": map[string]any{
			"type":              "sdk",
			"paymentMethodType": methodPayPal,
			"paymentData":       ref,
			"sdkData":           map[string]string{"token": ref},
		},
	})
}

// PayPalApproval builds the /payments/details `details` PayPal's button
// hands Drop-in (onAdditionalDetails) once the shopper approved the sdk
// action's order.
func PayPalApproval(action json.RawMessage) (json.RawMessage, error) {
	var a struct {
		Type    string            `json:"type"`
		SDKData map[string]string `json:"sdkData"`
	}
	if err := json.Unmarshal(action, &a); err != nil || a.Type != "sdk" || a.SDKData["token"] == "" {
		return nil, errors.New("not a PayPal sdk action of the sandbox")
	}
	return json.Marshal(map[string]string{"orderID": a.SDKData["token"], "payerID": PayPalPayerID})
}

// paySEPA authorises a SEPA Direct Debit at once (the mandate is the
// request; the money moves days later), euros only, with a valid IBAN.
// Called with s.mu held.
func (s *Sandbox) paySEPA(p *Payment, pm methodInput) answer {
	iban := strings.ReplaceAll(pm.IBAN, " ", "")
	switch {
	case p.Currency != "EUR":
		return apiError(http.StatusUnprocessableEntity, "905_3", "configuration", "Could not find an acquirer account for the provided currency ("+p.Currency+").")
	case pm.OwnerName == "" || !validIBAN(iban):
		return apiError(http.StatusUnprocessableEntity, "161", "validation", "Invalid iban")
	}
	p.Method, p.Account = methodSEPA, iban
	p.Card = card{HolderName: pm.OwnerName}
	v := authorised
	if iban == IBANRefused {
		v = verdict{"Refused", "2", "Refused"}
	}
	s.settle(p, v)
	return jsonAnswer(http.StatusOK, s.paymentResponse(p))
}

// validIBAN checks an IBAN's form and its ISO 13616 check digits.
func validIBAN(iban string) bool {
	if len(iban) < 15 || len(iban) > 34 {
		return false
	}
	rearranged := iban[4:] + iban[:4]
	rem := 0
	for _, r := range rearranged {
		switch {
		case unicode.IsDigit(r):
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			rem = (rem*100 + int(r-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// maskedIBAN is how Adyen shows an IBAN in additionalData.
func maskedIBAN(iban string) string {
	if len(iban) < 8 {
		return iban
	}
	return iban[:4] + strings.Repeat("*", len(iban)-8) + iban[len(iban)-4:]
}

// methodData is the additionalData of an authorised payment that says
// what paid: the card (a wallet's too), the PayPal account or the bank account.
func (p *Payment) methodData() map[string]string {
	switch p.Method {
	case methodScheme, methodApplePay, methodGooglePay:
		return map[string]string{
			"cardSummary":    p.Card.summary(),
			"expiryDate":     p.Card.expiryDate(),
			"cardHolderName": p.Card.HolderName,
			"paymentMethod":  p.variant(),
		}
	case methodPayPal:
		return map[string]string{"paymentMethod": methodPayPal, "paypalEmail": p.Account, "paypalPayerId": PayPalPayerID}
	case methodSEPA:
		return map[string]string{"paymentMethod": methodSEPA, "ownerName": p.Card.HolderName, "iban": maskedIBAN(p.Account),
			"sepadirectdebit.mandateId": p.PSPReference}
	case methodIdeal:
		return map[string]string{"paymentMethod": methodIdeal, "iDealConsumerName": p.Card.HolderName,
			"iDealConsumerIBAN": maskedIBAN(p.Account)}
	}
	return map[string]string{"paymentMethod": p.Method}
}

// notifiedData is the AUTHORISATION notification's additionalData: the
// Webhooks document allows fewer keys than a /payments answer carries.
func (p *Payment) notifiedData() map[string]string {
	switch p.Method {
	case methodPayPal:
		return map[string]string{}
	case methodSEPA, methodIdeal:
		return map[string]string{"ownerName": p.Card.HolderName, "iban": maskedIBAN(p.Account)}
	}
	return map[string]string{"cardSummary": p.Card.summary(), "expiryDate": p.Card.expiryDate()}
}
