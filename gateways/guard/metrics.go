package guard

import (
	"errors"
	"sync"

	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the guards' collectors, shared by every guard registered on
// the same Registerer (a process running several worker runtimes).
type Metrics struct {
	wait    *prometheus.HistogramVec
	refused *prometheus.CounterVec
	states  *breakerStates
}

// NewMetrics registers the guards' collectors on reg, or finds those
// already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_gateway_rate_wait_seconds",
			Help:    "Time a gateway call waited for its turn under the gateway's rate limit, by gateway.",
			Buckets: []float64{0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 150},
		}, []string{"gateway"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_gateway_breaker_refused_total",
			Help: "Gateway calls an open circuit breaker refused (not sent; retried on the redelivery schedule), by gateway.",
		}, []string{"gateway"}),
		states: &breakerStates{desc: prometheus.NewDesc("connector_gateway_breaker_state",
			"State of the gateway's circuit breaker: 0 closed, 1 half-open (a probe may pass), 2 open (calls refused); the worst of this process's breakers.",
			[]string{"gateway"}, nil)},
	}
	var err1, err2, err3 error
	m.wait, err1 = telemetry.Register(reg, m.wait)
	m.refused, err2 = telemetry.Register(reg, m.refused)
	m.states, err3 = telemetry.Register(reg, m.states)
	return m, errors.Join(err1, err2, err3)
}

// gatewayMetrics are one gateway's children, resolved once.
type gatewayMetrics struct {
	wait    prometheus.Observer
	refused prometheus.Counter
}

// forGateway resolves name's children; with no Metrics they go nowhere.
// The refusal counter exists from the start, so its rate reads 0, not nothing.
func (m *Metrics) forGateway(name string) gatewayMetrics {
	if m == nil {
		return gatewayMetrics{wait: prometheus.NewHistogram(prometheus.HistogramOpts{}), refused: prometheus.NewCounter(prometheus.CounterOpts{})}
	}
	return gatewayMetrics{wait: m.wait.WithLabelValues(name), refused: m.refused.WithLabelValues(name)}
}

// watch adds a breaker to the state gauge.
func (m *Metrics) watch(name string, b *gobreaker.TwoStepCircuitBreaker[struct{}]) {
	if m == nil {
		return
	}
	m.states.add(name, b)
}

// breakerStates reports each gateway's breaker state when scraped. Read at
// scrape time, not kept from state changes: gobreaker moves from open to
// half-open only when asked after the cool-down, which a gauge set on
// changes would miss while no call comes.
type breakerStates struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	by   map[string][]*gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (s *breakerStates) add(name string, b *gobreaker.TwoStepCircuitBreaker[struct{}]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string][]*gobreaker.TwoStepCircuitBreaker[struct{}]{}
	}
	s.by[name] = append(s.by[name], b)
}

func (s *breakerStates) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect reports the worst state of each gateway's breakers in this
// process; gobreaker numbers them closed 0, half-open 1, open 2.
func (s *breakerStates) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, breakers := range s.by {
		worst := gobreaker.StateClosed
		for _, b := range breakers {
			worst = max(worst, b.State())
		}
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(worst), name)
	}
}
