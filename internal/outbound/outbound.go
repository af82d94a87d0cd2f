// Package outbound builds the HTTP clients the connector calls Cleeng and
// the gateways with: a per-request timeout, and a connection pool sized for
// many handlers in flight to one host. Go's default keeps two idle
// connections per host, so with more handlers than that most calls would
// open (and against real endpoints, handshake) a new TLS connection.
//
// ServiceClient's requests are counted in connector_outbound_requests_total
// by service and result: the failures there are what the connector retries
// (in process for Adyen and Cleeng, by redelivery for every service). They
// are traced too (internal/telemetry).
package outbound

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cleeng-connector/connector/internal/telemetry"
)

// MaxConnsPerHost bounds idle connections kept per host; it should exceed
// the handlers in flight (WORKER_CONCURRENCY per flow), or every call
// beyond it opens a connection that is closed again once answered. The
// connector is measured with 2,000 handlers in flight against a slow
// gateway (README, Performance). Idle connections beyond those in use
// recently close after IdleConnTimeout.
const MaxConnsPerHost = 4096

// connBufferSize is the size of each HTTP/1.1 connection's read and write
// buffer, which it keeps for its life (4 KB each by default). A call to
// Cleeng or a gateway is about a kilobyte each way; a longer header or body
// only takes more reads or writes. With a connection per call in flight and
// thousands in flight against a slow gateway, the default buffers were a
// sixth of the memory a renewal in flight takes.
const connBufferSize = 1 << 10

// Client returns a client whose requests time out after timeout (0: none,
// the caller's context decides).
func Client(timeout time.Duration) *http.Client {
	return client(timeout, 0)
}

// client is Client with at most maxConns connections to a host, in use or
// idle (0: no bound); a request beyond them waits for one, within its
// context.
func client(timeout time.Duration, maxConns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = MaxConnsPerHost * 4
	t.MaxIdleConnsPerHost = MaxConnsPerHost
	t.MaxConnsPerHost = maxConns
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // the timeout and the context bound the whole call
	t.ReadBufferSize, t.WriteBufferSize = connBufferSize, connBufferSize
	if timeout <= 0 {
		return &http.Client{Transport: t}
	}
	return &http.Client{Transport: deadline{next: t, timeout: timeout}}
}

// deadline bounds a request, its answer's body included, by a context
// timeout. http.Client.Timeout would do the same with two goroutines per
// request (a timer's and the transport's legacy cancellation watcher):
// with thousands of calls held by a slow gateway, those were a fifth of
// the memory a renewal in flight takes.
type deadline struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (d deadline) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	resp, err := d.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends the request's timeout once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// ServiceClient is Client with every request counted under service and,
// when tracing is on, traced as a client span of the calling operation.
// maxConns bounds its connections to a host, and so its calls in flight
// there (0: no bound, for a gateway that holds a connection per handler
// waiting on it).
func ServiceClient(service string, timeout time.Duration, maxConns int) *http.Client {
	c := client(timeout, maxConns)
	c.Transport = telemetry.Transport(service, counted{next: c.Transport, service: service})
	return c
}

// requests is process-wide: the clients are built inside the packages that
// use them, with their defaults, where no registry reaches. A binary adds it
// to the registry it serves (Requests).
var requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "connector_outbound_requests_total",
	Help: "Requests to Cleeng and the gateways, by service and result (2xx, 4xx, 429, 5xx, error: no answer).",
}, []string{"service", "result"})

// Requests is the request counter, for a binary's registry.
func Requests() prometheus.Collector { return requests }

type counted struct {
	next    http.RoundTripper
	service string
}

func (c counted) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	requests.WithLabelValues(c.service, result(resp, err)).Inc()
	return resp, err
}

// result is the label of one round trip: the status class, 429 on its own
// (a request to slow down, retried later), or "error" when no answer came.
func result(resp *http.Response, err error) string {
	switch {
	case err != nil:
		return "error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "429"
	default:
		return strconv.Itoa(resp.StatusCode/100) + "xx"
	}
}
