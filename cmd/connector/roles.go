package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/stack"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// newRegistry is the process's metrics registry, with Go and process metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, log zerolog.Logger, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msgf("%s listening", name)
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	return nil
}

func runIngress(ctx context.Context, env *config.Env, args []string) error {
	if err := parseFlags(newFlagSet("ingress"), args); err != nil {
		return err
	}
	log := newLogger(env)
	settings := readIngressSettings(env, log, newRegistry())
	return runOnBroker(ctx, env, log, brokerOptions(env, "connector-ingress"), func(b *broker.Broker) error {
		return serveHTTP(ctx, log, "ingress", settings.Addr, stack.Ingress(settings, b).Handler())
	})
}

func runWorker(ctx context.Context, env *config.Env, args []string) error {
	fs := newFlagSet("worker")
	flowList := fs.String("flows", "", "comma-separated flows to run (default: WORKER_FLOWS, else all): "+strings.Join(flows.Names, ", "))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(env)
	reg := newRegistry()
	settings := readWorkerSettings(env, log, reg)
	if *flowList != "" {
		settings.Flows = strings.Split(*flowList, ",")
	}
	addr := env.String("WORKER_ADDR")
	return runOnBroker(ctx, env, log, brokerOptions(env, "connector-worker"), func(b *broker.Broker) error {
		rt, defs, err := stack.Worker(settings, b, log)
		if err != nil {
			return err
		}
		probeCtx, stopProbe := context.WithCancel(context.Background())
		defer stopProbe()
		go func() {
			if err := serveHTTP(probeCtx, log, "worker probes", addr, stack.Probes(reg, b.Ready)); err != nil {
				log.Error().Err(err).Msg("worker probes not served")
			}
		}()
		log.Info().Int("flows", len(defs)).Msg("worker running")
		return rt.Run(ctx, defs...)
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
