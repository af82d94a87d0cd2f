package adyen

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/adyen/adyen-go-api-library/v9/src/checkout"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

// response holds what /payments and /payments/details answers have in common.
type response struct {
	resultCode     string
	pspReference   string
	refusalReason  string
	additionalData map[string]string
	method         checkout.ResponsePaymentMethod // the type paid with, and a card's brand
	action         *checkout.PaymentResponseAction
	amount         *checkout.Amount
}

// settle says how an Authorised result is to be read.
type settle struct {
	authoriseOnly     bool // manualCapture: funds reserved, capture later
	merchantInitiated bool // a renewal: nobody can perform a shopper action
}

// paymentResult maps Adyen's resultCode to a gateways.Result. Refused,
// Error and Cancelled are final refusals (business outcomes, not errors);
// Pending and Received wait for the AUTHORISATION notification.
func paymentResult(r response, s settle) (gateways.Result, error) {
	res := gateways.Result{PaymentReference: r.pspReference}
	switch r.resultCode {
	case "Authorised":
		res.Outcome = gateways.Captured
		if s.authoriseOnly || (r.amount != nil && r.amount.Value == 0) {
			// A zero-amount authorisation validates the card; nothing to capture.
			res.Outcome = gateways.Authorised
		}
		methodType := r.method.GetType()
		res.Token = connectorToken(methodType, token(r.additionalData))
		res.Card = cardSummary(r.additionalData, r.method)
		res.Account = accountSummary(methodType, r.additionalData)
	case "Refused", "Error", "Cancelled":
		res.Outcome = gateways.Refused
		res.RefusalReason = r.refusalReason
		if res.RefusalReason == "" {
			res.RefusalReason = r.resultCode
		}
	case "RedirectShopper", "IdentifyShopper", "ChallengeShopper", "PresentToShopper", "Pending":
		if r.resultCode == "Pending" && r.action == nil {
			res.Outcome = gateways.Pending // settled by the AUTHORISATION notification
			return res, nil
		}
		// A Pending with an action waits for the shopper: PayPal's sdk
		// action, approved in PayPal's own window.
		if s.merchantInitiated {
			res.Outcome = gateways.Refused
			res.RefusalReason = "Shopper action required"
			return res, nil
		}
		if r.action == nil {
			return res, failure.Permanentf("adyen: resultCode %s without an action", r.resultCode)
		}
		action, err := json.Marshal(r.action)
		if err != nil {
			return res, failure.Permanent(fmt.Errorf("adyen: encoding action: %w", err))
		}
		res.Outcome = gateways.ActionRequired
		res.Action = action
		res.PaymentData = actionPaymentData(r.action)
	default: // Pending, Received, and codes Adyen may add later
		res.Outcome = gateways.Pending
	}
	return res, nil
}

// actionPaymentData returns the paymentData of the action, when it has one.
func actionPaymentData(a *checkout.PaymentResponseAction) string {
	switch {
	case a.CheckoutThreeDS2Action != nil:
		return a.CheckoutThreeDS2Action.GetPaymentData()
	case a.CheckoutAwaitAction != nil:
		return a.CheckoutAwaitAction.GetPaymentData()
	case a.CheckoutSDKAction != nil:
		return a.CheckoutSDKAction.GetPaymentData()
	case a.CheckoutQrCodeAction != nil:
		return a.CheckoutQrCodeAction.GetPaymentData()
	}
	return ""
}

// token reads the recurring token where Adyen puts it in additionalData.
func token(ad map[string]string) string {
	if t := ad["tokenization.storedPaymentMethodId"]; t != "" {
		return t
	}
	return ad["recurring.recurringDetailReference"]
}

// cardSummary maps additionalData to Cleeng's paymentMethodSpecificParams
// for a card, and for the card behind an Apple Pay or Google Pay payment,
// which also names the wallet.
func cardSummary(ad map[string]string, method checkout.ResponsePaymentMethod) *gateways.Card {
	if ad["cardSummary"] == "" {
		return nil
	}
	card := &gateways.Card{
		HolderName:         ad["cardHolderName"],
		LastCardFourDigits: ad["cardSummary"],
		Variant:            ad["paymentMethod"],
		CardExpirationDate: expiry(ad["expiryDate"]),
	}
	if brand := method.GetBrand(); brand != "" {
		card.Variant = brand
	}
	if t := method.GetType(); t == typeApplePay || t == typeGooglePay {
		// A wallet's variant names both ("visa_applepay"): the card's brand
		// is the variant, the wallet its own field.
		card.Wallet = t
		card.Variant = strings.TrimSuffix(card.Variant, "_"+t)
	}
	return card
}

// expiry turns Adyen's "3/2030" into "03/2030".
func expiry(s string) string {
	month, year, ok := strings.Cut(s, "/")
	if !ok {
		return s
	}
	if len(month) == 1 {
		month = "0" + month
	}
	return month + "/" + year
}

// received maps a modification's 201 answer.
func received(what, status, psp string) (gateways.Result, error) {
	if status != "received" {
		return gateways.Result{}, failure.UnknownOutcome(fmt.Errorf("adyen %s: status %q", what, status))
	}
	return gateways.Result{Outcome: gateways.Received, PaymentReference: psp}, nil
}
