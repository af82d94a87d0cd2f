package main

import (
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestOpsCommand_ShowPrintsTheAttemptsAReplayReopened(t *testing.T) {
	b := testkit.Broker(t)
	store := ops.NewStore(b.Ops)
	key := ops.Key("authorise", "S9", "2026-12-01")
	rec, err := ops.Claim[struct{}](t.Context(), store, key, "authorise")
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Fail(t.Context(), store, "start", "paymentMethodId 777 is not routed to a gateway: add 777=<gateway> to PAYMENT_METHODS"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NATS_URL": b.Server.ClientURL()}
	out, err := runCLI(t, env, "ops", opsCommands, "show", key)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "ops show before a replay", out, "attempt:", " 1\n")
	if strings.Contains(out, "earlier attempts") {
		t.Errorf("ops show of a first attempt prints a history:\n%s", out)
	}

	if err := ops.Reopen(t.Context(), store, rec, "dead letter 3 of 2026-12-01T00:00:05Z", ""); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, env, "ops", opsCommands, "show", key)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "ops show after a replay", out, "status:", "in_progress", "attempt:", " 2\n", "earlier attempts:",
		"1: failed", "at step start: paymentMethodId 777 is not routed", "by the replay of dead letter 3 of 2026-12-01T00:00:05Z")
}
