package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/redact"
)

var opsCommands = map[string]subcommand{
	"show": {"<key>", "one operation record, its state with tokens and card data redacted", runOpsShow},
	"list": {"[--prefix p] [--status in_progress|done|failed]", "one line per operation record (under the key prefix p)", runOpsList},
}

func runOpsShow(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	pos, err := parseArgs(cli.NewFlagSet("ops show"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want one operation key (connector ops list shows them)")
	}
	return withBroker(ctx, env, config.RoleOps, func(b *broker.Broker) error {
		rec, err := ops.Get[json.RawMessage](ctx, ops.NewStore(b.Ops), pos[0])
		if err != nil {
			return err
		}
		state, err := redact.JSON(rec.State)
		if err != nil {
			return fmt.Errorf("operation %s: state: %w", rec.Key, err)
		}
		tw := tabwriter.NewWriter(out, 2, 4, 1, ' ', 0)
		for _, f := range [][2]string{
			{"key", rec.Key}, {"flow", rec.Flow}, {"status", string(rec.Status)}, {"attempt", fmt.Sprint(rec.Attempt())},
			{"step", rec.Step}, {"error", rec.Error}, {"owner", rec.Owner}, {"lease until", formatTime(rec.LeaseUntil)},
			{"created", formatTime(rec.Created)}, {"updated", formatTime(rec.Updated)},
			{"revision", fmt.Sprint(rec.Revision())},
		} {
			fmt.Fprintf(tw, "%s:\t%s\n", f[0], redact.OneLine(f[1], 1024))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		printHistory(out, rec.History)
		_, err = fmt.Fprintf(out, "state:\n%s\n", state)
		return err
	})
}

// printHistory prints the earlier attempts of an operation that a dead
// letter's replay re-opened, or nothing when there were none.
func printHistory(out io.Writer, history []ops.PastAttempt) {
	if len(history) == 0 {
		return
	}
	fmt.Fprintln(out, "earlier attempts:")
	for i, p := range history {
		fmt.Fprintf(out, "  %d: failed %s at step %s: %s\n     re-opened %s by the replay of %s\n",
			i+1, formatTime(p.Failed), p.Step, redact.OneLine(p.Error, 1024), formatTime(p.Reopened), redact.OneLine(p.ReopenedBy, 200))
	}
}

func runOpsList(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	fs := cli.NewFlagSet("ops list")
	prefix := fs.String("prefix", "", "only the key p and the keys under it (p.*), e.g. authorise or authorise.S123")
	status := fs.String("status", "", "only records in this status: in_progress, done or failed")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return cli.Usagef("unexpected argument %q", pos[0])
	}
	switch ops.Status(*status) {
	case "", ops.StatusInProgress, ops.StatusDone, ops.StatusFailed:
	default:
		return cli.Usagef("--status %q is not one of in_progress, done, failed", *status)
	}
	return withBroker(ctx, env, config.RoleOps, func(b *broker.Broker) error {
		all, err := ops.List[json.RawMessage](ctx, ops.NewStore(b.Ops), *prefix) // state shown, not interpreted
		if err != nil {
			return err
		}
		recs := slices.DeleteFunc(all, func(r *ops.Record[json.RawMessage]) bool {
			return *status != "" && r.Status != ops.Status(*status)
		})
		return printTable(out, "no operation records", "KEY\tFLOW\tSTATUS\tSTEP\tUPDATED\tERROR", recs, func(r *ops.Record[json.RawMessage]) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", r.Key, r.Flow, r.Status, r.Step, formatTime(r.Updated), redact.OneLine(r.Error, 80))
		})
	})
}
