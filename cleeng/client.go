package cleeng

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/outbound"
)

// maxResponseBody bounds what the client reads from one answer.
const maxResponseBody = 4 << 20

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// BaseURL of the API including the version, e.g. SandboxBaseURL or
	// "http://127.0.0.1:8090/cleeng/3.1". Required.
	BaseURL string
	// PublisherToken is sent as X-Publisher-Token. Required. Never logged.
	PublisherToken string
	// HTTPClient sends the requests. Default: outbound.ServiceClient (a pool
	// of MaxConnections, counted as service "cleeng"; Timeout bounds each
	// attempt).
	HTTPClient *http.Client
	// MaxConnections bounds the default HTTPClient's connections to the
	// API, and so the calls in flight there; a call beyond them waits for
	// one. Default DefaultMaxConnections.
	MaxConnections int
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration
	// MaxRetries is how many times a call safe to repeat is retried after a
	// transient failure. Default 3; negative: never.
	MaxRetries int
	// RetryInitialInterval is the first wait between retries, growing
	// exponentially up to RetryMaxInterval. Defaults 200ms and 5s.
	RetryInitialInterval time.Duration
	RetryMaxInterval     time.Duration
	// Logger receives one debug line per attempt (method, path, status,
	// duration) and one warning per retry. The zero value logs nothing.
	Logger zerolog.Logger
}

// DefaultMaxConnections is the default bound on the calls in flight to
// Cleeng. A renewal's Cleeng calls take milliseconds, against a gateway's
// call of up to seconds, so a few dozen connections carry thousands of
// renewals in flight; unbounded, every handler finishing at once opened a
// connection of its own, a burst Cleeng's rate limit answers 429, and the
// pool then kept them all (about 10 KB each).
const DefaultMaxConnections = 64

func (c *Config) setDefaults() {
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.HTTPClient == nil {
		c.HTTPClient = outbound.ServiceClient("cleeng", 0, c.MaxConnections)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.RetryInitialInterval <= 0 {
		c.RetryInitialInterval = 200 * time.Millisecond
	}
	if c.RetryMaxInterval <= 0 {
		c.RetryMaxInterval = 5 * time.Second
	}
}

func (c *Config) validate() error {
	if c.PublisherToken == "" {
		return errors.New("cleeng: publisher token is required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cleeng: base URL %q: want http(s)://host/path", c.BaseURL)
	}
	return nil
}

// Client calls Cleeng's Payment API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
}

// NewClient validates cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/")}, nil
}

// CreateOrder creates an order (POST /orders). Not repeated on failure: an
// unknown outcome leaves at most an unused order behind, which expires.
func (c *Client) CreateOrder(ctx context.Context, req CreateOrderRequest) (Order, error) {
	var o Order
	return o, c.do(ctx, http.MethodPost, pathOrders, req, createsOnce, &o)
}

// GetOrder reads an order (GET /orders/{id}).
func (c *Client) GetOrder(ctx context.Context, orderID ID) (Order, error) {
	var o Order
	return o, c.do(ctx, http.MethodGet, pathf(pathOrder, orderID), nil, repeatable, &o)
}

// CreatePayment reports a payment (POST /payments). It is sent once: a lost
// answer is a failure.UnknownOutcome, and a payment Cleeng already holds for
// the externalPaymentId is a *ConflictError carrying it.
func (c *Client) CreatePayment(ctx context.Context, req CreatePaymentRequest) (Payment, error) {
	var p Payment
	return p, c.do(ctx, http.MethodPost, pathPayments, req, createsOnce, &p)
}

// UpdatePayment moves a payment to req.Status (PATCH /payments/{id}):
// captured, rejected or refunded. Setting a status is repeatable.
func (c *Client) UpdatePayment(ctx context.Context, paymentID ID, req UpdatePaymentRequest) (Payment, error) {
	var p Payment
	return p, c.do(ctx, http.MethodPatch, pathf(pathPayment, paymentID), req, repeatable, &p)
}

// CancelPayment cancels an authorised, not captured payment
// (PATCH /payments/{id}/cancel).
func (c *Client) CancelPayment(ctx context.Context, paymentID ID) (Payment, error) {
	var p Payment
	return p, c.do(ctx, http.MethodPatch, pathf(pathPaymentCancel, paymentID), nil, repeatable, &p)
}

