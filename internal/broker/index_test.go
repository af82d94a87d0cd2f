package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestOpen_IndexEntriesOutliveOperationRecords: the index is its own bucket
// with its own retention, so an entry stays when the operation records of
// the same time expire.
func TestOpen_IndexEntriesOutliveOperationRecords(t *testing.T) {
	ctx := context.Background()
	b, err := broker.Open(ctx, broker.Options{StoreDir: t.TempDir(), OpsTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Ops.Put(ctx, "initial.1", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Index.Put(ctx, "payment.adyen.PSP1", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the operation record expired", func() bool {
		_, err := b.Ops.Get(ctx, "initial.1")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	if _, err := b.Index.Get(ctx, "payment.adyen.PSP1"); err != nil {
		t.Fatalf("index entry after the operation records expired: %v", err)
	}
	if ttl := bucketTTL(t, b.Index); ttl != broker.DefaultIndexTTL {
		t.Errorf("index TTL %s, want the default %s", ttl, broker.DefaultIndexTTL)
	}
}

// TestOpen_ExistingKeepsTheDeclaredIndexRetention: operator commands bind to
// the index as declared, whatever their own settings say.
func TestOpen_ExistingKeepsTheDeclaredIndexRetention(t *testing.T) {
	srv, err := broker.StartEmbedded(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	declared, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL(), IndexTTL: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer declared.Close()
	bound, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL(), IndexTTL: time.Hour, Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	if bound.Index == nil {
		t.Fatal("bound broker has no index bucket")
	}
	if ttl := bucketTTL(t, bound.Index); ttl != 48*time.Hour {
		t.Errorf("index TTL %s after an operator command bound to it, want 48h as declared", ttl)
	}
}

func bucketTTL(t *testing.T, kv jetstream.KeyValue) time.Duration {
	t.Helper()
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.TTL()
}
