package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Adyen's documented test cards.
const (
	CardVisa       = "4111111111111111"
	CardMastercard = "5555444433331111"
	CardAmex       = "370000000000002"
	CardVisa3DS    = "4917610000000000" // 3-D Secure 2 challenge
	CardMC3DS      = "5454545454545454" // 3-D Secure 2 challenge
)

// Holder names that trigger an outcome (Adyen's documented triggers, plus
// two sandbox-only ones for failing modifications).
const (
	HolderDeclined          = "DECLINED"
	HolderNotEnoughBalance  = "NOT_ENOUGH_BALANCE"
	HolderCardExpired       = "CARD_EXPIRED"
	HolderCVCDeclined       = "CVC_DECLINED"
	HolderBlockCard         = "BLOCK_CARD"
	HolderIssuerUnavailable = "ISSUER_UNAVAILABLE"
	HolderError             = "ERROR"
	HolderCaptureFailed     = "CAPTURE_FAILED" // sandbox only
	HolderRefundFailed      = "REFUND_FAILED"  // sandbox only
	// HolderPending (sandbox only) is answered resultCode Pending, the card
	// and every later payment with its stored token; the AUTHORISATION
	// notification that follows says it was authorised.
	HolderPending = "PENDING"
)

// Refusal is a holder name that refuses, with Adyen's refusalReason.
type Refusal struct {
	HolderName string
	Code       string // refusalReasonCode
	Reason     string // refusalReason
}

// Refusals lists the refusal triggers the sandbox honours.
var Refusals = []Refusal{
	{HolderDeclined, "2", "Refused"},
	{HolderBlockCard, "5", "Blocked Card"},
	{HolderCardExpired, "6", "Expired Card"},
	{HolderIssuerUnavailable, "9", "Issuer Unavailable"},
	{HolderNotEnoughBalance, "12", "Not enough balance"},
	{HolderCVCDeclined, "24", "CVC Declined"},
}

// testCard is what the sandbox knows of a test card number.
type testCard struct {
	brand     string
	cvc       string
	challenge bool
}

var testCards = map[string]testCard{
	CardVisa:       {"visa", "737", false},
	CardMastercard: {"mc", "737", false},
	CardAmex:       {"amex", "7373", false},
	CardVisa3DS:    {"visa", "737", true},
	CardMC3DS:      {"mc", "737", true},
}

// card is the card data of a payment or a stored token.
type card struct {
	Number      string `json:"-"`
	HolderName  string `json:"holderName,omitempty"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	Brand       string `json:"brand"`
}

func (c card) summary() string {
	if len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// expiryDate is Adyen's additionalData format: "3/2030".
func (c card) expiryDate() string {
	return strings.TrimPrefix(c.ExpiryMonth, "0") + "/" + c.ExpiryYear
}

// methodInput is the part of a /payments paymentMethod the sandbox reads:
// a card's fields, or another method's.
type methodInput struct {
	Type                  string `json:"type"`
	Number                string `json:"number"`
	ExpiryMonth           string `json:"expiryMonth"`
	ExpiryYear            string `json:"expiryYear"`
	CVC                   string `json:"cvc"`
	EncryptedCardNumber   string `json:"encryptedCardNumber"`
	EncryptedExpiryMonth  string `json:"encryptedExpiryMonth"`
	EncryptedExpiryYear   string `json:"encryptedExpiryYear"`
	EncryptedSecurityCode string `json:"encryptedSecurityCode"`
	HolderName            string `json:"holderName"`
	StoredPaymentMethodID string `json:"storedPaymentMethodId"`
	RecurringDetailRef    string `json:"recurringDetailReference"`
	Issuer                string `json:"issuer"`  // iDEAL's bank
	Subtype               string `json:"subtype"` // PayPal's: sdk or redirect
	ApplePayToken         string `json:"applePayToken"`
	GooglePayToken        string `json:"googlePayToken"`
	OwnerName             string `json:"ownerName"` // SEPA Direct Debit's account holder
	IBAN                  string `json:"iban"`
}

// decrypt reads Adyen's test "encryption": the value prefixed with "test_".
// Anything else cannot be decrypted without Adyen's private key.
func decrypt(encrypted, plain string) (string, bool) {
	if encrypted == "" {
		return plain, true
	}
	v, ok := strings.CutPrefix(encrypted, "test_")
	return v, ok
}

// verdict is the issuer's answer for a card.
type verdict struct {
	resultCode string // Authorised, Refused, Error
	code       string
	reason     string
}

var authorised = verdict{resultCode: "Authorised"}

// judge applies Adyen's test rules to a card.
func judge(c card, cvc string, now time.Time) verdict {
	for _, r := range Refusals {
		if strings.EqualFold(c.HolderName, r.HolderName) {
			return verdict{"Refused", r.Code, r.Reason}
		}
	}
	if strings.EqualFold(c.HolderName, HolderError) {
		return verdict{"Error", "4", "Acquirer Error"}
	}
	tc, known := testCards[c.Number]
	if !known {
		return verdict{"Refused", "8", "Invalid Card Number"}
	}
	if expired(c, now) {
		return verdict{"Refused", "6", "Expired Card"}
	}
	if cvc != "" && cvc != tc.cvc {
		return verdict{"Refused", "24", "CVC Declined"}
	}
	return authorised
}

func expired(c card, now time.Time) bool {
	m, err1 := strconv.Atoi(c.ExpiryMonth)
	y, err2 := strconv.Atoi(c.ExpiryYear)
	if err1 != nil || err2 != nil || m < 1 || m > 12 {
		return true
	}
	// A card is valid until the end of its expiry month.
	return !now.Before(time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC))
}

// CardMethod is a plain-fields card paymentMethod (expiry 03/2030, the
// card's test CVC) as a front-end would send it.
func CardMethod(number, holderName string) json.RawMessage {
	cvc := "737"
	if tc, ok := testCards[number]; ok {
		cvc = tc.cvc
	}
	b, _ := json.Marshal(map[string]string{
		"type": "scheme", "number": number, "expiryMonth": "03", "expiryYear": "2030",
		"cvc": cvc, "holderName": holderName,
	})
	return b
}

// EncryptedCardMethod is the same card in Drop-in's test-encrypted form.
func EncryptedCardMethod(number, holderName string) json.RawMessage {
	cvc := "737"
	if tc, ok := testCards[number]; ok {
		cvc = tc.cvc
	}
	b, _ := json.Marshal(map[string]string{
		"type": "scheme", "encryptedCardNumber": "test_" + number, "encryptedExpiryMonth": "test_03",
		"encryptedExpiryYear": "test_2030", "encryptedSecurityCode": "test_" + cvc, "holderName": holderName,
	})
	return b
}
