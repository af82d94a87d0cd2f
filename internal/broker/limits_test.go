package broker_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/broker"
)

// TestOpen_StreamsAreBoundedAndRefuseRatherThanDrop: both streams are
// created with their byte and age limits, and a full stream refuses a new
// message while keeping every stored one; the gauges report the fill.
func TestOpen_StreamsAreBoundedAndRefuseRatherThanDrop(t *testing.T) {
	t.Parallel()
	opts := broker.Options{StoreDir: t.TempDir(), InboxMaxBytes: 4096, InboxMaxAge: 48 * time.Hour,
		DLQMaxBytes: 8192, DLQMaxAge: 24 * time.Hour}
	b, err := broker.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for _, want := range []struct {
		stream   string
		maxBytes int64
		maxAge   time.Duration
	}{{broker.InboxStream, 4096, 48 * time.Hour}, {broker.DLQStream, 8192, 24 * time.Hour}} {
		s, err := b.JS.Stream(ctx, want.stream)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		if cfg.MaxBytes != want.maxBytes || cfg.MaxAge != want.maxAge || cfg.Discard != jetstream.DiscardNew {
			t.Errorf("%s: MaxBytes %d MaxAge %s Discard %s; want %d, %s, DiscardNew", want.stream, cfg.MaxBytes, cfg.MaxAge, cfg.Discard, want.maxBytes, want.maxAge)
		}
	}

	body := bytes.Repeat([]byte("x"), 1000)
	stored := 0
	for {
		_, err := b.JS.Publish(ctx, broker.SubjectCheckout+".payment", body)
		if err != nil {
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Description, "maximum bytes exceeded") {
				t.Fatalf("publish into a full inbox: %v, want maximum bytes exceeded", err)
			}
			break
		}
		if stored++; stored > 10 {
			t.Fatal("the inbox took more than its byte limit")
		}
	}
	s, err := b.JS.Stream(ctx, broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.CachedInfo().State; st.FirstSeq != 1 || st.Msgs != uint64(stored) {
		t.Fatalf("full inbox holds messages %d..%d (%d), want 1..%d: nothing stored may be dropped", st.FirstSeq, st.LastSeq, st.Msgs, stored)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(b.StreamMetrics())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	if got["connector_stream_messages/"+broker.InboxStream] != float64(stored) ||
		got["connector_stream_bytes/"+broker.InboxStream] < float64(stored*len(body)) ||
		got["connector_stream_max_bytes/"+broker.InboxStream] != 4096 ||
		got["connector_stream_max_bytes/"+broker.DLQStream] != 8192 ||
		got["connector_stream_messages/"+broker.DLQStream] != 0 {
		t.Fatalf("gauges %v; want the inbox's %d messages of its 4096 bytes and an empty dead-letter stream of 8192", got, stored)
	}
}
