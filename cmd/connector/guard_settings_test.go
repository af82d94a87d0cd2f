package main

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/workers"
)

// workerWithBothGateways configures a worker calling Adyen and Cleverbridge.
func workerWithBothGateways() map[string]string {
	return map[string]string{
		"CLEENG_PUBLISHER_TOKEN": "token", "PAYMENT_METHODS": "1=adyen,2=cleverbridge",
		"ADYEN_API_KEY": "key", "ADYEN_MERCHANT_ACCOUNT": "Merchant", "ADYEN_RETURN_URL": "https://shop.example/return",
		"CLEVERBRIDGE_API_URL": "https://rest.cleverbridge.example", "CLEVERBRIDGE_USERNAME": "u",
		"CLEVERBRIDGE_PASSWORD": "p", "CLEVERBRIDGE_PRODUCT_ID": "242233",
	}
}

// TestWorker_GatewayLimitsReadAndCheckedAtStart: each gateway's rate limit,
// burst and breaker are read for the whole deployment (the defaults keep
// Cleverbridge conservative), and a start is refused, naming the variable,
// when a value is malformed or when a call could wait for its turn past
// half the handler timeout.
func TestWorker_GatewayLimitsReadAndCheckedAtStart(t *testing.T) {
	t.Parallel()
	env := config.FromMap(workerWithBothGateways())
	s := readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
	if err := env.Err(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	if a, c := s.Guards[adyen.Name], s.Guards[cleverbridge.Name]; a.Rate != 100 || a.Burst != 20 || c.Rate != rate.Limit(5) || c.Burst != 1 ||
		c.Failures != 5 || c.Cooldown.String() != "30s" || s.Replicas != 1 {
		t.Fatalf("defaults: adyen %+v, cleverbridge %+v, replicas %d", a, c, s.Replicas)
	}
	tests := []struct {
		name   string
		change map[string]string
		want   []string // variables the error names; none: it starts
	}{
		{"a rate that is no number", map[string]string{"ADYEN_RATE_LIMIT": "fast"}, []string{"ADYEN_RATE_LIMIT"}},
		{"a negative rate", map[string]string{"CLEVERBRIDGE_RATE_LIMIT": "-1"}, []string{"CLEVERBRIDGE_RATE_LIMIT"}},
		{"no burst", map[string]string{"ADYEN_RATE_BURST": "0"}, []string{"ADYEN_RATE_BURST"}},
		{"a cool-down that is no duration", map[string]string{"CLEVERBRIDGE_BREAKER_COOLDOWN": "soon"}, []string{"CLEVERBRIDGE_BREAKER_COOLDOWN"}},
		{"no replicas", map[string]string{"WORKER_REPLICAS": "0"}, []string{"WORKER_REPLICAS"}},
		{"a fractional rate", map[string]string{"CLEVERBRIDGE_RATE_LIMIT": "4.5"}, nil},
		{"three replicas each too slow for their handlers", map[string]string{"WORKER_REPLICAS": "3"},
			[]string{"CLEVERBRIDGE_RATE_LIMIT", "WORKER_REPLICAS", "WORKER_CONCURRENCY"}},
		{"three replicas with fewer handlers", map[string]string{"WORKER_REPLICAS": "3", "WORKER_CONCURRENCY": "16"}, nil},
		{"three replicas running only the renewals", map[string]string{"WORKER_REPLICAS": "3", "WORKER_FLOWS": "authorise,capture"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := workerWithBothGateways()
			for k, v := range tt.change {
				vars[k] = v
			}
			env := config.FromMap(vars)
			readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
			startsOrNames(t, env.Err(), tt.want)
		})
	}
}

// TestWorker_RetryScheduleReadAndChecked: WORKER_RETRY_SCHEDULE defaults to
// the runtime's own schedule, and a malformed one is refused by name.
func TestWorker_RetryScheduleReadAndChecked(t *testing.T) {
	t.Parallel()
	env := config.FromMap(workerWithBothGateways())
	s := readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
	if err := env.Err(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	if !slices.Equal(s.Runtime.Schedule, workers.DefaultSchedule) {
		t.Fatalf("default schedule %v, want the runtime's %v", s.Runtime.Schedule, workers.DefaultSchedule)
	}
	for _, bad := range []string{"1s,soon", "0s", " , "} {
		vars := workerWithBothGateways()
		vars["WORKER_RETRY_SCHEDULE"] = bad
		env := config.FromMap(vars)
		readWorkerSettings(env, zerolog.Nop(), prometheus.NewRegistry())
		startsOrNames(t, env.Err(), []string{"WORKER_RETRY_SCHEDULE"})
	}
}
