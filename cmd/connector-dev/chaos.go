package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/cleeng-connector/connector/cmd/connector-dev/chaos"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
)

// runChaos runs the connector's binaries as OS processes under a seeded
// fault schedule and checks the promise of DESIGN section 4 (make chaos).
func runChaos(ctx context.Context, _ *config.Env, args []string) error {
	fs := cli.NewFlagSet("chaos")
	var opts chaos.Options
	fs.IntVar(&opts.Subscriptions, "subscriptions", 2000, "subscriptions in the population")
	fs.Uint64Var(&opts.Seed, "seed", 0, "seed of the population and the fault schedule (0: random, printed)")
	fs.DurationVar(&opts.Duration, "duration", 0, "bound on the population's run (0: until every story ends)")
	fs.IntVar(&opts.Concurrency, "concurrency", 64, "stories run at once")
	fs.DurationVar(&opts.KillWorkerEvery, "kill-worker-every", 0, "mean pause between worker SIGKILLs (default 4s; negative: none)")
	fs.DurationVar(&opts.KillIngressEvery, "kill-ingress-every", 0, "mean pause between ingress SIGKILLs (default 20s; negative: none)")
	fs.StringVar(&opts.Knockout, "knockout", "", "idempotency mechanism to switch off in the workers, to see the checker fail: operation-records, idempotency-keys or intent (needs bin/connector-knockout: make connector-knockout)")
	fs.DurationVar(&opts.KillNATSEvery, "kill-nats-every", 0, "mean pause between SIGKILLs of a NATS node, each restarted a few seconds later (default 25s; negative: none)")
	fs.DurationVar(&opts.StepDownEvery, "step-down-every", 0, "mean pause between step-downs of a random stream's leader (default 15s; negative: none)")
	binDir := fs.String("bin", "", "directory of connector, connector-dev and nats-server (default: beside this binary)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if *binDir == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		*binDir = filepath.Dir(self)
	}
	bins, err := chaos.BinariesIn(*binDir)
	if err != nil {
		return err
	}
	return chaos.Run(ctx, bins, opts, os.Stdout)
}
