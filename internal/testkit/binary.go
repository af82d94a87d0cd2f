package testkit

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// builds are the executables built in this test binary's run, by package.
var builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
}

// Binary builds the main package pkg (an import path) once per run of the
// test binary and returns the executable. It is built as `go test` builds
// (no -trimpath, the same build cache), so only the link is new work.
// RemoveBinaries, called from TestMain, deletes what was built.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "testkit-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		builds.dir, builds.bins = dir, map[string]string{}
	}
	bin := filepath.Join(builds.dir, path.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	builds.bins[pkg] = bin
	return bin
}

// RemoveBinaries deletes the executables Binary built.
func RemoveBinaries() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
		builds.dir, builds.bins = "", nil
	}
}
