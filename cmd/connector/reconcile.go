package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector/reconcile"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/ops"
)

// defaultInDoubtAfter: past the designed waits (the Cleverbridge
// notification's hour, about 13 h of redeliveries), where the critical
// alert on the oldest unfinished message fires (DESIGN section 12).
const defaultInDoubtAfter = 14 * time.Hour

func runReconcile(ctx context.Context, env *config.Env, args []string) error {
	return reconcileCommand(time.Now)(ctx, env, args, os.Stdout)
}

// reconcileCommand is `connector reconcile` on the clock now: it prints the
// drifts and returns nil when there are none, an ExitError of status 1 when
// there are, and one of status 2 (or a usage error) when it could not look.
func reconcileCommand(now func() time.Time) func(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	return func(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
		fs := cli.NewFlagSet("reconcile")
		from := fs.String("from", "", "start of the window, RFC 3339 or YYYY-MM-DD (UTC midnight); required")
		to := fs.String("to", "", "end of the window, excluded, RFC 3339 or YYYY-MM-DD (default: now)")
		adyenReport := fs.String("adyen-report", "", "Adyen's Payment accounting or Settlement details report (CSV): a file path, or a URL downloaded with X-API-Key ADYEN_REPORT_API_KEY")
		adyenMerchant := fs.String("adyen-merchant-account", "", "only the report's rows of this merchant account (default: all)")
		purchases := fs.String("cleverbridge-purchases", "", "Cleverbridge's purchases (JSON): a file path or a URL")
		cleengPayments := fs.String("cleeng-payments", "", "Cleeng's payments (JSON): a file path or a URL; required")
		inDoubtAfter := fs.Duration("in-doubt-after", defaultInDoubtAfter, "an operation in progress with no write for this long is in doubt")
		asJSON := fs.Bool("json", false, "print the drifts as JSON")
		if err := cli.ParseFlags(fs, args); err != nil {
			return err
		}
		clock := now()
		window, err := parseWindow(*from, *to, clock)
		if err != nil {
			return err
		}
		switch {
		case *cleengPayments == "":
			return cli.Usagef("--cleeng-payments is required: Cleeng's payments to compare with")
		case *inDoubtAfter <= 0:
			return cli.Usagef("--in-doubt-after %s: want a positive duration", *inDoubtAfter)
		case *adyenReport == "" && *purchases == "":
			return cli.Usagef("give --adyen-report, --cleverbridge-purchases or both: a gateway's records to compare with")
		}
		sources := reconcile.Sources{AdyenReport: *adyenReport, AdyenReportAPIKey: env.String("ADYEN_REPORT_API_KEY"),
			AdyenMerchantAccount: *adyenMerchant, CleverbridgePurchases: *purchases, CleengPayments: *cleengPayments}
		in := reconcile.Inputs{From: window.from, To: window.to, Now: clock, InDoubtAfter: *inDoubtAfter}
		err = withBroker(ctx, env, config.RoleReconcile, func(b *broker.Broker) error {
			if in.Operations, err = ops.List[json.RawMessage](ctx, ops.NewStore(b.Ops), ""); err != nil {
				return fmt.Errorf("operation records: %w", err)
			}
			return sources.Load(ctx, &in)
		})
		if err != nil {
			return cli.ExitError{Code: 2, Err: err}
		}
		drifts := reconcile.Compare(in)
		if err := printDrifts(out, *asJSON, window, drifts); err != nil {
			return cli.ExitError{Code: 2, Err: err}
		}
		if len(drifts) > 0 {
			return cli.ExitError{Code: 1, Err: fmt.Errorf("drift found between %s and %s: %d", formatTime(window.from), formatTime(window.to), len(drifts))}
		}
		return nil
	}
}

type window struct{ from, to time.Time }

// parseWindow reads --from (required) and --to (default now).
func parseWindow(from, to string, now time.Time) (window, error) {
	if from == "" {
		return window{}, cli.Usagef("--from is required: the start of the window to reconcile")
	}
	var w window
	var err error
	if w.from, err = parseInstant(from); err != nil {
		return window{}, cli.Usagef("--from: %v", err)
	}
	w.to = now
	if to != "" {
		if w.to, err = parseInstant(to); err != nil {
			return window{}, cli.Usagef("--to: %v", err)
		}
	}
	if !w.from.Before(w.to) {
		return window{}, cli.Usagef("--from %s is not before --to %s", formatTime(w.from), formatTime(w.to))
	}
	return w, nil
}

func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-30T22:00:00Z) nor a date (2026-11-30)", s)
}

// printDrifts prints one line per drift, or the JSON document.
func printDrifts(out io.Writer, asJSON bool, w window, drifts []reconcile.Drift) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			From   time.Time         `json:"from"`
			To     time.Time         `json:"to"`
			Drifts []reconcile.Drift `json:"drifts"`
		}{w.from.UTC(), w.to.UTC(), append([]reconcile.Drift{}, drifts...)})
	}
	return printTable(out, fmt.Sprintf("no drift between %s and %s", formatTime(w.from), formatTime(w.to)),
		reconcile.TableHeader, drifts, reconcile.Drift.TableLine)
}
