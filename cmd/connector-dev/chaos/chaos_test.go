package chaos

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/containertest"
)

// TestChaos_ShortRunChargesOnceUnderFaultsAndKilledWorkers is the short
// run of `make chaos` inside `make test`: a few hundred subscriptions
// through every story, the sandboxes' faults, late and duplicated
// webhooks, at least two workers and two NATS nodes SIGKILLed and
// restarted, on the 3-node JetStream cluster; the table must show no
// violation. It runs the binaries `make test` built
// (CONTAINERTEST_BIN_DIR) and skips without them.
func TestChaos_ShortRunChargesOnceUnderFaultsAndKilledWorkers(t *testing.T) {
	dir := os.Getenv(containertest.BinDirEnv)
	if dir == "" {
		t.Skipf("%s unset: make test builds the binaries this run starts", containertest.BinDirEnv)
	}
	bins, err := BinariesIn(dir)
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = Run(ctx, bins, Options{
		Subscriptions: 150, Concurrency: 32,
		KillWorkerEvery: 2 * time.Second, MinWorkerKills: 2, MaxWorkerKills: 2, KillIngressEvery: -1,
		// Nodes of the 3-node cluster SIGKILLed and restarted, twice at
		// least, and stream leaders stepped down (the defaults).
		KillNATSEvery: 8 * time.Second, MinNATSKills: 2,
		Progress: time.Minute,
	}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
}
