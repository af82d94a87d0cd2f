package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
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
	ln, err := net.Listen("tcp", os.Getenv(envWorkerProcess))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	return w.Run(ctx)
}

// captures are the capture flow's acked deliveries, its deliveries not
// acked (retried, "not yet": they come back) and its handlers in flight.
type captures struct{ Done, Retried, Running float64 }

// countCaptures reads captures from the worker runtime's metrics; a capture
// dead-lettered is an error.
func countCaptures(reg *prometheus.Registry) (c captures, err error) {
	families, err := reg.Gather()
	if err != nil {
		return c, err
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["flow"] != "capture" {
				continue
			}
			switch f.GetName() {
			case "connector_worker_messages_total":
				switch v := m.GetCounter().GetValue(); labels["outcome"] {
				case "acked":
					c.Done = v
				case "dead_lettered", "dead_letter_failed":
					if v > 0 {
						return c, fmt.Errorf("%v capture deliveries %s", v, labels["outcome"])
					}
				default:
					c.Retried += v
				}
			case "connector_worker_in_flight":
				c.Running = m.GetGauge().GetValue()
			}
		}
	}
	return c, nil
}

// workerProcess is a worker process the benchmark started.
type workerProcess struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   bytes.Buffer
}

// startWorkerProcess starts a worker process with concurrency handlers per
// flow on dev's NATS, calling the sandboxes at sandboxURL, and waits until
// it runs every handler.
func startWorkerProcess(b *testing.B, dev *stack.Dev, sandboxURL string, concurrency int) *workerProcess {
	b.Helper()
	addr := freeAddr(b)
	w := &workerProcess{url: "http://" + addr, exited: make(chan struct{})}
	w.cmd = exec.Command(os.Args[0])
	w.cmd.Env = append(os.Environ(), envWorkerProcess+"="+addr, envWorkerNATS+"="+dev.Broker.Server.ClientURL(),
		envWorkerSandbox+"="+sandboxURL, envWorkerIngress+"="+dev.IngressURL, envWorkerHandles+"="+strconv.Itoa(concurrency))
	w.cmd.Stdout, w.cmd.Stderr = &w.logs, &w.logs
	if err := w.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.exited)
	}()
	b.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.exited
		if b.Failed() {
			b.Logf("worker process:\n%s", w.logs.String())
		}
	})
	testkit.Eventually(b, time.Minute, "the worker process serving", func() bool {
		select {
		case <-w.exited:
			b.Fatalf("the worker process exited:\n%s", w.logs.String())
		default:
		}
		return w.get("/captures", nil) == nil
	})
	return w
}

// get decodes the JSON answer to GET path into out (nil: discarded).
func (w *workerProcess) get(path string, out any) error {
	resp, err := http.Get(w.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, msg.String())
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (w *workerProcess) captures(b *testing.B) (c captures) {
	b.Helper()
	if err := w.get("/captures", &c); err != nil {
		b.Fatal(err)
	}
	return c
}

func (w *workerProcess) memory(b *testing.B) (u usage) {
	b.Helper()
	if err := w.get("/memory", &u); err != nil {
		b.Fatal(err)
	}
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
		resp, err := http.Get(w.url + "/debug/pprof/" + kind + "?gc=1")
		if err != nil {
			b.Fatal(err)
		}
		var profile bytes.Buffer
		_, err = profile.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s/%s-%d.pprof", dir, kind, inFlight), profile.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
