package main

import (
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/config"
)

// TestIngress_RefusesToStartWithoutCustomerTokenSettings: front-end calls
// are authenticated with Cleeng's customer JWTs; a production ingress
// without the JWKS or the publisher to check them against does not start
// (it fails on its settings, before it opens NATS or a port).
func TestIngress_RefusesToStartWithoutCustomerTokenSettings(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"neither":      {map[string]string{}, []string{"CLEENG_JWKS_URL: required", "CLEENG_PUBLISHER_ID: required"}},
		"no JWKS":      {map[string]string{"CLEENG_PUBLISHER_ID": "100001"}, []string{"CLEENG_JWKS_URL: required"}},
		"no publisher": {map[string]string{"CLEENG_JWKS_URL": "https://auth.api.cleeng.com/.well-known/jwks.json"}, []string{"CLEENG_PUBLISHER_ID: required"}},
		"bad origin":   {map[string]string{"CHECKOUT_RETURN_ORIGINS": "https://shop.example/path"}, []string{"CHECKOUT_RETURN_ORIGINS"}},
		"bad proxy":    {map[string]string{"INGRESS_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"INGRESS_TRUSTED_PROXIES"}},
	} {
		err := runIngress(t.Context(), config.FromMap(tc.env), nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want an error naming %q", name, err, w)
			}
		}
	}
}
