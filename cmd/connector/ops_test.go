package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// secretState is a flow's state holding what `ops show` must not print.
type secretState struct {
	OrderID int `json:"orderId"`
	Details struct {
		Token         string `json:"token"`
		PaymentMethod any    `json:"paymentMethod"`
	} `json:"details"`
}

func TestOpsCommand_ShowRedactsAndListFilters(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	store := ops.NewStore(b.Ops)
	key := ops.Key("initial", "O-7")
	rec, err := ops.Claim[secretState](t.Context(), store, key, "initial")
	if err != nil {
		t.Fatal(err)
	}
	rec.State.OrderID = 7
	rec.State.Details.Token = "8415718415718415"
	rec.State.Details.PaymentMethod = map[string]string{"encryptedCardNumber": "adyenjs_0_1_25$secret"}
	if err := rec.Save(t.Context(), store, "gateway-called"); err != nil {
		t.Fatal(err)
	}
	done, err := ops.Claim[secretState](t.Context(), store, ops.Key("refund", "R-1"), "refund")
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Fail(t.Context(), store, "reported", "refund exceeds capture"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NATS_URL": b.Server.ClientURL()}

	out, err := runCLI(t, env, "ops", opsCommands, "show", key)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "ops show", out, "key:", key, "flow:", "initial", "status:", "in_progress", "step:", "gateway-called",
		"owner:", rec.Owner, "lease until:", "created:", "updated:", `"orderId": 7`, `"token": "[redacted]"`, `"paymentMethod": "[redacted]"`)
	for _, secret := range []string{"8415718415718415", "adyenjs_0_1_25$secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("ops show prints %q:\n%s", secret, out)
		}
	}
	if _, err := runCLI(t, env, "ops", opsCommands, "show", "initial.none"); !errors.Is(err, ops.ErrNotFound) || !strings.Contains(err.Error(), "initial.none") {
		t.Errorf("ops show of an unknown key: %v, want not found naming the key", err)
	}

	out, err = runCLI(t, env, "ops", opsCommands, "list", "--status", "failed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "refund.R-1") || !strings.Contains(out, "refund exceeds capture") || strings.Contains(out, key) {
		t.Errorf("ops list --status failed:\n%s", out)
	}
	out, err = runCLI(t, env, "ops", opsCommands, "list", "--prefix", "initial")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, key) || strings.Contains(out, "refund.R-1") {
		t.Errorf("ops list --prefix initial:\n%s", out)
	}
	if out, err = runCLI(t, env, "ops", opsCommands, "list", "--prefix", "capture"); err != nil || !strings.Contains(out, "no operation records") {
		t.Errorf("ops list --prefix capture: %v\n%s", err, out)
	}
	if _, err := runCLI(t, env, "ops", opsCommands, "list", "--status", "running"); !errors.As(err, new(cli.UsageError)) {
		t.Errorf("ops list --status running: %v, want a usage error", err)
	}
}
