package adyen

import (
	"encoding/json"
	"strings"

	"github.com/adyen/adyen-go-api-library/v9/src/checkout"
	"github.com/adyen/adyen-go-api-library/v9/src/common"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

// Adyen's paymentMethod.type values of the methods the connector takes
// beyond cards (Checkout API v71).
const (
	typeScheme     = "scheme"
	typeApplePay   = "applepay"
	typeGooglePay  = "googlepay"
	typePayPal     = "paypal"
	typeSEPA       = "sepadirectdebit"
	typeIdeal      = "ideal"
	tokenSeparator = ":"
)

// paymentMethod decodes the front-end's payment method (Drop-in's
// state.data.paymentMethod). The methods the connector offers decode into
// their own schema by type, so the library's oneOf decoder, which tries
// every schema of the document, never has to guess; other types go
// through it. The data is never part of an error string.
func paymentMethod(raw json.RawMessage) (checkout.CheckoutPaymentMethod, error) {
	if len(raw) == 0 {
		return checkout.CheckoutPaymentMethod{}, failure.Permanentf("paymentMethod is required for a first payment")
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return checkout.CheckoutPaymentMethod{}, failure.Permanentf("paymentMethod is not a JSON object")
	}
	malformed := func(what string) (checkout.CheckoutPaymentMethod, error) {
		return checkout.CheckoutPaymentMethod{}, failure.Permanentf("paymentMethod of type %q: %s", head.Type, what)
	}
	switch head.Type {
	case "", typeScheme:
		var card checkout.CardDetails
		if err := json.Unmarshal(raw, &card); err != nil {
			return malformed("malformed card data")
		}
		card.Type = common.PtrString(typeScheme)
		return checkout.CardDetailsAsCheckoutPaymentMethod(&card), nil
	case typeApplePay:
		var w checkout.ApplePayDetails
		if json.Unmarshal(raw, &w) != nil || w.ApplePayToken == "" {
			return malformed("applePayToken is required")
		}
		return checkout.ApplePayDetailsAsCheckoutPaymentMethod(&w), nil
	case typeGooglePay:
		var w checkout.GooglePayDetails
		if json.Unmarshal(raw, &w) != nil || w.GooglePayToken == "" {
			return malformed("googlePayToken is required")
		}
		return checkout.GooglePayDetailsAsCheckoutPaymentMethod(&w), nil
	case typePayPal:
		var p checkout.PayPalDetails
		if err := json.Unmarshal(raw, &p); err != nil {
			return malformed("malformed PayPal data")
		}
		if p.Subtype != nil && *p.Subtype != "sdk" && *p.Subtype != "redirect" {
			return malformed(`subtype must be "sdk" or "redirect"`)
		}
		return checkout.PayPalDetailsAsCheckoutPaymentMethod(&p), nil
	case typeSEPA:
		return sepaDetails(raw)
	case typeIdeal:
		var i checkout.IdealDetails
		if json.Unmarshal(raw, &i) != nil || i.Issuer == "" {
			return malformed("issuer is required")
		}
		return checkout.IdealDetailsAsCheckoutPaymentMethod(&i), nil
	}
	var pm checkout.CheckoutPaymentMethod
	if err := json.Unmarshal(raw, &pm); err != nil {
		return malformed("not understood")
	}
	return pm, nil
}

// sepaDetails reads SEPA Direct Debit's account. Drop-in's state.data
// names the fields sepa.ownerName and sepa.ibanNumber, the Checkout API's
// SepaDirectDebitDetails ownerName and iban (additionalProperties false):
// either is taken, and the request carries the document's.
func sepaDetails(raw json.RawMessage) (checkout.CheckoutPaymentMethod, error) {
	var in struct {
		OwnerName     string `json:"ownerName"`
		IBAN          string `json:"iban"`
		DropInOwner   string `json:"sepa.ownerName"`
		DropInIBAN    string `json:"sepa.ibanNumber"`
		CheckoutAttID string `json:"checkoutAttemptId"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return checkout.CheckoutPaymentMethod{}, failure.Permanentf("paymentMethod of type %q: malformed account data", typeSEPA)
	}
	d := checkout.SepaDirectDebitDetails{Type: common.PtrString(typeSEPA), OwnerName: in.OwnerName, Iban: in.IBAN}
	if d.OwnerName == "" {
		d.OwnerName = in.DropInOwner
	}
	if d.Iban == "" {
		d.Iban = strings.ReplaceAll(in.DropInIBAN, " ", "")
	}
	if d.OwnerName == "" || d.Iban == "" {
		return checkout.CheckoutPaymentMethod{}, failure.Permanentf("paymentMethod of type %q: the account holder's name and IBAN are required", typeSEPA)
	}
	if in.CheckoutAttID != "" {
		d.CheckoutAttemptId = &in.CheckoutAttID
	}
	return checkout.SepaDirectDebitDetailsAsCheckoutPaymentMethod(&d), nil
}

// The connector's token is what Cleeng stores as the payment details'
// token and gives back in every dunning webhook, the only place a renewal
// learns what to charge. Adyen charges a stored method only under the
// paymentMethod.type it is stored as, so the type travels in the token:
// "<type>:<storedPaymentMethodId>" for PayPal and SEPA Direct Debit (an
// iDEAL payment stores a SEPA Direct Debit mandate); a card's, Apple Pay's
// and Google Pay's (cards to Adyen, type scheme) is the bare id, as every
// token stored before other methods existed.

// recurringType is the paymentMethod.type a method's stored token is
// charged under: Adyen's payment method type or variant of the payment
// that stored it (a notification's paymentMethod is the variant, e.g.
// "visa_applepay").
func recurringType(method string) string {
	switch method {
	case typePayPal:
		return typePayPal
	case typeSEPA, typeIdeal:
		return typeSEPA
	}
	return typeScheme
}

// connectorToken is the token of the stored method id, stored by a payment of method.
func connectorToken(method, id string) string {
	if id == "" {
		return ""
	}
	if t := recurringType(method); t != typeScheme {
		return t + tokenSeparator + id
	}
	return id
}

// parseToken splits a connector token into Adyen's type and stored id.
func parseToken(token string) (methodType, id string) {
	if t, id, ok := strings.Cut(token, tokenSeparator); ok {
		return t, id
	}
	return typeScheme, token
}

// storedMethod is the paymentMethod of a merchant-initiated payment with token.
func storedMethod(token string) (checkout.CheckoutPaymentMethod, error) {
	methodType, id := parseToken(token)
	switch methodType {
	case typeScheme:
		return checkout.CardDetailsAsCheckoutPaymentMethod(&checkout.CardDetails{
			Type: common.PtrString(typeScheme), StoredPaymentMethodId: &id}), nil
	case typePayPal:
		return checkout.PayPalDetailsAsCheckoutPaymentMethod(&checkout.PayPalDetails{
			Type: typePayPal, StoredPaymentMethodId: &id}), nil
	case typeSEPA:
		// The document requires iban and ownerName even beside a stored id;
		// the library sends them, empty.
		return checkout.SepaDirectDebitDetailsAsCheckoutPaymentMethod(&checkout.SepaDirectDebitDetails{
			Type: common.PtrString(typeSEPA), StoredPaymentMethodId: &id}), nil
	}
	return checkout.CheckoutPaymentMethod{}, failure.Permanentf("the stored token's payment method %q is not one the connector stores", methodType)
}

// accountSummary maps additionalData to Cleeng's paymentMethodSpecificParams
// for a method that is no card: the PayPal account (payer id and email),
// or the bank account of a SEPA Direct Debit (iDEAL's too), its IBAN masked.
func accountSummary(method string, ad map[string]string) *gateways.Account {
	switch method {
	case typePayPal:
		if ad["paypalEmail"] == "" && ad["paypalPayerId"] == "" {
			return nil
		}
		return &gateways.Account{PaymentMethod: typePayPal, PayerID: ad["paypalPayerId"], PayerEmail: ad["paypalEmail"]}
	case typeSEPA:
		return bankAccount(typeSEPA, ad["ownerName"], ad["iban"])
	case typeIdeal:
		return bankAccount(typeIdeal, ad["iDealConsumerName"], ad["iDealConsumerIBAN"])
	}
	return nil
}

func bankAccount(method, holder, iban string) *gateways.Account {
	if iban == "" {
		return nil
	}
	return &gateways.Account{PaymentMethod: method, HolderName: holder, IBAN: maskIBAN(iban)}
}

// maskIBAN keeps what a shopper recognises an account by, the country and
// the last four characters, whether Adyen sent the IBAN masked or not:
// "NL13TEST0123456789" → "NL** **** 6789".
func maskIBAN(iban string) string {
	iban = strings.ReplaceAll(iban, " ", "")
	if len(iban) < 8 {
		return "****"
	}
	return iban[:2] + "** **** " + iban[len(iban)-4:]
}
