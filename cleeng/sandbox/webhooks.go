package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/webhookout"
)

// envelope is the body of every webhook [doc].
type envelope struct {
	BroadcasterID cleeng.ID    `json:"broadcasterId"`
	Topic         cleeng.Topic `json:"topic"`
	Data          any          `json:"data"`
}

// send delivers a webhook copies times to every URL registered for its
// topic, each delivery re-sent until answered 200 (Cleeng re-sends unless
// it gets a 200 [doc]).
func (s *Sandbox) send(ctx context.Context, topic cleeng.Topic, data any, copies int) ([]Delivery, error) {
	body, err := json.Marshal(envelope{BroadcasterID: s.opts.PublisherID, Topic: topic, Data: data})
	if err != nil {
		return nil, badRequest("webhook data: %v", err)
	}
	s.mu.Lock()
	endpoints := slices.Clone(s.hooks[string(topic)])
	s.mu.Unlock()
	if len(endpoints) == 0 {
		return nil, &Error{Status: http.StatusConflict, Code: "no_webhook_endpoint",
			Message: fmt.Sprintf("no URL registered for topic %s (PUT /3.1/webhook_subscriptions/%s)", topic, topic)}
	}
	var out []Delivery
	for range max(copies, 1) {
		for _, e := range endpoints {
			d := s.deliver(ctx, topic, e.URL, body)
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.changedLocked()
			s.mu.Unlock()
			out = append(out, d)
		}
	}
	return out, nil
}

// sendInBackground sends a webhook triggered by an API call, after the call was answered.
func (s *Sandbox) sendInBackground(topic cleeng.Topic, data any) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		if _, err := s.send(s.ctx, topic, data, 1); err != nil {
			s.opts.Logger.Info().Str("topic", string(topic)).Err(err).Msg("sandbox webhook not sent")
		}
	}()
}

// deliver POSTs body to url until it is answered 200 or attempts run out,
// waiting 50ms longer after each refusal.
func (s *Sandbox) deliver(ctx context.Context, topic cleeng.Topic, url string, body []byte) Delivery {
	d := Delivery{Topic: string(topic), URL: url, Body: body, At: s.now()}
	target := webhookout.Target{URL: url}
	if len(s.opts.WebhookSecret) > 0 {
		target.Header = http.Header{}
		target.Header.Set(s.opts.SignatureHeader, cleeng.Sign(s.opts.WebhookSecret, body))
	}
	policy := webhookout.Policy{
		Client:      s.opts.HTTPClient,
		MaxAttempts: s.opts.WebhookAttempts,
		Backoff:     func(n int) time.Duration { return time.Duration(n) * 50 * time.Millisecond },
	}
	res := policy.Deliver(ctx, target, body)
	d.Attempts, d.Status = res.Attempts, res.Status
	if res.Err != nil {
		d.Error = res.Err.Error()
	}
	s.opts.Logger.Debug().Str("topic", string(topic)).Str("url", url).Int("status", d.Status).
		Int("attempts", d.Attempts).Msg("sandbox webhook")
	return d
}

func validURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
