package testkit

import (
	"context"
	"testing"

	"github.com/cleeng-connector/connector/internal/broker"
)

// Broker opens an embedded JetStream server with the connector's streams and
// buckets on a store in a temporary directory; it is closed when the test
// ends.
func Broker(tb testing.TB) *broker.Broker {
	tb.Helper()
	b, err := broker.Open(context.Background(), broker.Options{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}
