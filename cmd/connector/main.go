// Command connector is the Cleeng payments connector: one binary whose
// subcommand chooses the role, so the same image runs N ingress and M worker
// replicas, or everything in one process for development.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/cleeng-connector/connector/internal/config"
	"github.com/rs/zerolog"
)

// command is one subcommand. role names the configuration it reads (--help).
type command struct {
	summary string
	role    string
	run     func(ctx context.Context, env *config.Env, args []string) error
}

var commands = map[string]command{
	"demo":    {"walk a subscription through every function against a running dev stack (or one of its own)", config.RoleDev, runDemo},
	"cleeng":  {"Cleeng set-up: subscribe --url <ingress>/webhooks/cleeng registers the connector's webhooks", config.RoleCleeng, subcommands("cleeng", cleengCommands)},
	"dev":     {"embedded NATS, ingress, every worker and the sandboxes in one process", config.RoleDev, runDev},
	"dlq":     {"dead letters: list [--flow f], show <seq> [--payload: prints card data/tokens], replay <seq>|--all [--flow f]", config.RoleDLQ, subcommands("dlq", dlqCommands)},
	"ingress": {"the HTTP ingress: stores webhooks and checkout calls on JetStream", config.RoleIngress, runIngress},
	"ops":     {"operation records: show <key> (secrets redacted), list [--prefix p] [--status s]", config.RoleOps, subcommands("ops", opsCommands)},
	"sandbox": {"the Cleeng, Adyen and Cleverbridge sandboxes alone, sending webhooks to SANDBOX_INGRESS_URL", config.RoleSandbox, runSandbox},
	"worker":  {"durable workers for the flows in --flows (default: WORKER_FLOWS, else all)", config.RoleWorker, runWorker},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "connector: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "--help" {
			fmt.Fprintf(stdout, "connector %s: %s\n\nEnvironment:\n", args[0], cmd.summary)
			config.PrintHelp(stdout, cmd.role)
			return 0
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := cmd.run(ctx, config.FromOS(), args[1:])
	var usageErr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintf(stderr, "connector %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "connector %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: connector <command> [flags]   (connector <command> --help lists its variables)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
}

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ error }

// flags parses a subcommand's flags, reporting errors as usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// newLogger builds the process logger from LOG_LEVEL and LOG_FORMAT.
func newLogger(env *config.Env) zerolog.Logger {
	level, err := zerolog.ParseLevel(env.String("LOG_LEVEL"))
	env.Check("LOG_LEVEL", err == nil && level != zerolog.NoLevel, "%q is not one of debug, info, warn, error", env.String("LOG_LEVEL"))
	var out io.Writer = os.Stderr
	if env.OneOf("LOG_FORMAT", "json", "console") == "console" {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}
