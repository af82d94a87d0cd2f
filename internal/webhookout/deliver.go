package webhookout

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/internal/outbound"
)

// Target is where a webhook goes.
type Target struct {
	// URL receives the POST. Empty: no target yet; a delivery waits.
	URL string
	// Username and Password, when either is set, are sent as basic auth.
	Username string
	Password string
	// Header holds extra request headers (a signature, say).
	Header http.Header
}

// Attempt is the outcome of one POST.
type Attempt struct {
	// Status is the answer's HTTP status; 0 when there was no answer.
	Status int
	// Answer is the start of the answer's body (at most AnswerLimit bytes).
	Answer []byte
	// Err says why there was no answer.
	Err error
}

// AnswerLimit is how much of an answer's body an Attempt keeps.
const AnswerLimit = 1024

// Result is what a delivery came to.
type Result struct {
	// Attempts is the number of POSTs sent.
	Attempts int
	// Accepted: the last attempt was accepted.
	Accepted bool
	// Status is the last attempt's status (0: none, or no answer).
	Status int
	// Err is the last attempt's error, or the context's when it ended the
	// delivery.
	Err error
}

// Policy says how a webhook is sent and re-sent. The zero value sends until
// answered 200, waiting 50ms after the first try and doubling up to 2s.
type Policy struct {
	// Client sends the requests. Default: a client with a 10s timeout.
	Client *http.Client
	// Accept says whether an attempt was accepted. Default: status 200.
	Accept func(Attempt) bool
	// Delay is waited before the first attempt. Default 0.
	Delay time.Duration
	// Backoff is the wait after the n-th round (n from 1; a round is an
	// attempt, or a look at a target without a URL). Default
	// Exponential(50ms, 2s).
	Backoff func(n int) time.Duration
	// MaxAttempts stops the delivery after that many attempts. 0: no limit
	// (until accepted or the context ends).
	MaxAttempts int
}

var defaultClient = outbound.Client(10 * time.Second)

// Exponential returns a Backoff that waits base, then twice as long each
// round, at most max.
func Exponential(base, max time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		wait := base
		for i := 1; i < n && wait < max; i++ {
			wait *= 2
		}
		return min(wait, max)
	}
}

// Deliver sends body to t until it is accepted, MaxAttempts are spent or ctx
// ends.
func (p Policy) Deliver(ctx context.Context, t Target, body []byte) Result {
	return p.deliver(ctx, func() Target { return t }, body, nil)
}

// deliver is Deliver to a target read before every attempt. observe, when
// set, is called after every attempt.
func (p Policy) deliver(ctx context.Context, target func() Target, body []byte, observe func(Attempt)) Result {
	backoff := p.Backoff
	if backoff == nil {
		backoff = Exponential(50*time.Millisecond, 2*time.Second)
	}
	var res Result
	if p.Delay > 0 && !sleep(ctx, p.Delay) {
		res.Err = ctx.Err()
		return res
	}
	for round := 1; ; round++ {
		if t := target(); t.URL != "" {
			a := p.post(ctx, t, body)
			res.Attempts++
			res.Status, res.Err = a.Status, a.Err
			res.Accepted = p.accepted(a)
			if observe != nil {
				observe(a)
			}
			if res.Accepted || (p.MaxAttempts > 0 && res.Attempts >= p.MaxAttempts) {
				return res
			}
		}
		if !sleep(ctx, backoff(round)) {
			res.Err = ctx.Err()
			return res
		}
	}
}

func (p Policy) accepted(a Attempt) bool {
	if p.Accept != nil {
		return p.Accept(a)
	}
	return a.Status == http.StatusOK
}

// post sends body to t once.
func (p Policy) post(ctx context.Context, t Target, body []byte) Attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return Attempt{Err: err}
	}
	for name, values := range t.Header {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", "application/json")
	if t.Username != "" || t.Password != "" {
		req.SetBasicAuth(t.Username, t.Password)
	}
	client := p.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Attempt{Err: err}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, AnswerLimit))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return Attempt{Status: resp.StatusCode, Answer: answer}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d): // collected when unfired, since Go 1.23
		return true
	case <-ctx.Done():
		return false
	}
}
