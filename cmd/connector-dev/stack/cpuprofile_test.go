package stack_test

import (
	"bytes"
	"strings"

	"github.com/google/pprof/profile"
)

// An owner is a part of the connector a CPU sample is charged to: the
// first owner, in owners's order, one of whose function name prefixes a
// function on the sample's stack starts with.
type owner struct {
	name      string
	functions []string
}

const (
	natsServer = "github.com/nats-io/nats-server/v2/server."
	jsClient   = "github.com/nats-io/nats.go/jetstream."
	connector  = "github.com/cleeng-connector/connector/"
)

// ownerBenchmark is the benchmark's own reads of the connector process:
// not the connector's.
const ownerBenchmark = "the benchmark's reads of the process (counters, profile)"

// owners are the parts of a connector process's CPU, most specific first:
// a KV write's publish is KV, not a publish; a flow's Cleeng call is Cleeng.
var owners = []owner{
	{"garbage collection", []string{"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcStart", "runtime.gcMarkDone", "runtime.gcMarkTermination"}},
	{ownerBenchmark, []string{connector + "cmd/connector-dev/stack_test.runConnectorProcess", connector + "cmd/connector-dev/stack_test.readConnectorStats", "runtime/pprof."}},
	{"server: storing messages (publishes, KV writes)", []string{natsServer + "(*stream).processJetStreamMsg", natsServer + "(*stream).processInboundJetStreamMsg", natsServer + "(*fileStore)", natsServer + "(*msgBlock)"}},
	{"server: acks", []string{natsServer + "(*consumer).processAck", natsServer + "(*consumer).processAckMsg", natsServer + "(*consumer).processTerm", natsServer + "(*consumer).processNak"}},
	{"server: KV reads and other API requests", []string{natsServer + "(*stream).processDirectGet", natsServer + "(*Server).jsMsgGetRequest", natsServer + "(*jetStream).apiDispatch", natsServer + "(*Server).processJSAPIRoutedRequests"}},
	{"server: deliveries to consumers", []string{natsServer + "(*consumer)."}},
	{"server: connections (reading, routing, writing)", []string{natsServer}},
	{"client: KV reads and writes (operation records)", []string{jsClient + "(*kvs).", connector + "internal/ops.", connector + "internal/broker.boundedKV"}},
	{"client: publishes", []string{jsClient + "(*jetStream).Publish"}},
	{"client: acks", []string{jsClient + "(*jetStreamMsg).", connector + "workers.(*Runtime).ack", connector + "workers.ack"}},
	{"client: consuming (pulls, deliveries) and connection I/O", []string{jsClient, "github.com/nats-io/nats.go."}},
	{"Cleeng calls (client and its connections' goroutines charged to it)", []string{connector + "cleeng."}},
	{"Adyen calls (client, Adyen's library)", []string{connector + "gateways/", "github.com/adyen/"}},
	{"ingress handlers (webhooks)", []string{connector + "ingress."}},
	{"flows and the worker runtime", []string{connector + "flows.", connector + "workers.", connector + "internal/"}},
	{"HTTP server connections (ingress: reading, writing)", []string{"net/http.(*conn)", "net/http.(*response)"}},
	{"HTTP client connections (Cleeng, Adyen: reading, writing, dialling)", []string{"net/http."}},
	{"scheduler, network poller and the rest", nil},
}

// chargeProfile adds the CPU time of each sample of a pprof CPU profile to
// the owner of its stack, by name.
func chargeProfile(raw []byte, into map[string]int64) error {
	p, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	for _, s := range p.Sample {
		var names []string
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				names = append(names, line.Function.Name)
			}
		}
		into[ownerOf(names)] += s.Value[len(s.Value)-1] // CPU nanoseconds
	}
	return nil
}

func ownerOf(functions []string) string {
	for _, o := range owners[:len(owners)-1] {
		for _, fn := range functions {
			for _, prefix := range o.functions {
				if strings.HasPrefix(fn, prefix) {
					return o.name
				}
			}
		}
	}
	return owners[len(owners)-1].name
}
