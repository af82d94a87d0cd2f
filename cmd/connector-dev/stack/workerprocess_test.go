package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/workers"
)

// The environment of a worker process (runWorkerProcess): this test binary
// run again, as `connector worker` runs roles.NewWorker, on the benchmark's
// NATS and sandboxes.
const (
	envWorkerProcess = "STACK_BENCH_WORKER_ADDR" // where it serves workerProcess's endpoints
	envWorkerNATS    = "STACK_BENCH_WORKER_NATS"
	envWorkerSandbox = "STACK_BENCH_WORKER_SANDBOX"
	envWorkerIngress = "STACK_BENCH_WORKER_INGRESS"
	envWorkerHandles = "STACK_BENCH_WORKER_CONCURRENCY"
)

// runWorkerProcess is the main of a worker process: the dev stack's worker
// runtime alone, until SIGTERM drains it, serving what the benchmark reads
// of it on $STACK_BENCH_WORKER_ADDR: GET /captures (the capture flow's
// counts), GET /memory (its live heap and stacks after a collection) and
// /debug/pprof/. The test binary only: no production role serves these.
func runWorkerProcess() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	concurrency, err := strconv.Atoi(os.Getenv(envWorkerHandles))
	if err != nil {
		return err
	}
	b, err := broker.Open(ctx, broker.Options{URL: os.Getenv(envWorkerNATS)})
	if err != nil {
		return err
	}
	defer b.Close()
	reg := prometheus.NewRegistry()
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	settings := stack.DevWorkerSettings(stack.DevOptions{Runtime: workers.Config{Concurrency: concurrency}, Registry: reg, Logger: log},
		os.Getenv(envWorkerSandbox), os.Getenv(envWorkerIngress))
	w, err := roles.NewWorker(settings, b, log)
	if err != nil {
		return err
	}
	// The runtime starts Concurrency handlers for each flow, and the
	// payment-methods query as many answerers, before it consumes: until
	// they are all up the process is not yet what the benchmark measures.
	started := (w.Flows() + 1) * concurrency
	mux := http.NewServeMux()
	mux.HandleFunc("GET /captures", func(rw http.ResponseWriter, _ *http.Request) {
		if runtime.NumGoroutine() < started {
			http.Error(rw, "starting", http.StatusServiceUnavailable)
			return
		}
		c, err := countCaptures(reg)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(rw).Encode(c)
	})
	mux.HandleFunc("GET /memory", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(measure())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	stopServing, err := serveBenchmark(os.Getenv(envWorkerProcess), mux)
	if err != nil {
		return err
	}
	defer stopServing()
	return w.Run(ctx)
}

// captures are the capture flow's acked deliveries, its deliveries not
// acked (retried, "not yet": they come back) and its handlers in flight.
type captures struct{ Done, Retried, Running float64 }

// countCaptures reads captures from the worker runtime's metrics; a capture
// dead-lettered is an error.
func countCaptures(reg *prometheus.Registry) (c captures, err error) {
	var deadLettered error
	err = eachMetric(reg, func(family string, labels map[string]string, m *dto.Metric) {
		if labels["flow"] != "capture" {
			return
		}
		switch family {
		case "connector_worker_messages_total":
			switch v := m.GetCounter().GetValue(); labels["outcome"] {
			case "acked":
				c.Done = v
			case "dead_lettered", "dead_letter_failed":
				if v > 0 {
					deadLettered = fmt.Errorf("%v capture deliveries %s", v, labels["outcome"])
				}
			default:
				c.Retried += v
			}
		case "connector_worker_in_flight":
			c.Running = m.GetGauge().GetValue()
		}
	})
	if err == nil {
		err = deadLettered
	}
	return c, err
}

// workerProcess is a worker process the benchmark started.
type workerProcess struct{ *childProcess }

// startWorkerProcess starts a worker process with concurrency handlers per
// flow on dev's NATS, calling the sandboxes at sandboxURL, and waits until
// it runs every handler.
func startWorkerProcess(b *testing.B, dev *stack.Dev, sandboxURL string, concurrency int) *workerProcess {
	b.Helper()
	return &workerProcess{startChildProcess(b, "worker", envWorkerProcess, []string{envWorkerNATS + "=" + dev.Broker.Server.ClientURL(),
		envWorkerSandbox + "=" + sandboxURL, envWorkerIngress + "=" + dev.IngressURL, envWorkerHandles + "=" + strconv.Itoa(concurrency)},
		"/captures")}
}

func (w *workerProcess) captures(b *testing.B) (c captures) {
	b.Helper()
	w.call(b, http.MethodGet, "/captures", &c)
	return c
}

func (w *workerProcess) memory(b *testing.B) (u usage) {
	b.Helper()
	w.call(b, http.MethodGet, "/memory", &u)
	return u
}

// stop drains the process (SIGTERM) and waits for it to exit.
func (w *workerProcess) stop(b *testing.B) {
	b.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	<-w.exited
	if !w.cmd.ProcessState.Success() {
		b.Fatalf("the worker process exited %v:\n%s", w.cmd.ProcessState, w.logs.String())
	}
}

// writeProfiles writes the worker process's heap and goroutine profiles to
// $LATENCY_BENCH_PROFILES/<kind>-<inFlight>.pprof, when that names a
// directory: what a renewal in flight holds.
func (w *workerProcess) writeProfiles(b *testing.B, inFlight int) {
	b.Helper()
	dir := os.Getenv("LATENCY_BENCH_PROFILES")
	if dir == "" {
		return
	}
	for _, kind := range []string{"heap", "goroutine"} {
		var profile []byte
		w.call(b, http.MethodGet, "/debug/pprof/"+kind+"?gc=1", &profile)
		if err := os.WriteFile(fmt.Sprintf("%s/%s-%d.pprof", dir, kind, inFlight), profile, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
