package cleeng_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123")
	body := []byte(exampleRefund)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sum := mac.Sum(nil)
	hexSig := cleeng.Sign(secret, body)
	tests := []struct {
		name string
		sig  string
		want bool
	}{
		{"hex", hexSig, true},
		{"hex upper case", strings.ToUpper(hexSig), true},
		{"sha256= prefix", "sha256=" + hexSig, true},
		{"base64", base64.StdEncoding.EncodeToString(sum), true},
		{"base64 url, unpadded", base64.RawURLEncoding.EncodeToString(sum), true},
		{"empty", "", false},
		{"other body", cleeng.Sign(secret, []byte(exampleRefund+" ")), false},
		{"other secret", cleeng.Sign([]byte("fedcba9876543210"), body), false},
		{"truncated", hexSig[:len(hexSig)-2], false},
		{"garbage", "not a signature", false},
	}
	for _, tt := range tests {
		if got := cleeng.VerifySignature(secret, body, tt.sig); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if cleeng.VerifySignature(nil, body, cleeng.Sign(nil, body)) {
		t.Error("an empty secret verified a signature")
	}
}

func TestCheckWebhookSecret(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]bool{15: false, 16: true, 64: true, 65: false} {
		secret := []byte(strings.Repeat("s", n))
		err := cleeng.CheckWebhookSecret(secret)
		if (err == nil) != want {
			t.Errorf("%d bytes: err %v", n, err)
		}
		if err != nil && strings.Contains(err.Error(), string(secret)) {
			t.Errorf("error names the secret")
		}
	}
}
