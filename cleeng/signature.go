package cleeng

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Webhook secrets are 16 to 64 bytes, chosen by the publisher [doc].
const (
	MinWebhookSecret = 16
	MaxWebhookSecret = 64
)

// CheckWebhookSecret reports a secret of a length Cleeng does not accept.
// The error never contains the secret.
func CheckWebhookSecret(secret []byte) error {
	if n := len(secret); n < MinWebhookSecret || n > MaxWebhookSecret {
		return fmt.Errorf("webhook secret: %d bytes, want %d to %d", n, MinWebhookSecret, MaxWebhookSecret)
	}
	return nil
}

// Sign returns hex(HMAC-SHA256(secret, body)), the form the connector
// expects in the signature header [decided].
func Sign(secret, body []byte) string {
	return hex.EncodeToString(mac(secret, body))
}

// VerifySignature reports whether sig is HMAC-SHA256(secret, body) in hex
// or base64 (standard or URL alphabet, padded or not), optionally prefixed
// "sha256=". The comparison is constant time. An empty secret verifies nothing.
func VerifySignature(secret, body []byte, sig string) bool {
	if len(secret) == 0 {
		return false
	}
	sig = strings.TrimSpace(sig)
	if len(sig) > 7 && strings.EqualFold(sig[:7], "sha256=") {
		sig = sig[7:]
	}
	want := mac(secret, body)
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	ok := false
	for _, decode := range decoders {
		if got, err := decode(sig); err == nil && len(got) == len(want) {
			ok = hmac.Equal(got, want) || ok
		}
	}
	return ok
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}
