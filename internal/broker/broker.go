// Package broker connects the connector to NATS JetStream, or starts an
// embedded JetStream server, and declares the streams and the KV buckets
// every role relies on (DESIGN section 3).
package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleeng-connector/connector/internal/config"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Names of the JetStream resources. Subjects are documented in DESIGN section 3.
const (
	InboxStream = "CONNECTOR_INBOX"
	DLQStream   = "CONNECTOR_DLQ"
	OpsBucket   = "CONNECTOR_OPS"
	IndexBucket = "CONNECTOR_INDEX"

	// InboxSubjects: cleeng.webhook.<topic>, checkout.<command>, gateway.<name>.<event>.
	SubjectCleengWebhook = "cleeng.webhook"
	SubjectCheckout      = "checkout"
	SubjectGateway       = "gateway"
	SubjectDLQ           = "dlq"
)

// Options say where JetStream is and how its resources are shaped.
type Options struct {
	// URL of a NATS server, or several comma-separated. Empty: start an
	// embedded server storing under StoreDir.
	URL string
	// Auth and TLS of the connection to URL.
	Auth Auth
	// StoreDir is the embedded server's JetStream directory.
	StoreDir string
	// EmbeddedPort is the embedded server's port on 127.0.0.1; 0 picks a free one.
	EmbeddedPort int
	// Replicas of the streams and the KV buckets (1 embedded, 3 on a cluster).
	Replicas int
	// DuplicateWindow of the inbox: a re-sent copy within it is dropped. Default 1h.
	DuplicateWindow time.Duration
	// InboxMaxAge: an unprocessed event must not expire before a human can act. Default 30 days.
	InboxMaxAge time.Duration
	// InboxMaxBytes bounds the inbox. When it is full a publish is refused
	// (the ingress answers 503 and the sender re-sends): a stored event is
	// never dropped to make room. Default 1 GiB.
	InboxMaxBytes int64
	// DLQMaxAge: a dead letter expires after it. It must be shorter than
	// OpsTTL: a replayed letter resumes its operation from the record, and
	// without the record it would start over. Default 30 days.
	DLQMaxAge time.Duration
	// DLQMaxBytes bounds the dead-letter stream. When it is full a letter
	// is refused and its message stays in the inbox, redelivered until the
	// letter is stored: nothing is dropped. Default 1 GiB.
	DLQMaxBytes int64
	// OpsTTL: how long an operation record is kept. Default 35 days, longer than Adyen's 30-day retries.
	OpsTTL time.Duration
	// IndexTTL: how long an index entry (which Cleeng payment and gateway a
	// gateway reference belongs to) is kept after its last write. Refunds
	// and chargebacks arrive months after the payment, long after its
	// operation record expired: card schemes allow chargebacks up to about
	// 540 days after the transaction. Default two years (DefaultIndexTTL).
	IndexTTL time.Duration
	// Name is the client connection name shown in the server's monitoring.
	Name string
	// Existing binds to the streams and the KV buckets as they are, without
	// creating or updating them: for operator commands, which must not
	// change a deployment's settings.
	Existing bool
}

// DefaultMaxBytes is the default size limit of the inbox and of the
// dead-letter stream: far more than a day of webhooks, far less than a disk.
const DefaultMaxBytes = 1 << 30

// DefaultIndexTTL outlasts the longest chargeback window of the card
// schemes (about 540 days) with room for a late refund.
const DefaultIndexTTL = 2 * 365 * 24 * time.Hour

func (o *Options) setDefaults() {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = time.Hour
	}
	if o.InboxMaxAge == 0 {
		o.InboxMaxAge = 30 * 24 * time.Hour
	}
	if o.InboxMaxBytes == 0 {
		o.InboxMaxBytes = DefaultMaxBytes
	}
	if o.DLQMaxAge == 0 {
		o.DLQMaxAge = 30 * 24 * time.Hour
	}
	if o.DLQMaxBytes == 0 {
		o.DLQMaxBytes = DefaultMaxBytes
	}
	if o.OpsTTL == 0 {
		o.OpsTTL = 35 * 24 * time.Hour
	}
	if o.IndexTTL == 0 {
		o.IndexTTL = DefaultIndexTTL
	}
	if o.StoreDir == "" {
		o.StoreDir = "./data/nats"
	}
	if o.Name == "" {
		o.Name = "connector"
	}
}

// Broker is a live connection to JetStream with the topology declared.
type Broker struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	Ops  jetstream.KeyValue
	// Index holds the flows' payment index (IndexBucket), kept for IndexTTL.
	Index jetstream.KeyValue
	// Server is the embedded server, nil when connected to an external one.
	Server *Embedded
	// URL is where NATS was reached, its passwords redacted: printable.
	URL string
}

