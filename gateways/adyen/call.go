package adyen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/adyen/adyen-go-api-library/v9/src/common"
	"github.com/cenkalti/backoff/v4"

	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/knockout"
)

// maxKeyLen is Adyen's limit on Idempotency-Key.
const maxKeyLen = 64

// idempotencyKey returns the key sent to Adyen for the operation's key: the
// key itself when it fits, else its SHA-256 in hex (64 characters), so every
// retry of the same operation sends the same header.
func idempotencyKey(key string) (string, error) {
	if key == "" {
		return "", failure.Permanentf("adyen: idempotency key is required")
	}
	if knockout.Off(knockout.IdempotencyKeys) {
		return "", nil // a test build's knockout: the header goes empty, which Adyen ignores
	}
	if len(key) <= maxKeyLen {
		return key, nil
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), nil
}

// call runs one Adyen operation with bounded in-process retries. op is the
// library call; it must send the same idempotency key on every attempt.
// The returned error is classified with internal/failure.
func (g *Gateway) call(ctx context.Context, what string, op func(context.Context) (*http.Response, error)) error {
	policy := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(g.cfg.RetryBase),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(0), // bounded by MaxAttempts and ctx instead
	)
	var last error
	attempt := func() error {
		resp, err := op(ctx)
		if err == nil {
			return nil
		}
		last = classify(ctx, what, resp, err)
		if c := failure.ClassOf(last); c == failure.ClassTransient || c == failure.ClassUnknownOutcome {
			return last
		}
		return backoff.Permanent(last)
	}
	b := backoff.WithContext(backoff.WithMaxRetries(policy, uint64(g.cfg.MaxAttempts-1)), ctx)
	if err := backoff.Retry(attempt, b); err != nil {
		if last == nil { // ctx ended before the first attempt
			return failure.Transient(fmt.Errorf("%s: %w", what, err))
		}
		return last
	}
	return nil
}

// send is call for a library operation that answers a value, which it
// returns.
func send[A any](ctx context.Context, g *Gateway, what string, op func(context.Context) (A, *http.Response, error)) (A, error) {
	var answer A
	err := g.call(ctx, what, func(ctx context.Context) (*http.Response, error) {
		var httpResp *http.Response
		var err error
		answer, httpResp, err = op(ctx)
		return httpResp, err
	})
	return answer, err
}

// classify maps a library error to a failure class. The library returns
// common.APIError BY VALUE, with the *http.Response beside it.
func classify(ctx context.Context, what string, resp *http.Response, err error) error {
	var apiErr common.APIError
	if resp != nil && errors.As(err, &apiErr) {
		status := resp.StatusCode
		switch {
		case status < 300:
			// Applied, but the answer could not be read: only a retry with
			// the same key can tell what happened.
			return failure.UnknownOutcome(fmt.Errorf("%s: unreadable %d answer: %w", what, status, apiErr))
		case status == http.StatusTooManyRequests, status >= 500:
			return failure.Transient(fmt.Errorf("%s: %w", what, apiErr))
		case (apiErr.Code == "704" || apiErr.Code == "703") && resp.Header.Get("Transient-Error") == "true":
			// The same key is in flight (704) or the idempotency store is down (703).
			return failure.Transient(fmt.Errorf("%s: %w", what, apiErr))
		default:
			return failure.Permanent(fmt.Errorf("%s: %w", what, apiErr))
		}
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		// The request could not be built: retrying cannot help.
		return failure.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	// Wrap the inner error, not the url.Error: its URL may carry a token.
	inner := urlErr.Err
	var opErr *net.OpError
	if errors.As(inner, &opErr) && opErr.Op == "dial" {
		return failure.Transient(fmt.Errorf("%s: not sent: %w", what, inner))
	}
	if ctx.Err() != nil {
		return failure.UnknownOutcome(fmt.Errorf("%s: %w", what, ctx.Err()))
	}
	return failure.UnknownOutcome(fmt.Errorf("%s: outcome unknown: %w", what, inner))
}
