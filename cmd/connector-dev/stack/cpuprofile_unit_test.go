package stack_test

import (
	"bytes"
	"runtime/pprof"
	"testing"
	"time"
)

// TestChargeProfile profiles this process spinning in burn and finds the
// spin's CPU in the profile, charged to the owner its stack names.
func TestChargeProfile(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("a CPU profile is running already:", err)
	}
	spun := burn(300 * time.Millisecond)
	pprof.StopCPUProfile()
	byOwner := map[string]int64{}
	if err := chargeProfile(buf.Bytes(), byOwner); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, ns := range byOwner {
		total += ns
	}
	// burn is this package's code, which no owner names: the rest.
	if rest := byOwner[owners[len(owners)-1].name]; total == 0 || rest < total/2 {
		t.Errorf("%d ns of %d profiled charged to the rest (%d spins), want most: %v", rest, total, spun, byOwner)
	}
}

func burn(d time.Duration) (spins int) {
	for end := time.Now().Add(d); time.Now().Before(end); spins++ {
	}
	return spins
}

func TestOwnerOf(t *testing.T) {
	for _, c := range []struct {
		stack []string
		want  string
	}{
		// A KV write publishes: it is KV's.
		{[]string{"github.com/nats-io/nats.go/jetstream.(*jetStream).PublishMsg", "github.com/nats-io/nats.go/jetstream.(*kvs).Update", "github.com/cleeng-connector/connector/flows.(*Flows).Capture"},
			"client: KV reads and writes (operation records)"},
		{[]string{"runtime.gcAssistAlloc", "github.com/cleeng-connector/connector/ingress.(*Server).Publish"}, "garbage collection"},
		{[]string{"net/http.(*persistConn).readLoop"}, "HTTP client connections (Cleeng, Adyen: reading, writing, dialling)"},
		{[]string{"runtime.findRunnable", "runtime.schedule"}, "scheduler, network poller and the rest"},
	} {
		if got := ownerOf(c.stack); got != c.want {
			t.Errorf("ownerOf(%v) = %q, want %q", c.stack, got, c.want)
		}
	}
}
