package main

import (
	"context"
	"strings"

	"github.com/cleeng-connector/connector/cmd/connector/console"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/rs/zerolog"
)

func runIngress(ctx context.Context, env *config.Env, args []string) error {
	if err := cli.ParseFlags(cli.NewFlagSet("ingress"), args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	reg := cli.NewRegistry()
	settings := readIngressSettings(env, log, reg)
	flush, err := cli.StartTracing(ctx, log, "connector-ingress")
	if err != nil {
		return err
	}
	defer flush()
	return runOnBroker(ctx, env, log, cli.BrokerOptions(env, config.RoleIngress), func(b *broker.Broker) error {
		handler, err := roles.Ingress(ctx, settings, b)
		if err != nil {
			return err
		}
		sites := []cli.Site{{Name: "ingress", Addr: settings.Addr, Handler: handler, WriteTimeout: settings.WriteTimeout()}}
		if settings.MetricsAddr != "" {
			sites = append(sites, cli.Site{Name: "metrics", Addr: settings.MetricsAddr, Handler: roles.Metrics(reg)})
		}
		return cli.ServeHTTP(ctx, log, sites...)
	})
}

func runWorker(ctx context.Context, env *config.Env, args []string) error {
	fs := cli.NewFlagSet("worker")
	flowList := fs.String("flows", "", "comma-separated flows to run (default: WORKER_FLOWS, else all): "+strings.Join(flows.Names, ", "))
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	reg := cli.NewRegistry()
	settings := readWorkerSettings(env, log, reg)
	if *flowList != "" {
		settings.Flows = strings.Split(*flowList, ",")
	}
	flush, err := cli.StartTracing(ctx, log, "connector-worker")
	if err != nil {
		return err
	}
	defer flush()
	addr, metricsAddr := env.String("WORKER_ADDR"), env.String("METRICS_ADDR")
	return runOnBroker(ctx, env, log, cli.BrokerOptions(env, config.RoleWorker), func(b *broker.Broker) error {
		w, err := roles.NewWorker(settings, b, log)
		if err != nil {
			return err
		}
		reg.MustRegister(b.StreamMetrics())
		sites := []cli.Site{{Name: "worker probes", Addr: addr, Handler: roles.Probes(reg, b.Ready)}}
		if metricsAddr != "" {
			sites = []cli.Site{
				{Name: "worker probes", Addr: addr, Handler: roles.Probes(nil, b.Ready)},
				{Name: "metrics", Addr: metricsAddr, Handler: roles.Metrics(reg)},
			}
		}
		probeCtx, stopProbe := context.WithCancel(context.Background())
		defer stopProbe()
		go func() {
			if err := cli.ServeHTTP(probeCtx, log, sites...); err != nil {
				log.Error().Err(err).Msg("worker probes not served")
			}
		}()
		log.Info().Int("flows", w.Flows()).Msg("worker running")
		return w.Run(ctx)
	})
}

// runOnBroker opens the broker opts describes, once every variable read from
// env is valid, runs f on it and closes it.
func runOnBroker(ctx context.Context, env *config.Env, log zerolog.Logger, opts broker.Options, f func(*broker.Broker) error) error {
	if err := env.Err(); err != nil {
		return err
	}
	b, err := broker.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer closeBroker(log, b)
	return f(b)
}

func closeBroker(log zerolog.Logger, b *broker.Broker) {
	b.Close()
	if b.Server != nil {
		log.Info().Msg("embedded NATS stopped, store closed")
	}
}

// runConsole serves the operator console, bound to the streams and buckets
// as they are (it changes no settings). It refuses to start without
// credentials or on an address other than loopback.
func runConsole(ctx context.Context, env *config.Env, args []string) error {
	if err := cli.ParseFlags(cli.NewFlagSet("console"), args); err != nil {
		return err
	}
	log := cli.NewLogger(env)
	addr := env.String("CONSOLE_ADDR")
	if err := console.CheckAddr(addr); err != nil {
		env.Check("CONSOLE_ADDR", false, "%v", err)
	}
	user, password := env.String("CONSOLE_USER"), env.String("CONSOLE_PASSWORD")
	env.Check("CONSOLE_USER", user != "", "required: the console's HTTP Basic user")
	env.Check("CONSOLE_PASSWORD", len(password) >= console.MinPasswordLength, "required, at least %d characters", console.MinPasswordLength)
	opts := cli.BrokerOptions(env, config.RoleConsole)
	opts.Existing = true
	return runOnBroker(ctx, env, log, opts, func(b *broker.Broker) error {
		c, err := console.New(console.Config{User: user, Password: password, Broker: b, Logger: log})
		if err != nil {
			return err
		}
		return cli.ServeHTTP(ctx, log, cli.Site{Name: "console", Addr: addr, Handler: c.Handler()})
	})
}
