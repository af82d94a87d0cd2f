package adyen_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
)

// A wallet's card and a SEPA Direct Debit are refused as Adyen refuses
// them: a result with Adyen's reason and its AUTHORISATION, no token.
func TestPay_MethodsBeyondCardsRefusedWithAdyensReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name   string
		method json.RawMessage
		reason string
	}{
		{"Apple Pay declined", sandbox.WalletMethod("applepay", sandbox.CardVisa, sandbox.HolderDeclined), "Refused"},
		{"Google Pay without funds", sandbox.WalletMethod("googlepay", sandbox.CardMastercard, sandbox.HolderNotEnoughBalance), "Not enough balance"},
		{"SEPA Direct Debit refused", sandbox.SEPAMethod("A. Schneider", sandbox.IBANRefused), "Refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := pay(t, e.gw, firstPayment(t, "order-"+strings.ReplaceAll(c.name, " ", "-"), amount(t, "10.00", "EUR"), c.method))
			if res.Outcome != gateways.Refused || res.RefusalReason != c.reason || res.Token != "" {
				t.Fatalf("got %+v, want refused %q", res, c.reason)
			}
			ev := e.events.Wait(t, 10*time.Second, "AUTHORISATION", func(ev gateways.Event) bool {
				return ev.Kind == gateways.EventAuthorisation && ev.PaymentReference == res.PaymentReference
			})
			if ev.Success || ev.Reason != c.reason {
				t.Fatalf("AUTHORISATION event = %+v", ev)
			}
		})
	}
}

// What Adyen refuses to take at all is a permanent failure: a SEPA
// Direct Debit in another currency than euros, an IBAN whose check
// digits are wrong, a wallet token Adyen cannot decrypt.
func TestPay_MethodsBeyondCardsInvalidDataIsPermanent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name     string
		method   json.RawMessage
		currency string
	}{
		{"SEPA in dollars", sandbox.SEPAMethod("A. Schneider", sandbox.IBANGood), "USD"},
		{"SEPA with a wrong check digit", sandbox.SEPAMethod("A. Schneider", "NL14TEST0123456789"), "EUR"},
		{"Apple Pay token not Apple's", json.RawMessage(`{"type":"applepay","applePayToken":"bm90IGEgdG9rZW4="}`), "EUR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.gw.Pay(context.Background(), firstPayment(t, "order-"+strings.ReplaceAll(c.name, " ", "-"), amount(t, "10.00", c.currency), c.method))
			if !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("error %v, want a permanent failure", err)
			}
		})
	}
}
