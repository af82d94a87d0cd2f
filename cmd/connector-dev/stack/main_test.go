package stack_test

import (
	"os"
	"testing"

	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestMain deletes the executables the benchmarks built (testkit.Binary).
func TestMain(m *testing.M) {
	code := m.Run()
	testkit.RemoveBinaries()
	os.Exit(code)
}