// Open connects (or embeds), then creates or updates the streams and the KV buckets.
func Open(ctx context.Context, opts Options) (*Broker, error) {
	opts.setDefaults()
	b := &Broker{}
	url := opts.URL
	if url == "" {
		srv, err := StartEmbedded(opts.StoreDir, opts.EmbeddedPort)
		if err != nil {
			return nil, err
		}
		b.Server = srv
		url = srv.ClientURL()
	}
	b.URL = config.RedactURL(url)
	auth, err := opts.Auth.options()
	if err != nil {
		b.Close()
		return nil, err
	}
	nc, err := nats.Connect(url, append(auth,
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
	)...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connect to NATS at %s: %w", b.URL, err)
	}
	b.Conn = nc
	js, err := jetstream.New(nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b.JS = js
	declare := b.declare
	if opts.Existing {
		declare = b.bind
	}
	if err := declare(ctx, opts); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// InboxConfig is the inbox stream: work-queue retention, file storage.
func InboxConfig(opts Options) jetstream.StreamConfig {
	opts.setDefaults()
	return jetstream.StreamConfig{
		Name:        InboxStream,
		Description: "webhooks, checkout commands and gateway notifications awaiting their flow",
		Subjects:    []string{SubjectCleengWebhook + ".>", SubjectCheckout + ".>", SubjectGateway + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		Duplicates:  opts.DuplicateWindow,
		MaxAge:      opts.InboxMaxAge,
		MaxBytes:    opts.InboxMaxBytes,
		Discard:     jetstream.DiscardNew,
	}
}

// DLQConfig is the dead-letter stream: kept until an operator acts, or
// DLQMaxAge; when full, new letters are refused rather than old ones dropped.
func DLQConfig(opts Options) jetstream.StreamConfig {
	opts.setDefaults()
	return jetstream.StreamConfig{
		Name:        DLQStream,
		Description: "messages a flow gave up on, with the reason in headers",
		Subjects:    []string{SubjectDLQ + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
		MaxAge:      opts.DLQMaxAge,
		MaxBytes:    opts.DLQMaxBytes,
		Discard:     jetstream.DiscardNew,
	}
}

func (b *Broker) declare(ctx context.Context, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, declareTimeout)
	defer cancel()
	// CreateOrUpdate is idempotent, so several processes starting at once
	// converge on the same configuration; a racing create surfaces as
	// "already in use", which a later attempt resolves as an update.
	for _, cfg := range []jetstream.StreamConfig{InboxConfig(opts), DLQConfig(opts)} {
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := b.JS.CreateOrUpdateStream(ctx, cfg)
			return err
		}); err != nil {
			return fmt.Errorf("declare stream %s: %w", cfg.Name, err)
		}
	}
	for _, bucket := range b.buckets(opts) {
		if err := retry(ctx, func(ctx context.Context) error {
			kv, err := b.JS.CreateOrUpdateKeyValue(ctx, bucket.config)
			if err != nil {
				return err
			}
			if opts.Replicas > 1 {
				if kv, err = b.readFromLeader(ctx, bucket.config.Bucket); err != nil {
					return err
				}
			}
			*bucket.into = bounded(kv)
			return nil
		}); err != nil {
			return fmt.Errorf("declare KV %s: %w", bucket.config.Bucket, err)
		}
	}
	return nil
}

// readFromLeader turns direct gets off for a replicated bucket and binds it
// again, so that its reads go to the stream's leader. A direct get may be
// answered by any replica, and a follower applies a write after the
// leader acknowledged it: a flow reading a record it or another worker has
// just written (a claim, a capture record read again after Cleeng's
// answer) could see the one before. The writes compare revisions and would
// refuse, but a decision made on a stale read would not. nats.go declares
// every bucket with direct gets on, so each declaration turns them off
// again before binding, until a bind finds them off (another process
// declaring at the same moment turns them on in between).
func (b *Broker) readFromLeader(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	name := "KV_" + bucket
	for {
		stream, err := b.JS.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		if cfg := stream.CachedInfo().Config; cfg.AllowDirect {
			cfg.AllowDirect = false
			if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
				return nil, err
			}
		}
		kv, err := b.JS.KeyValue(ctx, bucket)
		if err != nil {
			return nil, err
		}
		status, err := kv.Status(ctx)
		if err != nil {
			return nil, err
		}
		if info, ok := status.(*jetstream.KeyValueBucketStatus); ok && !info.StreamInfo().Config.AllowDirect {
			return kv, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// bucket is a KV bucket the broker declares or binds, and the field of the
// Broker it is opened into.
type bucket struct {
	config jetstream.KeyValueConfig
	into   *jetstream.KeyValue
}

// buckets are the operation records, kept OpsTTL after their last write,
// and the index entries that must outlive them, kept IndexTTL.
func (b *Broker) buckets(opts Options) []bucket {
	opts.setDefaults()
	kv := func(name, description string, ttl time.Duration) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{Bucket: name, Description: description, History: 1, TTL: ttl,
			Storage: jetstream.FileStorage, Replicas: opts.Replicas}
	}
	return []bucket{
		{kv(OpsBucket, "one record per business operation: claims and step results", opts.OpsTTL), &b.Ops},
		{kv(IndexBucket, "which gateway and Cleeng payment a gateway reference belongs to, for refunds and chargebacks", opts.IndexTTL), &b.Index},
	}
}

const (
	// declareTimeout bounds the whole declaration: a cluster electing its
	// first JetStream leader takes some seconds.
	declareTimeout = time.Minute
	// firstAttemptTimeout bounds the first attempt, so a request sent before
	// the leader existed does not hold the declaration up; an attempt that
	// runs out doubles the next one's, up to maxAttemptTimeout, so a slow
	// machine makes the start longer, never failed.
	firstAttemptTimeout = 3 * time.Second
	maxAttemptTimeout   = 20 * time.Second
	// firstPause and maxPause space the attempts while JetStream is not
	// ready: there is no event to wait for, so it is asked again, less
	// often the longer it takes.
	firstPause = 20 * time.Millisecond
	maxPause   = time.Second
)

// retry calls f until it succeeds or ctx ends. A declaration that lost a
// race with another process's ("already in use") is tried again at once:
// the other has finished, and the next attempt updates what it created.
func retry(ctx context.Context, f func(context.Context) error) error {
	attemptTimeout, pause := firstAttemptTimeout, firstPause
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(attemptCtx)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
			continue
		case errors.Is(err, context.DeadlineExceeded):
			attemptTimeout = min(2*attemptTimeout, maxAttemptTimeout)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// bind finds the resources a deployment declared, leaving their settings
// as they are.
func (b *Broker) bind(ctx context.Context, opts Options) error {
	if err := b.Ready(ctx); err != nil {
		if b.Server != nil {
			return fmt.Errorf("%w: no connector has run on the store in %s (set NATS_URL to reach a running one, or NATS_STORE_DIR to its store)", err, opts.StoreDir)
		}
		return fmt.Errorf("%w (start the connector once to declare them)", err)
	}
	for _, bucket := range b.buckets(opts) {
		kv, err := b.JS.KeyValue(ctx, bucket.config.Bucket)
		if err != nil {
			return fmt.Errorf("KV %s: %w (start the connector once to declare it)", bucket.config.Bucket, err)
		}
		*bucket.into = bounded(kv)
	}
	return nil
}

// Ready reports whether NATS is reachable and both streams exist.
func (b *Broker) Ready(ctx context.Context) error {
	if !b.Conn.IsConnected() {
		return errors.New("NATS not connected")
	}
	for _, name := range []string{InboxStream, DLQStream} {
		if _, err := b.JS.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

// Close closes the connection and shuts the embedded server down, waiting
// for its store to be flushed and closed. Consumers drain before this (workers).
func (b *Broker) Close() {
	if b.Conn != nil {
		b.Conn.Close()
	}
	if b.Server != nil {
		b.Server.Shutdown()
	}
}

// StreamMetrics reports the fill of the inbox and of the dead-letter
// stream at every scrape (bytes, messages and the byte limit, by stream),
// so an alert fires well before a full inbox answers 503.
func (b *Broker) StreamMetrics() prometheus.Collector { return streamMetrics{b} }

var (
	streamBytesDesc = prometheus.NewDesc("connector_stream_bytes",
		"Bytes stored in a JetStream stream of the connector.", []string{"stream"}, nil)
	streamMessagesDesc = prometheus.NewDesc("connector_stream_messages",
		"Messages stored in a JetStream stream of the connector.", []string{"stream"}, nil)
	streamMaxBytesDesc = prometheus.NewDesc("connector_stream_max_bytes",
		"Byte limit of a JetStream stream of the connector: past it, new messages are refused.", []string{"stream"}, nil)
)

type streamMetrics struct{ b *Broker }

func (m streamMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamBytesDesc
	ch <- streamMessagesDesc
	ch <- streamMaxBytesDesc
}

// Collect asks JetStream for each stream's state; a stream it cannot reach
// within the scrape's bound is left out (readiness reports NATS down).
func (m streamMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, name := range []string{InboxStream, DLQStream} {
		info, err := m.b.JS.Stream(ctx, name)
		if err != nil {
			continue
		}
		st := info.CachedInfo()
		ch <- prometheus.MustNewConstMetric(streamBytesDesc, prometheus.GaugeValue, float64(st.State.Bytes), name)
		ch <- prometheus.MustNewConstMetric(streamMessagesDesc, prometheus.GaugeValue, float64(st.State.Msgs), name)
		ch <- prometheus.MustNewConstMetric(streamMaxBytesDesc, prometheus.GaugeValue, float64(st.Config.MaxBytes), name)
	}
}
