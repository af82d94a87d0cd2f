package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/internal/broker"
)

// TestOpen_AKVRequestWhoseReplyIsLostFailsBeforeTheCallersDeadline: on a
// cluster, the reply to a KV write is lost for good when the client's node
// dies or the stream's leader steps down before answering, and nats.go
// waits for it until the context ends. A flow handler's context lasts
// minutes: the write must fail sooner, so the flow retries it. The lost
// reply is played by a subscriber that takes the bucket's requests in place
// of the stream (removed) and never answers.
func TestOpen_AKVRequestWhoseReplyIsLostFailsBeforeTheCallersDeadline(t *testing.T) {
	t.Parallel()
	srv, err := broker.StartEmbedded(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	b, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.JS.DeleteStream(context.Background(), "KV_"+broker.OpsBucket); err != nil {
		t.Fatal(err)
	}
	swallow, err := b.Conn.Subscribe("$KV."+broker.OpsBucket+".>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer swallow.Unsubscribe()
	if err := b.Conn.Flush(); err != nil {
		t.Fatal(err)
	}

	handler, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err = b.Ops.Put(handler, "charge.1", []byte(`{}`))
	if !errors.Is(err, context.DeadlineExceeded) || handler.Err() != nil {
		t.Fatalf("put whose reply never comes: err %v with the handler's context %v; want its own deadline exceeded, the handler's still running", err, handler.Err())
	}
}
