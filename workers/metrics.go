package workers

import (
	"errors"

	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the runtime's collectors, shared by Runtimes registered on the
// same Registerer.
type metrics struct {
	messages *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_worker_messages_total",
			Help: "Messages handled by the worker runtime, by flow and outcome.",
		}, []string{"flow", "outcome"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connector_worker_in_flight",
			Help: "Handlers running now, by flow.",
		}, []string{"flow"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connector_worker_handler_duration_seconds",
			Help:    "Time spent in flow handlers, by flow.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms .. ~4.4min
		}, []string{"flow"}),
	}
	if reg == nil {
		return m, nil
	}
	var err1, err2, err3 error
	m.messages, err1 = telemetry.Register(reg, m.messages)
	m.inFlight, err2 = telemetry.Register(reg, m.inFlight)
	m.duration, err3 = telemetry.Register(reg, m.duration)
	return m, errors.Join(err1, err2, err3)
}

// flowMetrics are one flow's children, resolved once.
type flowMetrics struct {
	outcome  map[string]prometheus.Counter
	inFlight prometheus.Gauge
	duration prometheus.Observer
}

func (m *metrics) forFlow(flow string) flowMetrics {
	fm := flowMetrics{
		outcome:  make(map[string]prometheus.Counter, len(outcomes)),
		inFlight: m.inFlight.WithLabelValues(flow),
		duration: m.duration.WithLabelValues(flow),
	}
	for _, o := range outcomes {
		fm.outcome[o] = m.messages.WithLabelValues(flow, o)
	}
	return fm
}
