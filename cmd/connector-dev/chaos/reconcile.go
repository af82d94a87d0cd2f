package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/reconcile"
)

// checkReconcile runs `connector reconcile` over the run's window, as an
// operator would the next morning, against the sandboxes' records and the
// run's operation records: after a run that kept every promise it must
// find no drift. A drift fails the run, listed; a reconcile that could not
// look fails it too.
func checkReconcile(ctx context.Context, v *verdict, bins Binaries, c *cluster, from time.Time) {
	const what = "connector reconcile: drifts found"
	drifts, err := runReconcile(ctx, bins, c, from)
	if err != nil {
		v.check(what, 0, "0 (and it ran)", false, []string{err.Error()})
		return
	}
	lines := make([]string, 0, len(drifts))
	for _, d := range drifts {
		lines = append(lines, strings.ReplaceAll(d.TableLine(), "\t", " | "))
	}
	v.check(what, len(drifts), "0", len(drifts) == 0, lines)
}

// runReconcile runs bins.Connector reconcile --json from the run's start
// to a minute from now (the sandboxes' records are timed to the second)
// and returns its drifts; an error when it could not look (exit 2).
func runReconcile(ctx context.Context, bins Binaries, c *cluster, from time.Time) ([]reconcile.Drift, error) {
	sb := c.SandboxURL
	cmd := exec.CommandContext(ctx, bins.Connector, "reconcile", "--json",
		"--from", from.Add(-time.Minute).UTC().Format(time.RFC3339),
		"--to", time.Now().Add(time.Minute).UTC().Format(time.RFC3339),
		"--adyen-report", sb+"/adyen/reports/download/MerchantAccount/"+stack.DevMerchantAccount+"/payments_accounting_report_chaos.csv",
		"--adyen-merchant-account", stack.DevMerchantAccount,
		"--cleverbridge-purchases", sb+"/cleverbridge/sandbox/state",
		"--cleeng-payments", sb+"/cleeng/sandbox/state")
	cmd.Env = append(append(os.Environ(), c.commonEnv()...), "ADYEN_REPORT_API_KEY="+stack.DevAdyenAPIKey)
	cmd.Dir = c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("connector reconcile: %w: %s", err, lastLine(stderr.String()))
	}
	var doc struct{ Drifts []reconcile.Drift }
	if jerr := json.Unmarshal(stdout.Bytes(), &doc); jerr != nil {
		return nil, fmt.Errorf("connector reconcile printed no JSON (%v): %s %s", jerr, lastLine(stdout.String()), lastLine(stderr.String()))
	}
	return doc.Drifts, nil
}
