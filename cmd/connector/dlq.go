package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/redact"
	"github.com/rs/zerolog"
)

// The operator commands (dlq, ops, cleeng) each have subcommands of their
// own; the helpers below are shared by them.

// subcommand is one subcommand of an operator command, writing to out.
type subcommand struct {
	args string // arguments and flags, for the sub-usage
	help string
	run  func(ctx context.Context, env *config.Env, args []string, out io.Writer) error
}

// subcommands is the run function of an operator command: it dispatches to
// subs, printing to standard output.
func subcommands(name string, subs map[string]subcommand) func(context.Context, *config.Env, []string) error {
	return func(ctx context.Context, env *config.Env, args []string) error {
		return dispatch(ctx, env, name, subs, args, os.Stdout)
	}
}

// dispatch runs the subcommand args[0]; without one it prints the sub-usage.
func dispatch(ctx context.Context, env *config.Env, name string, subs map[string]subcommand, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(out, "usage: connector %s <subcommand>   (connector %s --help lists its variables)\n\n", name, name)
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		for _, n := range slices.Sorted(maps.Keys(subs)) {
			fmt.Fprintf(tw, "  %s %s\t%s\n", n, subs[n].args, subs[n].help)
		}
		return tw.Flush()
	}
	sub, ok := subs[args[0]]
	if !ok {
		return cli.Usagef("unknown subcommand %q (connector %s lists them)", args[0], name)
	}
	return sub.run(ctx, env, args[1:], out)
}

// parseArgs parses fs's flags wherever they stand among the arguments
// ("show 12 --payload" as well as "show --payload 12") and returns the
// positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, cli.UsageError{Err: err}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// withBroker connects as the roles do: to NATS_URL, or, when it is empty,
// to an embedded server on the store in NATS_STORE_DIR, on a free port,
// unless another process holds that store (a running `connector-dev dev`):
// then it says which NATS_URL reaches that process. It changes no stream
// or bucket settings. role is the operator command.
func withBroker(ctx context.Context, env *config.Env, role string, f func(*broker.Broker) error) error {
	opts := cli.BrokerOptions(env, role)
	opts.Existing = true
	opts.EmbeddedPort = 0
	return runOnBroker(ctx, env, zerolog.Nop(), opts, f)
}

// printTable prints a header and one line per item in aligned columns
// (cells separated by tabs), or none when there are no items.
func printTable[T any](out io.Writer, none, header string, items []T, line func(T) string) error {
	if len(items) == 0 {
		fmt.Fprintln(out, none)
		return nil
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, line(it))
	}
	return tw.Flush()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

var dlqCommands = map[string]subcommand{
	"list":   {"[--flow f]", "one line per dead letter: sequence, flow, original subject, attempts, time, error", runDLQList},
	"show":   {"<seq> [--payload]", "the headers of one dead letter; --payload also prints its payload, which may hold card data or tokens", runDLQShow},
	"replay": {"<seq> | --all [--flow f]", "publish dead letters again on their inbox subject (once each), then delete them: a failed operation is re-opened as a new attempt (connector ops show lists the earlier ones), a done one is left as it is", runDLQReplay},
}

func runDLQList(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	fs := cli.NewFlagSet("dlq list")
	flow := fs.String("flow", "", "only the letters of this flow")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return cli.Usagef("unexpected argument %q", pos[0])
	}
	return withBroker(ctx, env, config.RoleDLQ, func(b *broker.Broker) error {
		letters, err := deadletter.List(ctx, b.JS, *flow)
		if err != nil {
			return err
		}
		return printTable(out, "no dead letters", "SEQ\tFLOW\tSUBJECT\tATTEMPTS\tTIME\tERROR", letters, func(l deadletter.Letter) string {
			return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s", l.Seq, l.Flow, l.OriginalSubject, l.Attempts, formatTime(l.Time), redact.OneLine(l.Error, 100))
		})
	})
}

// parseSeq reads a dead letter's sequence argument.
func parseSeq(pos []string) (uint64, error) {
	if len(pos) != 1 {
		return 0, cli.Usagef("want one dead-letter sequence (connector dlq list shows them)")
	}
	seq, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || seq == 0 {
		return 0, cli.Usagef("sequence %q is not a positive number", pos[0])
	}
	return seq, nil
}

func runDLQShow(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	fs := cli.NewFlagSet("dlq show")
	payload := fs.Bool("payload", false, "also print the payload (it may hold card data or tokens)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	seq, err := parseSeq(pos)
	if err != nil {
		return err
	}
	return withBroker(ctx, env, config.RoleDLQ, func(b *broker.Broker) error {
		l, err := deadletter.Show(ctx, b.JS, seq)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "dead letter %d of flow %s, stored %s\nheaders:\n", l.Seq, l.Flow, formatTime(l.Time))
		for _, k := range slices.Sorted(maps.Keys(l.Header)) {
			for _, v := range l.Header[k] {
				fmt.Fprintf(out, "  %s: %s\n", k, redact.OneLine(v, 1024))
			}
		}
		if !*payload {
			fmt.Fprintf(out, "payload: %d bytes, not shown (--payload prints it; it may hold card data or tokens)\n", len(l.Data))
			return nil
		}
		fmt.Fprintf(out, "payload (%d bytes):\n", len(l.Data))
		if _, err := out.Write(l.Data); err != nil {
			return err
		}
		_, err = fmt.Fprintln(out)
		return err
	})
}

func runDLQReplay(ctx context.Context, env *config.Env, args []string, out io.Writer) error {
	fs := cli.NewFlagSet("dlq replay")
	all := fs.Bool("all", false, "replay every dead letter (of --flow)")
	flow := fs.String("flow", "", "with --all: only the letters of this flow")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	var seq uint64
	switch {
	case *all && len(pos) > 0:
		return cli.Usagef("give a sequence or --all, not both")
	case !*all && *flow != "":
		return cli.Usagef("--flow goes with --all")
	case !*all:
		if seq, err = parseSeq(pos); err != nil {
			return err
		}
	}
	return withBroker(ctx, env, config.RoleDLQ, func(b *broker.Broker) error {
		if !*all {
			r, err := deadletter.Replay(ctx, b.JS, seq)
			if err != nil {
				return err
			}
			printReplayed(out, r)
			return nil
		}
		done, err := deadletter.ReplayAll(ctx, b.JS, *flow)
		for _, r := range done {
			printReplayed(out, r)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d dead letters replayed\n", len(done))
		return nil
	})
}

func printReplayed(out io.Writer, r deadletter.Replayed) {
	note := ""
	if r.Duplicate {
		note = " (already there from an earlier replay: not stored again)"
	}
	fmt.Fprintf(out, "replayed dead letter %d of flow %s to %s: inbox sequence %d%s\n", r.Seq, r.Flow, r.Subject, r.InboxSeq, note)
}
