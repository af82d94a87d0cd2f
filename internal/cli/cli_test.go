package cli_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cleeng-connector/connector/internal/cli"
)

// TestNewHTTPServer_BoundsEveryConnection: every limit is set, and a
// request with oversized headers is refused before any handler runs.
func TestNewHTTPServer_BoundsEveryConnection(t *testing.T) {
	t.Parallel()
	var handled atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { handled.Store(true) })
	srv := cli.NewHTTPServer(h, 0)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout != cli.DefaultWriteTimeout ||
		srv.IdleTimeout <= 0 || srv.MaxHeaderBytes != cli.MaxHeaderBytes {
		t.Fatalf("server limits %+v", srv)
	}
	if long := cli.NewHTTPServer(h, 7*cli.DefaultWriteTimeout); long.WriteTimeout != 7*cli.DefaultWriteTimeout {
		t.Fatalf("write timeout %s, want the one given", long.WriteTimeout)
	}

	ts := httptest.NewUnstartedServer(h)
	ts.Config = srv
	ts.Start()
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	huge := strings.Repeat("a", 2*cli.MaxHeaderBytes)
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + huge + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || handled.Load() {
		t.Fatalf("oversized headers: %d (handled %t), want 431 before the handler", resp.StatusCode, handled.Load())
	}
}
