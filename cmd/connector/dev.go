package main

import (
	"context"
	"flag"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/config"
)

func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// runDev runs everything in one process: embedded JetStream (unless
// NATS_URL is set), the ingress, every worker and the sandboxes.
func runDev(ctx context.Context, env *config.Env, args []string) error {
	if err := parseFlags(newFlagSet("dev"), args); err != nil {
		return err
	}
	log := newLogger(env)
	reg := newRegistry()
	settings := readIngressSettings(env, log, reg)
	opts := brokerOptions(env, "connector-dev")
	if err := env.Err(); err != nil {
		return err
	}
	b, err := broker.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer closeBroker(log, b)
	return serveHTTP(ctx, log, "ingress", settings.addr, buildIngress(settings, b).Handler())
}
