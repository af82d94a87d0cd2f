package redact

import (
	"strings"
	"testing"
)

func TestJSON_ReplacesSecretFieldsAtAnyDepth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"flat token", `{"token":"tok_123","orderId":7}`, `{"orderId":7,"token":"[redacted]"}`},
		{"capitalised token", `{"Token":"tok_123"}`, `{"Token":"[redacted]"}`},
		{"token suffix", `{"publisherToken":"p","recurringToken":"r"}`, `{"publisherToken":"[redacted]","recurringToken":"[redacted]"}`},
		{"payment method object", `{"paymentMethod":{"type":"scheme","holderName":"A"},"paymentMethodId":"123"}`,
			`{"paymentMethod":"[redacted]","paymentMethodId":"123"}`},
		{"encrypted fields", `{"card":{"encryptedCardNumber":"adyenjs_x","encryptedSecurityCode":"adyenjs_y","brand":"visa"}}`,
			`{"card":{"brand":"visa","encryptedCardNumber":"[redacted]","encryptedSecurityCode":"[redacted]"}}`},
		{"card number and cvc", `{"number":"4111111111111111","cvc":"737","expiryMonth":"03"}`,
			`{"cvc":"[redacted]","expiryMonth":"03","number":"[redacted]"}`},
		{"objects in arrays", `{"details":[{"token":"a","id":1},{"id":2,"nested":[{"cvc":"1"}]}]}`,
			`{"details":[{"id":1,"token":"[redacted]"},{"id":2,"nested":[{"cvc":"[redacted]"}]}]}`},
		{"exact big numbers", `{"amount":12345678901234567890.10}`, `{"amount":12345678901234567890.10}`},
		{"nothing secret", `{"status":"active","ids":[1,2]}`, `{"ids":[1,2],"status":"active"}`},
		{"null state", `null`, `null`},
		{"empty state", ``, `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if compact := strings.Join(strings.Fields(string(got)), ""); compact != tc.want {
				t.Errorf("JSON(%s) = %s, want %s", tc.in, compact, tc.want)
			}
		})
	}
	if _, err := JSON([]byte(`{"token":`)); err == nil {
		t.Error("JSON of broken JSON: no error")
	}
}

func TestSecretField_NamesCardDataAndTokens(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"paymentMethod", "encryptedExpiryYear", "recurringDetailReference_token", "cardNumber", "CVC"} {
		if !SecretField(name) {
			t.Errorf("SecretField(%q) = false, want true", name)
		}
	}
	for _, name := range []string{"paymentMethodId", "orderId", "holderName", "status"} {
		if SecretField(name) {
			t.Errorf("SecretField(%q) = true, want false", name)
		}
	}
}
