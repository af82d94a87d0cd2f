package flows

import (
	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// eventMetrics count the gateway events an operator must act on.
type eventMetrics struct {
	forOperatorVec *prometheus.CounterVec
}

// newEventMetrics registers the counters on reg (nil: counted, not
// exported). A worker restarted in the same process finds them there.
// Every decideOperator row's series is created at zero, so an alert's
// increase() sees the first event too.
func newEventMetrics(reg prometheus.Registerer) *eventMetrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connector_gateway_events_for_operator_total",
		Help: "Gateway events recorded for an operator because Cleeng cannot say them (a refund or chargeback undone), by gateway and event code; once per event.",
	}, []string{"gateway", "event"})
	if reg != nil {
		var err error
		if vec, err = telemetry.Register(reg, vec); err != nil {
			panic(err) // a second collector of the same name with other labels: a programming error
		}
	}
	m := &eventMetrics{forOperatorVec: vec}
	for _, row := range eventTable {
		if row.Decision == decideOperator {
			m.forOperator(row.Gateway, row.Code)
		}
	}
	return m
}

func (m *eventMetrics) forOperator(gateway, code string) prometheus.Counter {
	return m.forOperatorVec.WithLabelValues(gateway, code)
}