// CreatePaymentDetails stores new payment details (POST /payment_details).
// Sent once, like CreatePayment.
func (c *Client) CreatePaymentDetails(ctx context.Context, req CreatePaymentDetailsRequest) (PaymentDetails, error) {
	var d PaymentDetails
	return d, c.do(ctx, http.MethodPost, pathPaymentDetails, req, createsOnce, &d)
}

// DeletePaymentDetails deletes payment details, irreversibly
// (DELETE /payment_details/{id}).
func (c *Client) DeletePaymentDetails(ctx context.Context, paymentDetailsID ID) error {
	return c.do(ctx, http.MethodDelete, pathf(pathPaymentDetail, paymentDetailsID), nil, repeatable, nil)
}

// AuthorisedPayments lists the payments authorised and not captured for the
// payment details (GET /payment_details/{id}/authorised_payments). Both a
// bare array and {"items":[...]} are accepted [decided].
func (c *Client) AuthorisedPayments(ctx context.Context, paymentDetailsID ID) ([]Payment, error) {
	var raw json.RawMessage
	path := pathf(pathAuthorisedPayments, paymentDetailsID)
	if err := c.do(ctx, http.MethodGet, path, nil, repeatable, &raw); err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	var list []Payment
	var err error
	if len(raw) > 0 && raw[0] == '[' {
		err = json.Unmarshal(raw, &list)
	} else {
		var page authorisedPaymentsPage
		err = json.Unmarshal(raw, &page)
		list = page.Items
	}
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("cleeng: GET %s: decode answer: %w", path, err))
	}
	return list, nil
}

// UpdateSubscription changes exactly one field of a subscription
// (PATCH /subscriptions/{id}) [doc].
func (c *Client) UpdateSubscription(ctx context.Context, subscriptionID ID, req UpdateSubscriptionRequest) (Subscription, error) {
	set := 0
	for _, v := range []string{string(req.Status), string(req.PaymentDetailsID), req.ExpiresAt} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return Subscription{}, failure.Permanentf("cleeng: update subscription %s: exactly one field per call, got %d", subscriptionID, set)
	}
	var s Subscription
	return s, c.do(ctx, http.MethodPatch, pathf(pathSubscription, subscriptionID), req, repeatable, &s)
}

// TerminateSubscription is UpdateSubscription with {"status":"terminated"} [decided].
func (c *Client) TerminateSubscription(ctx context.Context, subscriptionID ID) (Subscription, error) {
	return c.UpdateSubscription(ctx, subscriptionID, UpdateSubscriptionRequest{Status: SubscriptionTerminated})
}

// WebhookSubscriptions lists every topic with its endpoints (GET /webhook_subscriptions).
func (c *Client) WebhookSubscriptions(ctx context.Context) (WebhookSubscriptions, error) {
	subs := WebhookSubscriptions{}
	return subs, c.do(ctx, http.MethodGet, pathWebhookSubscriptions, nil, repeatable, &subs)
}

// PutWebhookSubscription replaces the endpoint list of topic
// (PUT /webhook_subscriptions/{topic}) and returns the stored list.
func (c *Client) PutWebhookSubscription(ctx context.Context, topic string, endpoints []WebhookEndpoint) ([]WebhookEndpoint, error) {
	if endpoints == nil {
		endpoints = []WebhookEndpoint{}
	}
	var out []WebhookEndpoint
	return out, c.do(ctx, http.MethodPut, pathf(pathWebhookSubscription, ID(topic)), endpoints, repeatable, &out)
}

func pathf(format string, id ID) string {
	return fmt.Sprintf(format, url.PathEscape(string(id)))
}

// safety says whether a call may be sent again after an ambiguous failure.
type safety bool

const (
	// repeatable calls (GET, PUT, DELETE, PATCH to a status) give the same
	// result when sent twice, so they are retried.
	repeatable safety = true
	// createsOnce calls (POST) create a resource each time they are applied.
	// Cleeng has no idempotency key, so they are never retried here.
	createsOnce safety = false
)

