package testkit

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"testing"
	"time"

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

// BrokerProcess opens the connector's streams and buckets on a nats-server
// with JetStream in an OS process of its own, as it is deployed, on a
// store in a temporary directory, and returns the process's CPU time so
// far as a function; the process is killed when the test ends. A
// benchmark runs the server so to tell the connector's CPU from the
// server's.
func BrokerProcess(tb testing.TB) (*broker.Broker, func() time.Duration) {
	tb.Helper()
	host, port, _ := net.SplitHostPort(FreeAddr(tb))
	var logs bytes.Buffer
	cmd := exec.Command(Binary(tb, "github.com/nats-io/nats-server/v2"), "-a", host, "-p", port, "-js", "-sd", tb.TempDir())
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if tb.Failed() {
			tb.Logf("nats-server:\n%s", logs.String())
		}
	})
	url := "nats://" + net.JoinHostPort(host, port)
	var b *broker.Broker
	Eventually(tb, time.Minute, "nats-server serving JetStream", func() bool {
		var err error
		b, err = broker.Open(context.Background(), broker.Options{URL: url})
		return err == nil
	})
	tb.Cleanup(b.Close)
	pid := cmd.Process.Pid
	return b, func() time.Duration { return ProcessCPUTime(tb, pid) }
}

// FreeAddr is a loopback address no one listens on now, for a process the
// test starts to listen on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
