package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnv_EveryProblemNamesItsVariable(t *testing.T) {
	t.Parallel()
	env := FromMap(map[string]string{
		"NATS_REPLICAS":             "three",
		"INGRESS_SYNC_WAIT":         "5",
		"NATS_URL":                  "localhost",
		"LOG_FORMAT":                "xml",
		"PAYMENT_METHODS":           "123=adyen,555",
		"DEACTIVATE_DELETE_DETAILS": "maybe",
	})
	env.Int("NATS_REPLICAS")
	env.Duration("INGRESS_SYNC_WAIT")
	env.URL("NATS_URL")
	env.OneOf("LOG_FORMAT", "json", "console")
	env.Pairs("PAYMENT_METHODS")
	env.Bool("DEACTIVATE_DELETE_DETAILS")
	env.Required("CLEENG_PUBLISHER_TOKEN")
	err := env.Err()
	if err == nil {
		t.Fatal("no error for seven bad values")
	}
	for _, name := range []string{"NATS_REPLICAS", "INGRESS_SYNC_WAIT", "NATS_URL", "LOG_FORMAT", "PAYMENT_METHODS", "DEACTIVATE_DELETE_DETAILS", "CLEENG_PUBLISHER_TOKEN: required"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestEnv_DefaultsApplyAndValuesParse(t *testing.T) {
	t.Parallel()
	env := FromMap(map[string]string{"PAYMENT_METHODS": "123=adyen, 555=cleverbridge", "NATS_URL": "nats://a:4222/"})
	if got := env.Duration("INGRESS_SYNC_WAIT"); got != 5*time.Second {
		t.Errorf("INGRESS_SYNC_WAIT default = %s", got)
	}
	if got := env.Pairs("PAYMENT_METHODS"); got["555"] != "cleverbridge" || got["123"] != "adyen" {
		t.Errorf("PAYMENT_METHODS = %v", got)
	}
	if got := env.URL("NATS_URL"); got != "nats://a:4222" {
		t.Errorf("NATS_URL = %q", got)
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestVars_SecretsHaveNoDefaultAndEveryVarIsDocumented(t *testing.T) {
	t.Parallel()
	for _, v := range Vars {
		if v.Help == "" || len(v.Roles) == 0 {
			t.Errorf("%s: undocumented or read by no role", v.Name)
		}
		if v.Secret && v.Default != "" {
			t.Errorf("%s: a secret with a default", v.Name)
		}
	}
}
