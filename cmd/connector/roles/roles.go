package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/flows"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/cleeng-connector/connector/workers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// IngressSettings are the ingress's parts.
type IngressSettings struct {
	// Addr is the listen address.
	Addr string
	// MetricsAddr, when set, serves /metrics apart from the ingress's routes.
	MetricsAddr string
	Config      ingress.Config
	Checkout    ingress.CheckoutConfig
	Cleeng      ingress.CleengWebhookConfig
	// Adyen is nil when Adyen notifications are not configured.
	Adyen *ingress.AdyenWebhookConfig
	// Cleverbridge is nil when Cleverbridge notifications are not configured.
	Cleverbridge *ingress.CleverbridgeWebhookConfig
	// JWKSURL serves the keys of Cleeng's customer JWTs, which must name
	// Cleeng.PublisherID.
	JWKSURL string
}

// WriteTimeout of the ingress's server: reading the body, storing it and
// waiting for the outcome up to SyncWait, with room to write the answer.
func (s IngressSettings) WriteTimeout() time.Duration {
	return cli.DefaultWriteTimeout + s.Checkout.SyncWait
}

// Ingress mounts every route on b and returns the handler to serve, traced
// (internal/telemetry) but for its probes and metrics. Checkout calls are
// authenticated with customer JWTs verified against the JWKS (kept fresh
// until ctx ends) and answer with the outcome the flows record. The streams'
// fill is reported with its metrics.
func Ingress(ctx context.Context, s IngressSettings, b *broker.Broker) (http.Handler, error) {
	log := s.Config.Logger
	customers, err := cleeng.NewCustomerVerifier(ctx, cleeng.CustomerVerifierConfig{
		JWKSURL: s.JWKSURL, PublisherID: cleeng.ID(s.Cleeng.PublisherID),
		OnRefreshError: func(err error) { log.Warn().Err(err).Msg("customer tokens: JWKS not fetched") },
	})
	if err != nil {
		return nil, err
	}
	s.Config.MetricsElsewhere = s.MetricsAddr != ""
	if s.Config.Registry == nil {
		s.Config.Registry = prometheus.NewRegistry()
	}
	s.Config.Registry.MustRegister(b.StreamMetrics())
	srv := ingress.New(s.Config, b.JS, b.Ready)
	s.Checkout.Customers = customers
	s.Checkout.Outcomes = flows.NewOutcomes(ops.NewStore(b.Ops), b.Ops)
	srv.MountCheckout(s.Checkout)
	srv.MountCleeng(s.Cleeng)
	if s.Adyen != nil {
		srv.MountAdyen(*s.Adyen)
	}
	if s.Cleverbridge != nil {
		srv.MountCleverbridge(*s.Cleverbridge)
	}
	return telemetry.Handler(srv.Handler(), "/healthz", "/readyz", "/metrics"), nil
}

// WorkerSettings are the worker's parts.
type WorkerSettings struct {
	// Flows to run; empty runs all.
	Flows   []string
	Runtime workers.Config
	Cleeng  cleeng.Config
	// Adyen and Cleverbridge are nil when not configured.
	Adyen        *adyen.Config
	Cleverbridge *cleverbridge.Config
	// Methods maps Cleeng paymentMethodIds to gateway names.
	Methods map[string]string
	Options flows.Options
	// Guards are each gateway's limits (by gateway name) for the whole
	// deployment; this worker takes its share (guard.Limits.Share). A
	// gateway without an entry is neither paced nor ever paused.
	Guards map[string]guard.Limits
	// Replicas is the number of worker replicas sharing the Guards' rates.
	// Default 1.
	Replicas int
}

// Worker is a worker's flows on their runtime, and the queries it answers.
type Worker struct {
	runtime *workers.Runtime
	flows   []workers.Flow
	answers func(ctx context.Context) error
}

// Flows is how many flows the worker runs.
func (w *Worker) Flows() int { return len(w.flows) }

// Run runs the flows and answers the queries until ctx ends, then drains.
func (w *Worker) Run(ctx context.Context) error {
	queries, stop := context.WithCancel(ctx)
	answered := make(chan error, 1)
	go func() { answered <- w.answers(queries) }()
	err := w.runtime.Run(ctx, w.flows...)
	stop()
	return errors.Join(err, <-answered)
}

