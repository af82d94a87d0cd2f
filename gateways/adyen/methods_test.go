package adyen

import (
	"encoding/json"
	"strings"
	"testing"
)

// Each method's Drop-in state.data decodes into its own schema of the
// Checkout document (the oneOf decoder never guesses), and goes out in
// the document's field names: SEPA's sepa.ownerName / sepa.ibanNumber
// become ownerName / iban.
func TestPaymentMethod_DropInDataDecodesIntoItsSchema(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		in   json.RawMessage
		want string // the encoded request's paymentMethod
	}{
		{"card", json.RawMessage(`{"type":"scheme","encryptedCardNumber":"test_4111111111111111"}`), `{"encryptedCardNumber":"test_4111111111111111","type":"scheme"}`},
		{"Apple Pay", json.RawMessage(`{"type":"applepay","applePayToken":"dG9rZW4="}`), `{"applePayToken":"dG9rZW4=","type":"applepay"}`},
		{"Google Pay", json.RawMessage(`{"type":"googlepay","googlePayToken":"dG9rZW4="}`), `{"googlePayToken":"dG9rZW4=","type":"googlepay"}`},
		{"PayPal sdk", json.RawMessage(`{"type":"paypal","subtype":"sdk"}`), `{"subtype":"sdk","type":"paypal"}`},
		{"PayPal redirect", json.RawMessage(`{"type":"paypal","subtype":"redirect"}`), `{"subtype":"redirect","type":"paypal"}`},
		{"SEPA in Drop-in's names", json.RawMessage(`{"type":"sepadirectdebit","sepa.ownerName":"A. Schneider","sepa.ibanNumber":"NL13 TEST 0123 4567 89"}`), `{"iban":"NL13TEST0123456789","ownerName":"A. Schneider","type":"sepadirectdebit"}`},
		{"SEPA in the document's names", json.RawMessage(`{"type":"sepadirectdebit","ownerName":"A. Schneider","iban":"NL13TEST0123456789"}`), `{"iban":"NL13TEST0123456789","ownerName":"A. Schneider","type":"sepadirectdebit"}`},
		{"iDEAL", json.RawMessage(`{"type":"ideal","issuer":"1121"}`), `{"issuer":"1121","type":"ideal"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pm, err := paymentMethod(c.in)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(pm)
			if string(got) != c.want {
				t.Fatalf("paymentMethod = %s, want %s", got, c.want)
			}
		})
	}
}

// Incomplete data is refused naming what is missing, never echoing it.
func TestPaymentMethod_IncompleteDataRefusedWithoutItsContent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"type":"applepay"}`, "applePayToken is required"},
		{`{"type":"googlepay","googlePayToken":""}`, "googlePayToken is required"},
		{`{"type":"paypal","subtype":"ecs"}`, `subtype must be "sdk" or "redirect"`},
		{`{"type":"sepadirectdebit","sepa.ownerName":"A. Schneider"}`, "holder's name and IBAN are required"},
		{`{"type":"ideal"}`, "issuer is required"},
	} {
		_, err := paymentMethod(json.RawMessage(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Schneider") {
			t.Errorf("%s: error %v, want one saying %q without the data", c.in, err, c.want)
		}
	}
}

// A token names the type it is charged under, but for cards (and the
// wallets' cards), whose tokens stay the bare id stored before.
func TestToken_StoredTypeTravelsWithTheToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ method, token, renewedAs string }{
		{"scheme", "ID1", "scheme"},
		{"applepay", "ID1", "scheme"},
		{"visa_googlepay", "ID1", "scheme"}, // a notification's variant
		{"paypal", "paypal:ID1", "paypal"},
		{"sepadirectdebit", "sepadirectdebit:ID1", "sepadirectdebit"},
		{"ideal", "sepadirectdebit:ID1", "sepadirectdebit"},
	} {
		token := connectorToken(c.method, "ID1")
		methodType, id := parseToken(token)
		if token != c.token || methodType != c.renewedAs || id != "ID1" {
			t.Errorf("%s: token %q parsed %q %q, want %q charged as %s", c.method, token, methodType, id, c.token, c.renewedAs)
		}
		pm, err := storedMethod(token)
		got, _ := json.Marshal(pm)
		if err != nil || !strings.Contains(string(got), `"type":"`+c.renewedAs+`"`) || !strings.Contains(string(got), `"storedPaymentMethodId":"ID1"`) {
			t.Errorf("%s: renewal paymentMethod %s (%v)", c.method, got, err)
		}
	}
	if connectorToken("paypal", "") != "" {
		t.Error("a payment that stored nothing has a token")
	}
	if _, err := storedMethod("klarna:ID1"); err == nil {
		t.Error("a token of a type the connector never stores was charged")
	}
}

func TestMaskIBAN_KeepsCountryAndLastFour(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"NL13TEST0123456789": "NL** **** 6789", "NL13TEST**********6789": "NL** **** 6789", "DE89 3704 0044 0532 0130 00": "DE** **** 3000", "NL1": "****"} {
		if got := maskIBAN(in); got != want {
			t.Errorf("maskIBAN(%q) = %q, want %q", in, got, want)
		}
	}
}
