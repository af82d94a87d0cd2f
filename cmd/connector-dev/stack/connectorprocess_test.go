package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/outbound"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// The environment of a connector process (runConnectorProcess): this test
// binary run again as the whole connector (embedded JetStream, the ingress,
// the workers) on sandboxes running elsewhere.
const (
	envConnectorProcess = "STACK_BENCH_CONNECTOR_ADDR" // where it serves connectorProcess's endpoints
	envConnectorIngress = "STACK_BENCH_CONNECTOR_INGRESS"
	envConnectorSandbox = "STACK_BENCH_CONNECTOR_SANDBOX"
	envConnectorStore   = "STACK_BENCH_CONNECTOR_STORE"
)

// cpuProfileHz is the connector process's CPU profiling rate: 5 times
// Go's default, for a breakdown of a few seconds of CPU with enough samples.
const cpuProfileHz = 500

// runConnectorProcess is the main of a connector process: the dev stack
// (stack.StartDev) with embedded JetStream, serving its ingress on
// $STACK_BENCH_CONNECTOR_INGRESS, calling the sandboxes at
// $STACK_BENCH_CONNECTOR_SANDBOX, until SIGTERM. It serves what the
// benchmark reads of it on $STACK_BENCH_CONNECTOR_ADDR: GET /cpu (its CPU
// time so far), GET /nats (its embedded server's client URL), GET /stats (connectorStats), and POST and DELETE /profile
// (start a CPU profile; stop it and answer it). The test binary only: no
// production role serves these.
func runConnectorProcess() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	reg := prometheus.NewRegistry()
	reg.MustRegister(outbound.Requests())
	dev, err := stack.StartDev(ctx, stack.DevOptions{
		Broker:      broker.Options{StoreDir: os.Getenv(envConnectorStore)},
		IngressAddr: os.Getenv(envConnectorIngress), SandboxURL: os.Getenv(envConnectorSandbox),
		Registry: reg, Logger: zerolog.New(os.Stderr).Level(zerolog.WarnLevel),
	})
	if err != nil {
		return err
	}
	defer dev.Close()
	// The benchmark reads the counters, not the gauges of the queues, which
	// make JetStream API requests at each read (a Prometheus scrape).
	reg.Unregister(dev.Broker.StreamMetrics())
	reg.Unregister(broker.NewCollector(dev.Broker.JS, time.Second))
	var profile struct {
		sync.Mutex
		buf bytes.Buffer
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cpu", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(testkit.CPUTime())
	})
	mux.HandleFunc("GET /nats", func(rw http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(rw).Encode(dev.Broker.Server.ClientURL())
	})
	mux.HandleFunc("GET /stats", func(rw http.ResponseWriter, _ *http.Request) {
		s, err := readConnectorStats(dev, reg)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(rw).Encode(s)
	})
	mux.HandleFunc("POST /profile", func(rw http.ResponseWriter, _ *http.Request) {
		profile.Lock()
		defer profile.Unlock()
		profile.buf.Reset()
		// StartCPUProfile sets Go's default rate unless one is set: it
		// says so on stderr, and keeps this one.
		runtime.SetCPUProfileRate(cpuProfileHz)
		if err := pprof.StartCPUProfile(&profile.buf); err != nil {
			http.Error(rw, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("DELETE /profile", func(rw http.ResponseWriter, _ *http.Request) {
		profile.Lock()
		defer profile.Unlock()
		pprof.StopCPUProfile()
		_, _ = rw.Write(profile.buf.Bytes())
	})
	stopServing, err := serveBenchmark(os.Getenv(envConnectorProcess), mux)
	if err != nil {
		return err
	}
	defer stopServing()
	select {
	case <-ctx.Done():
		return nil
	case err := <-dev.Err():
		return err
	}
}

// connectorStats are a connector process's counters of a renewal's
// exchanges, by name (see readConnectorStats), and its consumers' backlog.
type connectorStats struct {
	Counts map[string]float64
	// Busy is the messages the consumers have not delivered yet or whose
	// delivery is not acked yet.
	Busy uint64
}

// The names of connectorStats's counts, or their prefixes.
const (
	countIngress   = "http in: ingress"       // requests the ingress answered
	countOutbound  = "http out: "             // + service: requests sent to Cleeng, Adyen
	countStored    = "jetstream stored: "     // + stream: publishes, and the KV buckets' writes
	countAcked     = "jetstream acked"        // deliveries acked, over the consumers that ack
	countAPI       = "jetstream API requests" // answered by the server, KV reads (direct gets) not counted
	countWatched   = "watcher deliveries"     // deliveries to consumers that do not ack (KV watchers)
	countSent      = "nats messages sent"     // by the connector's connection: every operation, and its pull requests
	countNotAcked  = "not acked: "            // + flow and outcome: the worker runtime's deliveries retried, "not yet", dead-lettered
	floorStream    = "FLOOR"                  // the publish floor's stream: not the connector's
	floorStreamKey = countStored + floorStream
)

// readConnectorStats reads the embedded server's counters in process (not
// by JetStream API requests, which it would count) and the connector's
// metrics.
func readConnectorStats(dev *stack.Dev, reg *prometheus.Registry) (s connectorStats, err error) {
	js, err := dev.Broker.Server.Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true, Config: true})
	if err != nil {
		return s, err
	}
	s.Counts = map[string]float64{countAPI: float64(js.API.Total), countSent: float64(dev.Broker.Conn.Stats().OutMsgs)}
	for _, acc := range js.AccountDetails {
		for _, st := range acc.Streams {
			s.Counts[countStored+st.Name] = float64(st.State.LastSeq)
			for _, c := range st.Consumer {
				s.Busy += c.NumPending + uint64(c.NumAckPending)
				if c.Config != nil && c.Config.AckPolicy == server.AckNone {
					s.Counts[countWatched] += float64(c.Delivered.Consumer)
				} else {
					s.Counts[countAcked] += float64(c.AckFloor.Consumer)
				}
			}
		}
	}
	err = eachMetric(reg, func(family string, labels map[string]string, m *dto.Metric) {
		v := m.GetCounter().GetValue()
		switch family {
		case "connector_ingress_requests_total":
			s.Counts[countIngress] += v
		case "connector_outbound_requests_total":
			s.Counts[countOutbound+labels["service"]] += v
		case "connector_worker_messages_total":
			if labels["outcome"] != "acked" {
				s.Counts[countNotAcked+labels["flow"]+" "+labels["outcome"]] += v
			}
		}
	})
	return s, err
}

// connectorProcess is a connector process the benchmark started.
type connectorProcess struct{ *childProcess }

// startConnectorProcess starts a connector process whose ingress listens
// where sb sends webhooks and whose workers call sb, and waits until it
// serves.
func startConnectorProcess(b *testing.B, sb *sandboxProcess) *connectorProcess {
	b.Helper()
	return &connectorProcess{startChildProcess(b, "connector", envConnectorProcess, []string{envConnectorIngress + "=" + sb.ingressAddr,
		envConnectorSandbox + "=" + sb.url, envConnectorStore + "=" + b.TempDir()}, "/cpu")}
}

// cpu is the connector process's CPU time so far.
func (c *connectorProcess) cpu(b *testing.B) (d time.Duration) {
	b.Helper()
	c.call(b, http.MethodGet, "/cpu", &d)
	return d
}

func (c *connectorProcess) stats(b *testing.B) (s connectorStats) {
	b.Helper()
	c.call(b, http.MethodGet, "/stats", &s)
	return s
}
