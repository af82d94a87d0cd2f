package stack_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestMain deletes the executables the benchmarks built (testkit.Binary),
// or runs a benchmark's worker process when this binary was started as one.
func TestMain(m *testing.M) {
	if os.Getenv(envConnectorProcess) != "" {
		if err := runConnectorProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "connector process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envWorkerProcess) != "" {
		if err := runWorkerProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "worker process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	testkit.RemoveBinaries()
	os.Exit(code)
}
