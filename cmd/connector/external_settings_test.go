package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/config"
)

// TestWorker_ExternallyManagedMethodsMustBeRouted: EXTERNALLY_MANAGED_METHODS
// reaches the flows, and an id PAYMENT_METHODS does not route refuses the
// start naming the variable and the id.
func TestWorker_ExternallyManagedMethodsMustBeRouted(t *testing.T) {
	t.Parallel()
	vars := workerWithBothGateways()
	vars["EXTERNALLY_MANAGED_METHODS"] = "2"
	env := config.FromMap(vars)
	s := readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
	if err := env.Err(); err != nil || !slices.Equal(s.Options.ExternallyManagedMethods, []string{"2"}) {
		t.Fatalf("methods %v, error %v", s.Options.ExternallyManagedMethods, err)
	}
	vars["EXTERNALLY_MANAGED_METHODS"] = "2,9"
	env = config.FromMap(vars)
	readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "EXTERNALLY_MANAGED_METHODS") || !strings.Contains(err.Error(), "9") {
		t.Fatalf("an unrouted id: error %v, want one naming EXTERNALLY_MANAGED_METHODS and 9", err)
	}
}
