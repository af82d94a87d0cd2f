package chaos

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/internal/containertest"
	"github.com/cleeng-connector/connector/internal/knockout"
)

// TestKnockout_WithoutItsBuildTheRunRefusesNamingTheBuild: --knockout with
// no bin/connector-knockout, or with one built without the tag (here the
// test binary itself), stops before starting anything and names the make
// target that builds it.
func TestKnockout_WithoutItsBuildTheRunRefusesNamingTheBuild(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T, dir string){
		"missing": func(*testing.T, string) {},
		"untagged": func(t *testing.T, dir string) {
			self, err := os.ReadFile(os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, knockoutBinary), self, 0o755); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			setup(t, dir)
			var out bytes.Buffer
			err := Run(context.Background(), Binaries{Connector: filepath.Join(dir, "connector")}, Options{Knockout: string(knockout.Intent)}, &out)
			if err == nil || !strings.Contains(err.Error(), "make connector-knockout") {
				t.Fatalf("Run = %v, want an error naming make connector-knockout", err)
			}
			if out.Len() > 0 {
				t.Errorf("Run printed %q before refusing", out.String())
			}
		})
	}
	_, err := Binaries{}.knockout("everything")
	if err == nil || !strings.Contains(err.Error(), string(knockout.OperationRecords)) {
		t.Errorf("knockout(everything) = %v, want an error listing the mechanisms", err)
	}
}

// TestKnockout_ProductionBinaryHasNoSwitch: bin/connector, as make builds
// it, was built without the knockout tag and does not even hold the name
// of the variable that would switch a mechanism off. It reads the binary
// `make test` built (CONTAINERTEST_BIN_DIR) and skips without it.
func TestKnockout_ProductionBinaryHasNoSwitch(t *testing.T) {
	dir := os.Getenv(containertest.BinDirEnv)
	if dir == "" {
		t.Skipf("%s unset: make test builds bin/connector", containertest.BinDirEnv)
	}
	path := filepath.Join(dir, "connector")
	tagged, err := builtWithKnockout(path)
	if err != nil {
		t.Skip(err)
	}
	if tagged {
		t.Errorf("%s was built with -tags knockout", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(knockout.Env)) {
		t.Errorf("%s holds %s: a knockout switch is compiled in", path, knockout.Env)
	}
}