// do sends one call, retrying a repeatable one after transient failures
// with exponential backoff while ctx allows.
func (c *Client) do(ctx context.Context, method, path string, in any, s safety, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return failure.Permanent(fmt.Errorf("cleeng: %s %s: encode request: %w", method, path, err))
		}
	}
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.cfg.RetryInitialInterval),
		backoff.WithMaxInterval(c.cfg.RetryMaxInterval),
		backoff.WithMaxElapsedTime(0),
	)
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, method, path, body, s, out)
		if err == nil || s == createsOnce || attempt > c.cfg.MaxRetries || !failure.Is(err, failure.ClassTransient) {
			return err
		}
		wait := bo.NextBackOff()
		if after := failure.RetryAfter(err); after > wait {
			wait = after
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		c.cfg.Logger.Warn().Str("method", method).Str("path", path).Int("attempt", attempt).
			Dur("wait", wait).Err(err).Msg("cleeng call failed, retrying")
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// attempt sends the request once, with its own deadline, and classifies the outcome.
func (c *Client) attempt(ctx context.Context, method, path string, body []byte, s safety, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return failure.Permanent(fmt.Errorf("cleeng: %s %s: %w", method, path, err))
	}
	req.Header.Set(HeaderPublisherToken, c.cfg.PublisherToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return transportFailure(method, path, err, s)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return transportFailure(method, path, err, s)
	}
	c.cfg.Logger.Debug().Str("method", method).Str("path", path).Int("status", resp.StatusCode).
		Dur("took", time.Since(start)).Msg("cleeng call")
	return c.answer(method, path, resp, raw, s, out)
}

// transportFailure classifies a failure without an HTTP answer. A request
// that never left (dial or DNS failure) is transient; otherwise it may have
// been applied: harmless for a repeatable call, an unknown outcome for a
// creating one.
func transportFailure(method, path string, err error, s safety) error {
	// The error names the URL, never a header: the token cannot be in it.
	wrapped := fmt.Errorf("cleeng: %s %s: %w", method, path, err)
	if s == repeatable || notSent(err) {
		return failure.Transient(wrapped)
	}
	return failure.UnknownOutcome(wrapped)
}

func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// answer classifies an HTTP answer and decodes a successful one into out.
func (c *Client) answer(method, path string, resp *http.Response, raw []byte, s safety, out any) error {
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		if out == nil || len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			err = fmt.Errorf("cleeng: %s %s: HTTP %d, undecodable answer: %w", method, path, status, err)
			if s == createsOnce {
				// Applied, but what was created is unknown.
				return failure.UnknownOutcome(err)
			}
			return failure.Permanent(err)
		}
		return nil
	case status == http.StatusConflict && method == http.MethodPost && path == pathPayments:
		var existing Payment
		if json.Unmarshal(raw, &existing) == nil && existing.ID != "" {
			return failure.Permanent(&ConflictError{Existing: existing, APIError: *newAPIError(method, path, status, raw, c.cfg.PublisherToken)})
		}
	case status == http.StatusConflict && method == http.MethodPost && path == pathSubscriptions:
		// The subscription for the external id exists: it is the answer.
		var existing Subscription
		if json.Unmarshal(raw, &existing) == nil && existing.SubscriptionID != "" {
			if out, ok := out.(*Subscription); ok {
				*out = existing
				return nil
			}
		}
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status == http.StatusServiceUnavailable:
		// Refused before being applied: safe to send again, also for a POST.
		err := newAPIError(method, path, status, raw, c.cfg.PublisherToken)
		return &failure.Error{Class: failure.ClassTransient, After: retryAfter(resp.Header), Err: err}
	case status >= 500:
		err := newAPIError(method, path, status, raw, c.cfg.PublisherToken)
		if s == createsOnce {
			// A 500, 502 or 504 may come after the change was applied.
			return failure.UnknownOutcome(err)
		}
		return failure.Transient(err)
	}
	return failure.Permanent(newAPIError(method, path, status, raw, c.cfg.PublisherToken))
}

// retryAfter reads a Retry-After header given in seconds; 0 if absent.
func retryAfter(h http.Header) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}
