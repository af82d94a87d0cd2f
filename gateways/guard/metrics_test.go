package guard_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series returns the series of family name labelled gateway=gateway.
func series(t *testing.T, reg *prometheus.Registry, name, gateway string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "gateway" && l.GetValue() == gateway {
					return m
				}
			}
		}
	}
	t.Fatalf("no series %s{gateway=%q}", name, gateway)
	return nil
}

func gauge(t *testing.T, reg *prometheus.Registry, name, gateway string) float64 {
	return series(t, reg, name, gateway).GetGauge().GetValue()
}

func counter(t *testing.T, reg *prometheus.Registry, name, gateway string) float64 {
	return series(t, reg, name, gateway).GetCounter().GetValue()
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, gateway string) uint64 {
	return series(t, reg, name, gateway).GetHistogram().GetSampleCount()
}
