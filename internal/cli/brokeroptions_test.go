package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

// TestBrokerOptions_ProductionRolesRefusePlaintextOnTheNetwork: a NATS_URL
// off this machine without TLS stops every role but dev, unless
// NATS_ALLOW_PLAINTEXT says so; loopback and TLS pass.
func TestBrokerOptions_ProductionRolesRefusePlaintextOnTheNetwork(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("a CA"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := "nats://connector:hunter2@nats-1:4222,nats://nats-2:4222"
	for _, tc := range []struct {
		role string
		env  map[string]string
		ok   bool
	}{
		{config.RoleIngress, map[string]string{"NATS_URL": remote}, false},
		{config.RoleWorker, map[string]string{"NATS_URL": remote}, false},
		{config.RoleOps, map[string]string{"NATS_URL": remote}, false},
		{config.RoleDLQ, map[string]string{"NATS_URL": remote}, false},
		{config.RoleDev, map[string]string{"NATS_URL": remote}, true},
		{config.RoleWorker, map[string]string{"NATS_URL": remote, "NATS_ALLOW_PLAINTEXT": "true"}, true},
		{config.RoleWorker, map[string]string{"NATS_URL": remote, "NATS_TLS_CA": ca}, true},
		{config.RoleWorker, map[string]string{"NATS_URL": "tls://nats-1:4222"}, true},
		{config.RoleWorker, map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}, true},
		{config.RoleWorker, map[string]string{}, true},
	} {
		env := config.FromMap(tc.env)
		opts := cli.BrokerOptions(env, tc.role)
		err := env.Err()
		if (err == nil) != tc.ok {
			t.Errorf("%s with %v: %v, want ok %v", tc.role, tc.env, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "NATS_URL: nats-1:4222 is on the network") || strings.Contains(err.Error(), "hunter2")) {
			t.Errorf("%s: error %q should name the host and NATS_ALLOW_PLAINTEXT, never the password", tc.role, err)
		}
		if opts.Name != "connector-"+tc.role {
			t.Errorf("connection name %q", opts.Name)
		}
	}
}

func TestBrokerOptions_RefusesAmbiguousOrMissingCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"NATS_USER": "u", "NATS_CREDS_FILE": "/nonexistent.creds"}, "NATS_USER: set one of"},
		{map[string]string{"NATS_PASSWORD": "p"}, "NATS_PASSWORD: set without NATS_USER"},
		{map[string]string{"NATS_TLS_CERT": "/nonexistent.pem"}, "NATS_TLS_KEY: NATS_TLS_CERT and NATS_TLS_KEY go together"},
		{map[string]string{"NATS_TLS_CA": "/nonexistent.pem"}, "NATS_TLS_CA: stat /nonexistent.pem"},
		{map[string]string{"NATS_EMBEDDED_PORT": "70000"}, "NATS_EMBEDDED_PORT"},
	} {
		env := config.FromMap(tc.env)
		cli.BrokerOptions(env, config.RoleWorker)
		if err := env.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
}
