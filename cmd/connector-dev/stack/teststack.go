package stack

import (
	"context"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/workers"
)

// StartSeeded starts a dev stack for a test: its own store, free loopback
// ports, retries within milliseconds, the demo offer and customer seeded.
// It closes when the test ends.
func StartSeeded(t testing.TB) *Dev {
	t.Helper()
	dev, err := StartDev(context.Background(), DevOptions{
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0",
		Runtime: workers.Config{Schedule: []time.Duration{20 * time.Millisecond, 100 * time.Millisecond}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	if err := SeedDemo(dev.Sandboxes); err != nil {
		t.Fatal(err)
	}
	return dev
}
