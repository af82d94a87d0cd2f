package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependenciesPointOneWay: the edges (cmd, ingress) and the flows use
// the leaf packages, never the other way round. A leaf (internal/, cleeng/,
// gateways/, workers/) importing a flow, the ingress or a composition root
// would make the layers a knot; the composition roots live under cmd/.
func TestDependenciesPointOneWay(t *testing.T) {
	t.Parallel()
	const module = "github.com/cleeng-connector/connector/"
	upward := []string{"cmd/", "ingress", "flows"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`,
		"../../internal/...", "../../cleeng/...", "../../gateways/...", "../../workers/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			for _, up := range upward {
				if strings.HasPrefix(rel, up) {
					t.Errorf("leaf package %s imports %s", fields[0], imp)
				}
			}
		}
	}
}
