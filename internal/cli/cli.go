// Package cli is the frame shared by the connector's binaries (cmd/connector
// and cmd/connector-dev): subcommands chosen by the first argument, their
// flags and exit statuses, the process logger, HTTP serving with a graceful
// shutdown, the metrics registry, tracing and the NATS settings every role
// reads.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/outbound"
	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// Command is one subcommand. Role names the configuration it reads (--help).
type Command struct {
	Summary string
	Role    string
	Run     func(ctx context.Context, env *config.Env, args []string) error
}

// Main runs the command args[0] of the binary called name, with the
// environment's configuration, until it returns or SIGINT/SIGTERM ends it,
// and returns the exit status: 0, 1 on an error, 2 on a usage error.
func Main(name string, commands map[string]Command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, name, commands)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", name, args[0])
		usage(stderr, name, commands)
		return 2
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "--help" {
			fmt.Fprintf(stdout, "%s %s: %s\n\nEnvironment:\n", name, args[0], cmd.Summary)
			config.PrintHelp(stdout, cmd.Role)
			return 0
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := cmd.Run(ctx, config.FromOS(), args[1:])
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(UsageError)):
		fmt.Fprintf(stderr, "%s %s: %v\n", name, args[0], err)
		return 2
	case errors.As(err, new(ExitError)):
		fmt.Fprintf(stderr, "%s %s: %v\n", name, args[0], err)
		var exit ExitError
		errors.As(err, &exit)
		return exit.Code
	default:
		fmt.Fprintf(stderr, "%s %s: %v\n", name, args[0], err)
		return 1
	}
}

func usage(w io.Writer, name string, commands map[string]Command) {
	fmt.Fprintf(w, "usage: %[1]s <command> [flags]   (%[1]s <command> --help lists its variables)\n\n", name)
	for _, n := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].Summary)
	}
}

// UsageError is a bad flag or argument: exit status 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

func (e UsageError) Unwrap() error { return e.Err }

// ExitError ends a command with its own exit status, for a command whose
// statuses say more than success or failure (reconcile: 1 when it found
// drift, 2 when it could not look).
type ExitError struct {
	Code int
	Err  error
}

func (e ExitError) Error() string { return e.Err.Error() }

func (e ExitError) Unwrap() error { return e.Err }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// NewFlagSet is a subcommand's flag set; ParseFlags reports its errors.
func NewFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// ParseFlags parses a subcommand's flags, which take no positional
// arguments, reporting errors as UsageError.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return UsageError{err}
	}
	if fs.NArg() > 0 {
		return UsageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// NewLogger builds the process logger from LOG_LEVEL and LOG_FORMAT.
func NewLogger(env *config.Env) zerolog.Logger {
	level, err := zerolog.ParseLevel(env.String("LOG_LEVEL"))
	env.Check("LOG_LEVEL", err == nil && level != zerolog.NoLevel, "%q is not one of debug, info, warn, error", env.String("LOG_LEVEL"))
	var out io.Writer = os.Stderr
	if env.OneOf("LOG_FORMAT", "json", "console") == "console" {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}

// NewRegistry is the process's metrics registry, with Go and process
// metrics and the count of requests to Cleeng and the gateways.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), outbound.Requests())
	return reg
}

// BrokerOptions reads the NATS variables of role, whose connection is named
// connector-<role>. Every role but dev refuses to reach a server on the
// network unencrypted unless NATS_ALLOW_PLAINTEXT says the network is
// protected another way: the inbox and the operation records hold tokens,
// and whoever can publish to it passes every ingress check.
func BrokerOptions(env *config.Env, role string) broker.Options {
	auth := broker.Auth{
		User:         env.String("NATS_USER"),
		Password:     env.String("NATS_PASSWORD"),
		NKeySeedFile: env.String("NATS_NKEY_SEED_FILE"),
		CredsFile:    env.String("NATS_CREDS_FILE"),
		TLSCA:        env.String("NATS_TLS_CA"),
		TLSCert:      env.String("NATS_TLS_CERT"),
		TLSKey:       env.String("NATS_TLS_KEY"),
	}
	methods := 0
	for _, set := range []string{auth.User, auth.NKeySeedFile, auth.CredsFile} {
		if set != "" {
			methods++
		}
	}
	env.Check("NATS_USER", methods <= 1, "set one of NATS_USER, NATS_NKEY_SEED_FILE and NATS_CREDS_FILE, not several")
	env.Check("NATS_PASSWORD", auth.Password == "" || auth.User != "", "set without NATS_USER")
	env.Check("NATS_TLS_KEY", (auth.TLSCert == "") == (auth.TLSKey == ""), "NATS_TLS_CERT and NATS_TLS_KEY go together")
	for _, name := range []string{"NATS_NKEY_SEED_FILE", "NATS_CREDS_FILE", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY"} {
		if path := env.String(name); path != "" {
			_, err := os.Stat(path)
			env.Check(name, err == nil, "%v", err)
		}
	}
	url := env.URLs("NATS_URL")
	if role != config.RoleDev && !env.Bool("NATS_ALLOW_PLAINTEXT") {
		if host := broker.PlaintextRemote(url, auth); url != "" && host != "" {
			env.Check("NATS_URL", false, "%s is on the network and the connection is not encrypted: set NATS_TLS_CA (or use tls:// URLs), or NATS_ALLOW_PLAINTEXT=true if the network is protected another way", host)
		}
	}
	port, err := strconv.Atoi(env.String("NATS_EMBEDDED_PORT"))
	env.Check("NATS_EMBEDDED_PORT", err == nil && port >= 0 && port <= 65535, "%q is not a port number (0 picks a free one)", env.String("NATS_EMBEDDED_PORT"))
	opts := broker.Options{
		URL:             url,
		Auth:            auth,
		StoreDir:        env.String("NATS_STORE_DIR"),
		EmbeddedPort:    port,
		Replicas:        env.Int("NATS_REPLICAS"),
		DuplicateWindow: env.Duration("NATS_DUPLICATE_WINDOW"),
		IndexTTL:        env.Duration("NATS_INDEX_TTL"),
		OpsTTL:          env.Duration("NATS_OPS_TTL"),
		InboxMaxAge:     env.Duration("NATS_INBOX_MAX_AGE"),
		InboxMaxBytes:   int64(env.Int("NATS_INBOX_MAX_BYTES")),
		DLQMaxAge:       env.Duration("NATS_DLQ_MAX_AGE"),
		DLQMaxBytes:     int64(env.Int("NATS_DLQ_MAX_BYTES")),
		Name:            "connector-" + role,
	}
	env.Check("NATS_DLQ_MAX_AGE", opts.DLQMaxAge < opts.OpsTTL,
		"%s must be shorter than NATS_OPS_TTL (%s): a dead letter replayed after its operation record expired would start the operation over", opts.DLQMaxAge, opts.OpsTTL)
	return opts
}

// tracingFlushTimeout bounds the export of the spans still buffered at exit.
const tracingFlushTimeout = 5 * time.Second

// StartTracing turns OpenTelemetry tracing on as the OTEL_* variables say
// (internal/telemetry: off without OTEL_EXPORTER_OTLP_ENDPOINT), under
// service unless OTEL_SERVICE_NAME names another, and returns what flushes
// the buffered spans: defer it, so they are exported before the exit.
func StartTracing(ctx context.Context, log zerolog.Logger, service string) (flush func(), err error) {
	shutdown, err := telemetry.Setup(ctx, service, func(err error) { log.Warn().Err(err).Msg("tracing") })
	if err != nil {
		return nil, err
	}
	if telemetry.Enabled() {
		log.Info().Msg("OpenTelemetry tracing on (OTLP/HTTP)")
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn().Err(err).Msg("tracing: spans not flushed")
		}
	}, nil
}

