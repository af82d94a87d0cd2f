package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// authenticIngress is an ingress configuration that takes only authentic
// webhooks of Cleeng and Adyen.
func authenticIngress() map[string]string {
	return map[string]string{
		"CLEENG_PUBLISHER_ID": "100001", "CLEENG_WEBHOOK_SECRET": "0123456789abcdef0123456789abcdef",
		"PAYMENT_METHODS": "123876432=adyen", "ADYEN_HMAC_KEYS": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
		"ADYEN_WEBHOOK_USERNAME": "adyen", "ADYEN_WEBHOOK_PASSWORD": "pw",
		"CLEENG_JWKS_URL": "https://auth.example/.well-known/jwks.json",
	}
}

// TestIngress_RefusesToStartUnlessEveryWebhookIsAuthentic: the ingress
// role reads the real configuration and refuses to start, naming each
// variable, when a webhook it would take could be forged or replayed.
func TestIngress_RefusesToStartUnlessEveryWebhookIsAuthentic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change map[string]string // "" deletes
		want   []string          // variables the error names; none: it starts
	}{
		{"authentic", nil, nil},
		{"no Cleeng secret", map[string]string{"CLEENG_WEBHOOK_SECRET": ""}, []string{"CLEENG_WEBHOOK_SECRET", "CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM"}},
		{"no Cleeng secret, authenticated upstream", map[string]string{"CLEENG_WEBHOOK_SECRET": "", "CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM": "true"}, nil},
		{"no publisher", map[string]string{"CLEENG_PUBLISHER_ID": ""}, []string{"CLEENG_PUBLISHER_ID"}},
		{"no publisher, authenticated upstream", map[string]string{"CLEENG_PUBLISHER_ID": "", "CLEENG_WEBHOOKS_AUTHENTICATED_UPSTREAM": "true"}, []string{"CLEENG_PUBLISHER_ID"}},
		{"adyen served without its HMAC keys", map[string]string{"ADYEN_HMAC_KEYS": ""}, []string{"ADYEN_HMAC_KEYS"}},
		{"adyen served without basic auth", map[string]string{"ADYEN_WEBHOOK_PASSWORD": ""}, []string{"ADYEN_WEBHOOK_PASSWORD"}},
		{"cleverbridge served without credentials", map[string]string{"PAYMENT_METHODS": "123876432=adyen,555001=cleverbridge"}, []string{"CLEVERBRIDGE_USERNAME", "CLEVERBRIDGE_PASSWORD"}},
		{"no payment methods", map[string]string{"PAYMENT_METHODS": ""}, []string{"PAYMENT_METHODS"}},
		{"an unknown gateway", map[string]string{"PAYMENT_METHODS": "1=stripe"}, []string{"PAYMENT_METHODS", "stripe"}},
		{"dunning window outlasting the records", map[string]string{"CLEENG_DUNNING_MAX_AGE": "840h"}, []string{"CLEENG_DUNNING_MAX_AGE", "NATS_OPS_TTL"}},
		{"dunning window within shorter records", map[string]string{"NATS_OPS_TTL": "48h"}, []string{"CLEENG_DUNNING_MAX_AGE", "NATS_OPS_TTL"}},
		{"Drop-in's client key and region", map[string]string{"ADYEN_CLIENT_KEY": "live_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", "ADYEN_CLIENT_REGION": "live-us"}, nil},
		{"a client key without its region", map[string]string{"ADYEN_CLIENT_KEY": "live_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW"}, []string{"ADYEN_CLIENT_REGION"}},
		{"an API key as client key", map[string]string{"ADYEN_CLIENT_KEY": "AQEyhmfxK4", "ADYEN_CLIENT_REGION": "live"}, []string{"ADYEN_CLIENT_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := authenticIngress()
			for k, v := range tt.change {
				if v == "" {
					delete(vars, k)
				} else {
					vars[k] = v
				}
			}
			env := config.FromMap(vars)
			readIngressSettings(env, zerolog.Nop(), prometheus.NewRegistry())
			startsOrNames(t, env.Err(), tt.want)
		})
	}
}

// TestIngressCommand_StopsBeforeOpeningAnything: the ingress command with
// no webhook secret ends with the error, before it connects or listens.
func TestIngressCommand_StopsBeforeOpeningAnything(t *testing.T) {
	t.Parallel()
	vars := authenticIngress()
	delete(vars, "CLEENG_WEBHOOK_SECRET")
	vars["NATS_URL"] = "nats://127.0.0.1:1" // never dialled
	vars["INGRESS_ADDR"] = "127.0.0.1:1"    // never listened on
	err := runIngress(context.Background(), config.FromMap(vars), nil)
	if err == nil || !strings.Contains(err.Error(), "CLEENG_WEBHOOK_SECRET: required") {
		t.Fatalf("ingress without a webhook secret: %v, want the refusal naming CLEENG_WEBHOOK_SECRET", err)
	}
}

// TestBrokerOptions_DeadLettersNeverOutliveTheirRecords: a dead letter
// replayed after its operation record expired would start the operation
// over, so a retention of letters longer than the records is refused.
func TestBrokerOptions_DeadLettersNeverOutliveTheirRecords(t *testing.T) {
	t.Parallel()
	env := config.FromMap(map[string]string{"NATS_DLQ_MAX_AGE": "900h"})
	cli.BrokerOptions(env, "test")
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "NATS_DLQ_MAX_AGE") || !strings.Contains(err.Error(), "NATS_OPS_TTL") {
		t.Fatalf("letters kept 900h, records 840h: %v, want an error naming both", err)
	}
	env = config.FromMap(nil)
	opts := cli.BrokerOptions(env, "test")
	if err := env.Err(); err != nil || opts.DLQMaxAge >= opts.OpsTTL || opts.InboxMaxBytes == 0 || opts.DLQMaxBytes == 0 {
		t.Fatalf("defaults: %+v, %v", opts, err)
	}
}

// startsOrNames checks a start's configuration error: none when want is
// empty, else one that names every variable in want.
func startsOrNames(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted; want an error naming %v", want)
	}
	for _, name := range want {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
