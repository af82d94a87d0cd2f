package cleverbridge

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/cleeng-connector/connector/internal/failure"
)

// maxResponse bounds the answer read from Cleverbridge.
const maxResponse = 1 << 20

// processCart sends one Process Cart call and classifies its failure.
//
// Failure policy: Process Cart has no idempotency key, so this package
// never repeats a call. An error before the request was completely written
// is transient (nothing reached Cleverbridge); after it, a lost or
// unreadable answer is an unknown outcome: the purchase may exist, and only
// its notification can tell. Answered errors are classified by status:
// 400/401/403 and other 4xx permanent; 500 InternalServerError, 503 and
// 429 transient (Cleverbridge answered that it did not process the cart);
// 502 and 504 unknown (a proxy may have forwarded the request).
// token is scrubbed from every error string.
func (g *Gateway) processCart(ctx context.Context, what, token string, body []byte) (ProcessCartResponse, error) {
	var written atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			written.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
		g.cfg.BaseURL+ProcessCartPath, bytes.NewReader(body))
	if err != nil {
		return ProcessCartResponse{}, failure.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	req.SetBasicAuth(g.cfg.Username, g.cfg.Password)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		return ProcessCartResponse{}, sendError(what, err, written.Load())
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 300 {
		if readErr != nil {
			return ProcessCartResponse{}, failure.UnknownOutcome(fmt.Errorf("%s: answer %d lost while reading: %w", what, resp.StatusCode, readErr))
		}
		return decodeResponse(what, resp.StatusCode, data)
	}
	return ProcessCartResponse{}, statusError(what, token, resp.StatusCode, data)
}

// sendError classifies a failed round trip. The url.Error is unwrapped: its
// text repeats the URL, and only the cause matters.
func sendError(what string, err error, written bool) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &certErr):
		return failure.Permanent(fmt.Errorf("%s: not sent: %w", what, err))
	case !written:
		return failure.Transient(fmt.Errorf("%s: not sent: %w", what, err))
	default:
		return failure.UnknownOutcome(fmt.Errorf("%s: sent, answer lost: %w", what, err))
	}
}

// decodeResponse reads a 2xx answer, bare or wrapped in
// {"processCartResponse": {...}}. An unreadable one is an unknown outcome:
// the cart may have been billed.
func decodeResponse(what string, status int, data []byte) (ProcessCartResponse, error) {
	var wrapped struct {
		Inner *ProcessCartResponse `json:"processCartResponse"`
	}
	var bare ProcessCartResponse
	if err := json.Unmarshal(data, &wrapped); err == nil && wrapped.Inner != nil {
		return *wrapped.Inner, nil
	}
	if err := json.Unmarshal(data, &bare); err != nil {
		return ProcessCartResponse{}, failure.UnknownOutcome(fmt.Errorf("%s: unreadable %d answer: %w", what, status, err))
	}
	return bare, nil
}

// statusError classifies an answered error (status >= 300).
func statusError(what, token string, status int, data []byte) error {
	var body ProcessCartResponse
	_ = json.Unmarshal(data, &body) // best effort: the status decides
	detail := strings.TrimSpace(body.Status + ": " + body.ResultMessage)
	detail = strings.Trim(detail, ": ")
	if token != "" {
		detail = strings.ReplaceAll(detail, token, "[subscription]")
	}
	if len(detail) > 300 {
		detail = detail[:300] + "…"
	}
	err := fmt.Errorf("%s: HTTP %d %s", what, status, detail)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return failure.Permanent(fmt.Errorf("%w (check the Cleverbridge API credentials)", err))
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return failure.UnknownOutcome(err)
	case status == http.StatusTooManyRequests || status >= 500:
		return failure.Transient(err)
	default:
		return failure.Permanent(err)
	}
}
