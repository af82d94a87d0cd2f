package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/workers"
)

// runDev runs everything in one process: embedded JetStream (unless
// NATS_URL is set), the ingress, every worker and the sandboxes, seeded with
// an offer, a customer and test cards.
func runDev(ctx context.Context, env *config.Env, args []string) error {
	if err := cli.ParseFlags(cli.NewFlagSet("dev"), args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	opts := stack.DevOptions{
		Broker:       cli.BrokerOptions(env, config.RoleDev),
		IngressAddr:  env.String("INGRESS_ADDR"),
		SandboxAddr:  env.String("CONNECTOR_DEV_SANDBOX_ADDR"),
		ConsoleAddr:  env.String("CONSOLE_ADDR"),
		SyncWait:     env.Duration("INGRESS_SYNC_WAIT"),
		MaxBodyBytes: int64(env.Int("INGRESS_MAX_BODY_BYTES")),
		MaxWaits:     env.Int("INGRESS_MAX_WAITS"),
		Runtime:      workers.Config{Concurrency: env.Int("WORKER_CONCURRENCY"), AckWait: env.Duration("WORKER_ACK_WAIT")},
		Registry:     cli.NewRegistry(),
		Logger:       log,
	}
	if err := env.Err(); err != nil {
		return err
	}
	flush, err := cli.StartTracing(ctx, log, "connector-dev")
	if err != nil {
		return err
	}
	defer flush()
	dev, err := stack.StartDev(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		dev.Close()
		if dev.Broker.Server != nil {
			log.Info().Msg("embedded NATS stopped, store closed")
		}
	}()
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		return err
	}
	fmt.Fprint(os.Stdout, stack.Instructions(dev))
	select {
	case <-ctx.Done():
		log.Info().Msg("stopping: draining workers")
		return nil
	case err := <-dev.Err():
		return err
	}
}