// Limits of every HTTP server of the connector's processes: a client that
// sends its request or reads its answer slowly, or idles on a connection,
// or sends oversized headers, is cut off instead of holding a goroutine and
// a socket (issue 12).
const (
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a request, headers and body.
	ReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds a request from the end of its headers to
	// the end of its answer, body read included.
	DefaultWriteTimeout = ReadTimeout + 30*time.Second
	IdleTimeout         = 2 * time.Minute
	// MaxHeaderBytes is far above a browser's or a webhook sender's
	// headers (a customer JWT is about 1 KiB), far below Go's 1 MiB default.
	MaxHeaderBytes = 32 << 10
)

// Site is one HTTP server of a process.
type Site struct {
	Name, Addr string
	Handler    http.Handler
	// WriteTimeout: longer than the slowest answer the handler gives on
	// purpose (a checkout call waiting for its outcome). Zero: DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// NewHTTPServer is a server of h with the connector's limits.
func NewHTTPServer(h http.Handler, writeTimeout time.Duration) *http.Server {
	if writeTimeout == 0 {
		writeTimeout = DefaultWriteTimeout
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
}

// ServeHTTP serves every site until ctx ends or one of them fails, then
// shuts them all down gracefully.
func ServeHTTP(ctx context.Context, log zerolog.Logger, sites ...Site) error {
	servers := make([]*http.Server, len(sites))
	listeners := make([]net.Listener, len(sites))
	for i, site := range sites {
		ln, err := net.Listen("tcp", site.Addr)
		if err != nil {
			for _, open := range listeners[:i] {
				open.Close()
			}
			return fmt.Errorf("%s: listen on %s: %w", site.Name, site.Addr, err)
		}
		listeners[i], servers[i] = ln, NewHTTPServer(site.Handler, site.WriteTimeout)
	}
	errc := make(chan error, len(sites))
	for i, site := range sites {
		go func() { errc <- fmt.Errorf("%s: %w", site.Name, servers[i].Serve(listeners[i])) }()
		log.Info().Str("addr", listeners[i].Addr().String()).Msgf("%s listening", site.Name)
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{failed}
	for i, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("%s: shutdown: %w", sites[i].Name, err))
		}
	}
	return errors.Join(errs...)
}
