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

func TestRedactURL_HidesPasswordsAndTokens(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                       "nats://127.0.0.1:4222",
		"nats://connector:pw@nats-1:4222":             "nats://connector:xxxxx@nats-1:4222",
		"nats://a:p1@n1:4222,tls://b:p2@n2:4222":      "nats://a:xxxxx@n1:4222,tls://b:xxxxx@n2:4222",
		"nats://s3cr3t-token@nats-1:4222":             "nats://xxxxx@nats-1:4222",
		"nats://u:p@ss@host:bad-port":                 "nats://u:xxxxx@host:bad-port",
		"https://api.example/3.1?redirect=http://x@y": "https://api.example/3.1?redirect=http://x@y",
		"u:pw@host:4222":                              "u:xxxxx@host:4222",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnv_URLsChecksEachWithoutPrintingItsPassword(t *testing.T) {
	t.Parallel()
	env := FromMap(map[string]string{"NATS_URL": "nats://a:4222/, nats://b:4222"})
	if got := env.URLs("NATS_URL"); got != "nats://a:4222,nats://b:4222" || env.Err() != nil {
		t.Errorf("URLs = %q, %v", got, env.Err())
	}
	env = FromMap(map[string]string{"NATS_URL": "nats://a:4222,connector:hunter2@nats-2"})
	env.URLs("NATS_URL")
	if err := env.Err(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "NATS_URL") {
		t.Errorf("error %v: want one naming NATS_URL without the password", err)
	}
}
