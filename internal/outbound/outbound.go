// Package outbound builds the HTTP clients the connector calls Cleeng and
// the gateways with: a per-request timeout, and a connection pool sized for
// many handlers in flight to one host. Go's default keeps two idle
// connections per host, so with more handlers than that most calls would
// open (and against real endpoints, handshake) a new TLS connection.
package outbound

import (
	"net/http"
	"time"
)

// MaxConnsPerHost bounds idle connections kept per host; it should exceed
// the handlers in flight (WORKER_CONCURRENCY per flow).
const MaxConnsPerHost = 256

// Client returns a client whose requests time out after timeout (0: none,
// the caller's context decides).
func Client(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = MaxConnsPerHost * 4
	t.MaxIdleConnsPerHost = MaxConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // the timeout and the context bound the whole call
	return &http.Client{Transport: t, Timeout: timeout}
}
