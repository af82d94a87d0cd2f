package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/stack"
)

// runSandbox serves the Cleeng, Adyen and Cleverbridge sandboxes alone, with the
// development credentials and demo data, sending webhooks to
// SANDBOX_INGRESS_URL: for a connector running elsewhere (docker compose).
func runSandbox(ctx context.Context, env *config.Env, args []string) error {
	if err := parseFlags(newFlagSet("sandbox"), args); err != nil {
		return err
	}
	log := newLogger(env)
	addr := env.String("CONNECTOR_DEV_SANDBOX_ADDR")
	settings := stack.DevSandboxSettings(env.URL("SANDBOX_INGRESS_URL"))
	settings.Logger = log
	if err := env.Err(); err != nil {
		return err
	}
	sb := stack.NewSandboxes(settings)
	defer sb.Close()
	if err := stack.SeedDemo(sb); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "sandboxes on %s: /cleeng/3.1 (X-Publisher-Token: %s), /adyen/v71 (X-API-Key: %s); webhooks to %s\n",
		addr, stack.DevPublisherToken, stack.DevAdyenAPIKey, settings.IngressURL)
	return serveHTTP(ctx, log, "sandboxes", addr, sb.Handler())
}
