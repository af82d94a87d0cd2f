package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// brokerOptions reads the NATS variables.
func brokerOptions(env *config.Env, name string) broker.Options {
	return broker.Options{
		URL:             env.URL("NATS_URL"),
		StoreDir:        env.String("NATS_STORE_DIR"),
		Replicas:        env.Int("NATS_REPLICAS"),
		DuplicateWindow: env.Duration("NATS_DUPLICATE_WINDOW"),
		Name:            name,
	}
}

// ingressSettings are the ingress variables, read and validated together.
type ingressSettings struct {
	addr     string
	config   ingress.Config
	checkout ingress.CheckoutConfig
}

func readIngressSettings(env *config.Env, log zerolog.Logger, reg *prometheus.Registry) ingressSettings {
	return ingressSettings{
		addr: env.String("INGRESS_ADDR"),
		config: ingress.Config{
			MaxBodyBytes: int64(env.Int("INGRESS_MAX_BODY_BYTES")),
			Logger:       log,
			Registry:     reg,
		},
		checkout: ingress.CheckoutConfig{
			SyncWait:    env.Duration("INGRESS_SYNC_WAIT"),
			CORSOrigins: env.List("CORS_ORIGINS"),
		},
	}
}

// newRegistry is the process's metrics registry, with Go and process metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// buildIngress mounts every ingress route on a broker.
func buildIngress(s ingressSettings, b *broker.Broker) *ingress.Server {
	srv := ingress.New(s.config, b.JS, b.Ready)
	srv.MountCheckout(s.checkout)
	return srv
}

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully.
// ready receives the bound address once listening (nil: ignored).
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
	reg := newRegistry()
	settings := readIngressSettings(env, log, reg)
	opts := brokerOptions(env, "connector-ingress")
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

func closeBroker(log zerolog.Logger, b *broker.Broker) {
	b.Close()
	if b.Server != nil {
		log.Info().Msg("embedded NATS stopped, store closed")
	}
}
