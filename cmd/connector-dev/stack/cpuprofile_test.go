package stack_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
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

// chargeProfile adds the CPU time of each sample of a gzipped pprof CPU
// profile to the owner of its stack, by name.
func chargeProfile(gz []byte, into map[string]int64) error {
	p, err := parseProfile(gz)
	if err != nil {
		return err
	}
	for _, s := range p.samples {
		var names []string
		for _, loc := range s.locations {
			for _, fn := range p.locations[loc] {
				names = append(names, p.strings[p.functions[fn]])
			}
		}
		into[ownerOf(names)] += s.value
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

// profile is what chargeProfile needs of a pprof profile
// (github.com/google/pprof/proto/profile.proto): each sample's locations and
// last value (CPU nanoseconds), each location's functions (inlined ones
// included), each function's name.
type profile struct {
	samples   []sample
	locations map[uint64][]uint64 // location id → function ids
	functions map[uint64]int64    // function id → name's index in strings
	strings   []string
}

type sample struct {
	locations []uint64
	value     int64
}

// parseProfile decodes the fields of profile.proto that profile holds.
func parseProfile(gz []byte) (*profile, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := &profile{locations: map[uint64][]uint64{}, functions: map[uint64]int64{}}
	err = fields(raw, func(field int, v uint64, b []byte) error {
		switch field {
		case 2: // Sample
			var s sample
			var values []uint64
			err := fields(b, func(field int, v uint64, b []byte) error {
				switch field {
				case 1:
					s.locations = appendPacked(s.locations, v, b)
				case 2:
					values = appendPacked(values, v, b)
				}
				return nil
			})
			if len(values) > 0 {
				s.value = int64(values[len(values)-1])
			}
			p.samples = append(p.samples, s)
			return err
		case 4: // Location
			var id uint64
			var fns []uint64
			err := fields(b, func(field int, v uint64, b []byte) error {
				switch field {
				case 1:
					id = v
				case 4: // Line
					return fields(b, func(field int, v uint64, _ []byte) error {
						if field == 1 {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			p.locations[id] = fns
			return err
		case 5: // Function
			var id uint64
			var name int64
			err := fields(b, func(field int, v uint64, _ []byte) error {
				switch field {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			})
			p.functions[id] = name
			return err
		case 6:
			p.strings = append(p.strings, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range p.functions {
		if name < 0 || name >= int64(len(p.strings)) {
			return nil, fmt.Errorf("profile: function name %d out of the string table", name)
		}
	}
	return p, nil
}

// fields calls f with each field of a protobuf message: its number, and its
// value (varint) or its bytes (length-delimited); fixed-size fields are skipped.
func fields(msg []byte, f func(field int, v uint64, b []byte) error) error {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return errors.New("profile: bad field key")
		}
		msg = msg[n:]
		var v uint64
		var b []byte
		switch key & 7 {
		case 0:
			if v, n = binary.Uvarint(msg); n <= 0 {
				return errors.New("profile: bad varint")
			}
			msg = msg[n:]
		case 1:
			if len(msg) < 8 {
				return errors.New("profile: short fixed64")
			}
			msg = msg[8:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || uint64(len(msg)-n) < l {
				return errors.New("profile: bad length")
			}
			b, msg = msg[n:n+int(l)], msg[n+int(l):]
		case 5:
			if len(msg) < 4 {
				return errors.New("profile: short fixed32")
			}
			msg = msg[4:]
		default:
			return fmt.Errorf("profile: wire type %d", key&7)
		}
		if err := f(int(key>>3), v, b); err != nil {
			return err
		}
	}
	return nil
}

// appendPacked appends a repeated varint field's value: v, or every
// varint packed in b.
func appendPacked(to []uint64, v uint64, b []byte) []uint64 {
	if b == nil {
		return append(to, v)
	}
	for len(b) > 0 {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			break
		}
		to, b = append(to, x), b[n:]
	}
	return to
}
