package chaos

import (
	"debug/buildinfo"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cleeng-connector/connector/internal/knockout"
)

// knockoutBinary is the connector built with -tags knockout, beside the
// others: what the workers of a --knockout run start (internal/knockout).
const knockoutBinary = "connector-knockout"

// buildKnockout is how it is built, for the error when it is missing.
const buildKnockout = "make connector-knockout (go build -tags knockout -o bin/connector-knockout ./cmd/connector)"

// knockout returns b with the workers on the knockout build beside
// b.Connector and mechanism switched off in them, so the run shows the
// checker failing without it (issue 11). The ingresses keep the
// production binary.
func (b Binaries) knockout(mechanism string) (Binaries, error) {
	if !slices.Contains(knockout.Mechanisms, knockout.Mechanism(mechanism)) {
		return b, fmt.Errorf("chaos --knockout %q: no such mechanism (one of %v)", mechanism, knockout.Mechanisms)
	}
	path := filepath.Join(filepath.Dir(b.Connector), knockoutBinary)
	tagged, err := builtWithKnockout(path)
	if err != nil {
		return b, fmt.Errorf("chaos --knockout needs %s: %w; build it with %s", path, err, buildKnockout)
	}
	if !tagged {
		return b, fmt.Errorf("chaos --knockout: %s was built without -tags knockout, so nothing would be switched off; build it with %s", path, buildKnockout)
	}
	b.Worker, b.WorkerEnv = path, []string{knockout.Env + "=" + mechanism}
	return b, nil
}

// builtWithKnockout reports whether the Go binary at path was built with
// the knockout tag, from the build settings Go records in it.
func builtWithKnockout(path string) (bool, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false, err
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "knockout") {
			return true, nil
		}
	}
	return false, nil
}
