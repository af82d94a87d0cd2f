package sandbox

import (
	"context"
	"net/http"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
)

// DunningOptions shape one dunning cycle.
type DunningOptions struct {
	// AuthorizedFirst: each attempt sends the authorisation webhook, and an
	// authorised attempt is followed by the capture webhook at the due date.
	// Otherwise each attempt sends only the capture webhook [doc].
	AuthorizedFirst bool `json:"authorizedFirst"`
	// Attempts uses the last n of Options.DunningOffsets (1: the due date
	// only). Default all.
	Attempts int `json:"attempts,omitempty"`
	// NoTermination skips the termination webhook after the last failed attempt.
	NoTermination bool `json:"noTermination,omitempty"`
	// Copies sends each webhook this many times (Cleeng re-sending). Default 1.
	Copies int `json:"copies,omitempty"`
}

// AttemptResult is what the connector reported for one webhook of the cycle.
type AttemptResult struct {
	Topic              cleeng.Topic `json:"topic"`
	DunningAttemptDate string       `json:"dunningAttemptDate"`
	// PaymentID and Status of the payment the connector reported; empty
	// when it reported nothing within Options.OutcomeTimeout.
	PaymentID cleeng.ID            `json:"paymentId,omitempty"`
	Status    cleeng.PaymentStatus `json:"status,omitempty"`
}

// DunningResult is the outcome of a cycle.
type DunningResult struct {
	SubscriptionID cleeng.ID       `json:"subscriptionId"`
	Attempts       []AttemptResult `json:"attempts"`
	// Renewed: a payment was captured for the subscription.
	Renewed bool `json:"renewed"`
	// Terminated: the connector terminated the subscription after the termination webhook.
	Terminated   bool         `json:"terminated"`
	Subscription Subscription `json:"subscription"`
}

func (s *Sandbox) handleDunning(w http.ResponseWriter, r *http.Request) {
	controlResult(func(opts DunningOptions) (DunningResult, error) {
		return s.RunDunning(r.Context(), cleeng.ID(r.PathValue("id")), opts)
	})(w, r)
}

// RunDunning runs a dunning cycle for an active subscription, as Cleeng
// does before its due date: at each attempt it sends the webhook(s) and
// waits (up to Options.OutcomeTimeout) for the connector to report a
// payment; it stops at the first captured payment; after the last failed
// attempt it sends the termination webhook and waits for the connector to
// terminate the subscription. It returns when the cycle is over.
func (s *Sandbox) RunDunning(ctx context.Context, id cleeng.ID, opts DunningOptions) (DunningResult, error) {
	s.mu.Lock()
	sub, ok := s.subs[id]
	if !ok {
		s.mu.Unlock()
		return DunningResult{}, notFound("subscription %s not found", id)
	}
	status, expires := sub.Status, sub.ExpiresAt
	s.mu.Unlock()
	if status != cleeng.SubscriptionActive {
		return DunningResult{}, unprocessable("subscription_not_active", "subscription %s is %s", id, status)
	}
	due, err := time.Parse(time.RFC3339, expires)
	if err != nil {
		return DunningResult{}, unprocessable("invalid_due_date", "subscription %s expiresAt %q", id, expires)
	}
	offsets := s.opts.DunningOffsets
	if n := opts.Attempts; n > 0 && n < len(offsets) {
		offsets = offsets[len(offsets)-n:]
	}
	res := DunningResult{SubscriptionID: id}
	for _, offset := range offsets {
		date := due.Add(-offset).UTC().Format(time.RFC3339)
		renewed, err := s.dunningAttempt(ctx, id, opts, date, due.UTC().Format(time.RFC3339), &res)
		if err != nil {
			return res, err
		}
		if renewed {
			res.Renewed = true
			break
		}
	}
	if !res.Renewed && !opts.NoTermination {
		s.mu.Lock()
		data := cleeng.TerminationData{SubscriptionID: id, CustomerID: sub.CustomerID, OfferID: sub.OfferID}
		s.mu.Unlock()
		if _, err := s.send(ctx, cleeng.TopicTermination, data, opts.Copies); err != nil {
			return res, err
		}
		res.Terminated = s.waitFor(ctx, s.opts.OutcomeTimeout, func() bool {
			return s.subs[id].Status == cleeng.SubscriptionTerminated
		})
	}
	s.mu.Lock()
	res.Subscription = *s.subs[id]
	s.mu.Unlock()
	return res, nil
}

// dunningAttempt runs one attempt and reports whether it renewed the subscription.
func (s *Sandbox) dunningAttempt(ctx context.Context, id cleeng.ID, opts DunningOptions, date, dueDate string, res *DunningResult) (bool, error) {
	if !opts.AuthorizedFirst {
		p, err := s.sendAndWait(ctx, id, cleeng.TopicPaymentCapture, date, opts.Copies, res, nil)
		return p != nil && p.Status == cleeng.StatusCaptured, err
	}
	p, err := s.sendAndWait(ctx, id, cleeng.TopicPaymentAuthorisation, date, opts.Copies, res, nil)
	if err != nil || p == nil || p.Status != cleeng.StatusAuthorized {
		return p != nil && p.Status == cleeng.StatusCaptured, err
	}
	// Authorised: Cleeng asks for the capture at the due date; the connector
	// captures the authorisation (PATCH) or charges anew (POST).
	authorised := p.ID
	p, err = s.sendAndWait(ctx, id, cleeng.TopicPaymentCapture, dueDate, opts.Copies, res, &authorised)
	return p != nil && p.Status == cleeng.StatusCaptured, err
}

// sendAndWait sends a dunning webhook and waits for the connector's
// answer: a new payment for the subscription, or, when pending is set, that
// payment leaving the authorized status. It records the attempt in res.
func (s *Sandbox) sendAndWait(ctx context.Context, id cleeng.ID, topic cleeng.Topic, date string, copies int, res *DunningResult, pending *cleeng.ID) (*cleeng.Payment, error) {
	s.mu.Lock()
	before := map[cleeng.ID]bool{}
	for pid, p := range s.payments {
		if p.SubscriptionID == id {
			before[pid] = true
		}
	}
	data := s.dunningData(s.subs[id], topic, date)
	s.mu.Unlock()
	if _, err := s.send(ctx, topic, data, copies); err != nil {
		return nil, err
	}
	var answer cleeng.Payment
	found := s.waitFor(ctx, s.opts.OutcomeTimeout, func() bool {
		if pending != nil {
			if p := s.payments[*pending]; p.Status != cleeng.StatusAuthorized {
				answer = *p
				return true
			}
		}
		for pid, p := range s.payments {
			if p.SubscriptionID == id && !before[pid] {
				answer = *p
				return true
			}
		}
		return false
	})
	attempt := AttemptResult{Topic: topic, DunningAttemptDate: date}
	if !found {
		res.Attempts = append(res.Attempts, attempt)
		return nil, nil
	}
	attempt.PaymentID, attempt.Status = answer.ID, answer.Status
	res.Attempts = append(res.Attempts, attempt)
	return &answer, nil
}
