package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

// runSandbox serves the Cleeng, Adyen and Cleverbridge sandboxes alone, with the
// development credentials and demo data, sending webhooks to
// SANDBOX_INGRESS_URL: for a connector running elsewhere (docker compose).
func runSandbox(ctx context.Context, env *config.Env, args []string) error {
	if err := cli.ParseFlags(cli.NewFlagSet("sandbox"), args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	addr := env.String("CONNECTOR_DEV_SANDBOX_ADDR")
	settings := stack.DevSandboxSettings(env.URL("SANDBOX_INGRESS_URL"))
	settings.Logger = log
	strict := env.Bool("SANDBOX_ADYEN_CONTRACT")
	if err := env.Err(); err != nil {
		return err
	}
	if strict {
		contract, err := adyensandbox.LoadContract()
		if err != nil {
			return fmt.Errorf("SANDBOX_ADYEN_CONTRACT: %w", err)
		}
		settings.AdyenContract = contract
	}
	sb := stack.NewSandboxes(settings)
	defer sb.Close()
	if err := stack.SeedDemo(sb); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "sandboxes on %s: /cleeng/3.1 (X-Publisher-Token: %s), /adyen/v71 (X-API-Key: %s, contract checks: %t); webhooks to %s\n",
		addr, stack.DevPublisherToken, stack.DevAdyenAPIKey, strict, settings.IngressURL)
	return cli.ServeHTTP(ctx, log, cli.Site{Name: "sandboxes", Addr: addr, Handler: sb.Handler(), WriteTimeout: stack.SandboxWriteTimeout})
}
