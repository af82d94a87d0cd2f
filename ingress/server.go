package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/telemetry"
)

// HeaderReceived is the RFC 3339 receive time every stored message carries
// besides Nats-Msg-Id (and, when tracing is on, the request's W3C trace
// context: traceparent).
const HeaderReceived = "Connector-Received"

// Config of the ingress.
type Config struct {
	// MaxBodyBytes bounds every request body; larger ones get 413. Default 64 KiB.
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for the JetStream ack; past it the
	// request answers 503 so the sender re-sends. Default 5s.
	PublishTimeout time.Duration
	Logger         zerolog.Logger
	// Registry receives the ingress metrics and serves /metrics. Nil: a private registry.
	Registry *prometheus.Registry
	// MetricsElsewhere leaves /metrics out of the ingress's routes: the
	// process serves it on an address of its own (METRICS_ADDR).
	MetricsElsewhere bool
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// Server is the ingress HTTP handler set.
type Server struct {
	cfg   Config
	js    jetstream.JetStream
	ready func(context.Context) error
	mux   *http.ServeMux

	requests *prometheus.CounterVec
}

// New builds the ingress on a JetStream handle. ready reports whether
// NATS is reachable and the streams exist (broker.Broker.Ready).
func New(cfg Config, js jetstream.JetStream, ready func(context.Context) error) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, js: js, ready: ready, mux: http.NewServeMux()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connector_ingress_requests_total",
		Help: "Ingress requests by route and status code.",
	}, []string{"route", "code"})
	cfg.Registry.MustRegister(s.requests)

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if !cfg.MetricsElsewhere {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	}
	return s
}

// Handle registers a route; every route gets the body limit and is counted.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

// Handler returns the ingress as one http.Handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	})
}

// Publish stores body on subject with the given de-duplication id and
// returns only after JetStream acknowledged it. duplicate reports that
// JetStream already held a message with that id (a re-sent copy).
func (s *Server) Publish(ctx context.Context, subject, msgID string, body []byte) (duplicate bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(HeaderReceived, time.Now().UTC().Format(time.RFC3339Nano))
	telemetry.Inject(ctx, msg.Header)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return false, err
	}
	return ack.Duplicate, nil
}

// publishOr503 publishes and, when JetStream cannot store, answers 503 and
// returns false: the sender re-sends, and the id drops any copy that was
// stored after all.
func (s *Server) publishOr503(w http.ResponseWriter, r *http.Request, subject, msgID string, body []byte) bool {
	if _, err := s.Publish(r.Context(), subject, msgID, body); err != nil {
		s.cfg.Logger.Warn().Err(err).Str("subject", subject).Msg("store failed; answered 503")
		writeError(w, http.StatusServiceUnavailable, "cannot store the request now; retry", "")
		return false
	}
	return true
}

// readBody reads the whole (size-limited) body, answering 413 or 400 itself.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(tooLarge.Limit, 10)+" bytes", "")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error(), "")
		return nil, false
	}
	return body, true
}

// apiError is the JSON error body of every 4xx and 5xx: a stable code a
// caller can branch on, a short message and the field at fault.
type apiError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, apiError{Code: errorCode(status), Error: msg, Field: field})
}

// writeCodedError answers an error whose code says more than its status.
func writeCodedError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