// NewWorker wires the flows to their gateways, Cleeng and the operation
// store, and the payment-methods query to the flows.
func NewWorker(s WorkerSettings, b *broker.Broker, log zerolog.Logger) (*Worker, error) {
	rt, defs, f, err := worker(s, b, log)
	if err != nil {
		return nil, err
	}
	answers := func(ctx context.Context) error {
		return workers.Answer(ctx, b.Conn, messages.SubjectQueryPaymentMethods, messages.QueryWorkers, s.Runtime.Concurrency,
			func(ctx context.Context, request []byte) []byte {
				var q messages.PaymentMethodsQuery
				answer := messages.PaymentMethodsAnswer{Code: messages.QueryNotPossible, Error: "malformed query"}
				if json.Unmarshal(request, &q) == nil {
					answer = f.PaymentMethods(ctx, q)
				}
				out, _ := json.Marshal(answer) // plain data always encodes
				return out
			})
	}
	return &Worker{runtime: rt, flows: defs, answers: answers}, nil
}

func worker(s WorkerSettings, b *broker.Broker, log zerolog.Logger) (*workers.Runtime, []workers.Flow, *flows.Flows, error) {
	client, err := cleeng.NewClient(s.Cleeng)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cleeng client: %w", err)
	}
	var gws []gateways.Gateway
	decoders := map[string]flows.EventDecoder{}
	if s.Adyen != nil {
		g, err := adyen.New(*s.Adyen)
		if err != nil {
			return nil, nil, nil, err
		}
		gws = append(gws, g)
		decoders[adyen.Name] = adyen.DecodeEvent
	}
	if s.Cleverbridge != nil {
		g, err := cleverbridge.New(*s.Cleverbridge)
		if err != nil {
			return nil, nil, nil, err
		}
		gws = append(gws, g)
		decoders[cleverbridge.Name] = cleverbridge.DecodeEvent
	}
	if gws, err = guarded(s, gws, log); err != nil {
		return nil, nil, nil, err
	}
	router, err := flows.NewRouter(s.Methods, gws...)
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := workers.New(b.JS, s.Runtime)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := registerQueueMetrics(s.Runtime.Metrics, b); err != nil {
		return nil, nil, nil, err
	}
	opts := s.Options
	opts.EventDecoders = decoders
	opts.Metrics = s.Runtime.Metrics
	// Claims last as long as the runtime keeps their message: renewed with
	// its heartbeat, run out when the worker dies and the message returns.
	stores := flows.Stores{Operations: ops.NewStore(b.Ops, ops.WithLease(rt.ClaimLease())), PaymentIndex: ops.NewStore(b.Index)}
	f := flows.New(client, router, stores, log, opts)
	defs, err := f.Definitions(s.Flows...)
	if err != nil {
		return nil, nil, nil, err
	}
	return rt, defs, f, nil
}

// guarded wraps each gateway in its guard (gateways/guard), with this
// replica's share of the gateway's limits: every call the flows make to a
// gateway waits for its turn and passes its circuit breaker.
func guarded(s WorkerSettings, gws []gateways.Gateway, log zerolog.Logger) ([]gateways.Gateway, error) {
	var metrics *guard.Metrics
	if s.Runtime.Metrics != nil {
		var err error
		if metrics, err = guard.NewMetrics(s.Runtime.Metrics); err != nil {
			return nil, fmt.Errorf("gateway guard metrics: %w", err)
		}
	}
	out := make([]gateways.Gateway, len(gws))
	for i, gw := range gws {
		g, err := guard.New(gw.Name(), s.Guards[gw.Name()].Share(s.Replicas), metrics, log)
		if err != nil {
			return nil, err
		}
		out[i] = guard.Wrap(gw, g)
	}
	return out, nil
}

// queueMetricsTimeout bounds the JetStream calls of one scrape.
const queueMetricsTimeout = 5 * time.Second

// registerQueueMetrics adds the JetStream collector (dead letters, consumer
// lag, oldest unfinished message) to reg, once: a restarted worker in the
// same process finds it there.
func registerQueueMetrics(reg prometheus.Registerer, b *broker.Broker) error {
	if reg == nil {
		return nil
	}
	err := reg.Register(broker.NewCollector(b.JS, queueMetricsTimeout))
	if err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return err
	}
	return nil
}

// Probes serves a worker's /healthz, /readyz (NATS reachable, streams
// present) and, unless reg is nil (served elsewhere: Metrics), /metrics.
func Probes(reg *prometheus.Registry, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	if reg != nil {
		mux.Handle("GET /metrics", Metrics(reg))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// Metrics serves GET /metrics of reg: on a role's own address, or on
// METRICS_ADDR apart from it.
func Metrics(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
