package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
)

// api sends the population's calls: to the sandboxes (as Cleeng's and the
// gateways' own systems, and as the test's control) and to the ingress
// balancer (as a front-end). The schedule makes sandboxes fail on purpose,
// so every call is retried on what a real client retries: no answer, 5xx
// and 429.
type api struct {
	ingressURL, sandboxURL string
	client                 *http.Client
}

// httpError is an answer outside 2xx.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// retryable tells whether a client would send the call again.
func retryable(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.status >= 500 || he.status == http.StatusTooManyRequests
	}
	return err != nil
}

// callAttempts bounds the retries of one call: with the faults of a
// schedule phase it gets through within a few; past it the call is
// counted a driver error and the subscription's story ends there.
const callAttempts = 12

// call sends a JSON request until it is answered 2xx (decoded into out, if
// set) or a retry would not help. token, when set, is the customer's JWT.
func (a *api) call(ctx context.Context, method, url, token string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	var err error
	var status int
	for attempt := range callAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		status, err = a.once(ctx, method, url, token, body, out)
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return status, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return status, nil
}

func (a *api) once(ctx context.Context, method, url, token string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasPrefix(url, a.sandboxURL) {
		req.Header.Set(cleeng.HeaderPublisherToken, stack.DevPublisherToken)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &httpError{status: resp.StatusCode, body: string(bytes.TrimSpace(raw))}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}
