package containertest

import (
	"bytes"
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// TestMain adjusts two testcontainers defaults, unless set explicitly:
//   - Ryuk, its reaper, is off: its image must be pulled, which an offline
//     machine cannot do, and every test removes its containers and network
//     itself (`make test` exports the same);
//   - published ports are on localhost when the Docker engine's bridge is in
//     this network namespace: inside a container (/.dockerenv) testcontainers
//     otherwise guesses the default gateway, which is not the engine's host
//     when the engine runs beside the tests.
func TestMain(m *testing.M) {
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if _, set := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !set {
		if _, err := net.InterfaceByName("docker0"); err == nil {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
		}
	}
	os.Exit(m.Run())
}

var (
	buildOnce sync.Once
	buildErr  error
	buildLog  bytes.Buffer
)

// setup skips without Docker (or with -short) and builds the images once
// per run. Neither the build nor the test has a deadline of its own: a slow
// machine only makes them longer (go test -timeout bounds the run); every
// wait on a container has its own (startupTimeout, eventually).
func setup(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("container tests build images and start containers")
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	buildOnce.Do(func() {
		started := time.Now()
		buildErr = BuildImages(t.Context(), &buildLog)
		t.Logf("images built in %s", time.Since(started).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("building images: %v\n%s", buildErr, buildLog.String())
	}
	return t.Context()
}

// eventually calls f until it returns nil, failing t with f's last error
// when ctx ends or a minute passes.
func eventually(ctx context.Context, t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-tick.C:
		}
	}
}
