package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cleeng-connector/connector/internal/broker"
)

// TestOpen_SeveralProcessesDeclareTheTopologyAtOnce: every role declares
// the streams and the bucket at start; doing so concurrently must converge.
func TestOpen_SeveralProcessesDeclareTheTopologyAtOnce(t *testing.T) {
	t.Parallel()
	srv, err := broker.StartEmbedded(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL()})
			if err != nil {
				errs <- err
				return
			}
			defer b.Close()
			errs <- b.Ready(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestOpen_ExistingBindsWithoutDeclaring(t *testing.T) {
	t.Parallel()
	srv, err := broker.StartEmbedded(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if _, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL(), Existing: true}); err == nil {
		t.Fatal("binding to a server without the streams succeeded; want an error saying they are missing")
	}
	declared, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer declared.Close()
	bound, err := broker.Open(context.Background(), broker.Options{URL: srv.ClientURL(), Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	if bound.Ops == nil {
		t.Fatal("bound broker has no operation bucket")
	}
}
