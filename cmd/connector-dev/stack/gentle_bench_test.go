package stack_test

import (
	"flag"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// BenchmarkRenewals_GatewayLimitedTo20PerSecond: 1,000 capture-only
// renewals through the real workers (default concurrency) against Adyen
// limited to 20 calls/s, burst 1. It reports the calls/s achieved (the
// renewal charges over the time from the first webhook to the last payment
// Cleeng records) and their ratio to the limit, which should be 1 ± 10 %,
// and fails on any charge missing or repeated and on any dead letter. It
// takes about 50 s a run, so it runs only when -bench names it
// (-bench GatewayLimited), not under `make bench`'s -bench . .
func BenchmarkRenewals_GatewayLimitedTo20PerSecond(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "GatewayLimited") {
		b.Skip("takes about 50 s: run it with -bench GatewayLimited")
	}
	const perRun, limit = 1000, 20
	r := newRenewals(b, perRun*b.N, 0, 0, func(o *stack.DevOptions) {
		o.Guards = map[string]guard.Limits{adyen.Name: {Rate: rate.Limit(limit), Burst: 1}}
	})
	b.ResetTimer()
	b.StartTimer()
	r.sendCaptures(r.subs)
	r.waitCaptured(len(r.subs))
	b.StopTimer()
	perSecond := float64(len(r.subs)) / b.Elapsed().Seconds()
	b.ReportMetric(perSecond, "calls/s")
	b.ReportMetric(perSecond/limit, "ratio-to-limit")
	r.assertChargedOnce(len(r.subs))
	if n := testkit.StreamMsgs(b, r.dev.Broker.JS, broker.DLQStream); n != 0 {
		b.Fatalf("%d dead letters, want none", n)
	}
}
