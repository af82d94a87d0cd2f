package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// methodIdeal is iDEAL's payment method type: a redirect to the shopper's bank.
const methodIdeal = "ideal"

// redirectBase is where the sandbox's redirect actions send the shopper:
// no browser follows it in a test, RedirectResult stands for the trip.
const redirectBase = "https://sandbox.invalid/redirect"

// redirect parks p until /payments/details brings the redirect's result:
// a card's 3-D Secure on the issuer's page (the request did not prefer
// native), or a redirect method. Called with s.mu held.
func (s *Sandbox) redirect(p *Payment) answer {
	ref := s.awaitShopper(p)
	return jsonAnswer(http.StatusOK, map[string]any{
		"resultCode":        "RedirectShopper",
		"pspReference":      p.PSPReference,
		"merchantReference": p.Reference,
		"action": map[string]any{
			"type":              "redirect",
			"method":            "GET",
			"paymentMethodType": p.Method,
			"url":               redirectBase + "?" + url.Values{"ref": {ref}}.Encode(),
		},
	})
}

// payIdeal starts an iDEAL payment: euros only, at one of Adyen's test
// issuers, which decides the outcome once the shopper approves (1160
// refuses). Storing it stores a SEPA Direct Debit mandate, as Adyen does.
// Called without s.mu.
func (s *Sandbox) payIdeal(p *Payment, issuerID string) answer {
	if p.Currency != "EUR" {
		return apiError(http.StatusUnprocessableEntity, "905_3", "configuration", "Could not find an acquirer account for the provided currency ("+p.Currency+").")
	}
	known := false
	for _, is := range idealIssuers {
		known = known || is.ID == issuerID
	}
	if !known {
		return apiError(http.StatusUnprocessableEntity, "14_0", "validation", "Invalid issuer")
	}
	p.Method, p.Account = methodIdeal, IBANGood
	p.Card = card{HolderName: "iDEAL shopper"}
	approved := authorised
	if issuerID == "1160" {
		approved = verdict{"Refused", "2", "Refused"}
	}
	p.approved = &approved
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redirect(p)
}

// IdealMethod is Drop-in's state.data.paymentMethod for iDEAL at issuer
// (e.g. "1121"; "1160" refuses).
func IdealMethod(issuer string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": methodIdeal, "issuer": issuer})
	return b
}

// RedirectResult builds the /payments/details `details` the shopper's
// return from a redirect action brings (the redirectResult query parameter
// on the returnUrl): approved, or not (abandoned, not authenticated).
func RedirectResult(action json.RawMessage, approved bool) (json.RawMessage, error) {
	var a struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(action, &a); err != nil {
		return nil, err
	}
	u, err := url.Parse(a.URL)
	if err != nil || u.Query().Get("ref") == "" {
		return nil, errors.New("not a redirect action of the sandbox")
	}
	status := "N"
	if approved {
		status = "Y"
	}
	result, _ := json.Marshal(map[string]string{"transStatus": status, "threeDSServerTransID": u.Query().Get("ref")})
	return json.Marshal(map[string]string{"redirectResult": base64.StdEncoding.EncodeToString(result)})
}
