package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
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

// deliver POSTs body to url until it is answered 200 or attempts run out.
func (s *Sandbox) deliver(ctx context.Context, topic cleeng.Topic, url string, body []byte) Delivery {
	d := Delivery{Topic: string(topic), URL: url, Body: body, At: s.now()}
	for d.Attempts < s.opts.WebhookAttempts {
		if d.Attempts > 0 {
			select {
			case <-ctx.Done():
				d.Error = ctx.Err().Error()
				return d
			case <-time.After(time.Duration(d.Attempts) * 50 * time.Millisecond):
			}
		}
		d.Attempts++
		d.Status, d.Error = s.post(ctx, url, body)
		if d.Status == http.StatusOK {
			break
		}
	}
	s.opts.Logger.Debug().Str("topic", string(topic)).Str("url", url).Int("status", d.Status).
		Int("attempts", d.Attempts).Msg("sandbox webhook")
	return d
}

func (s *Sandbox) post(ctx context.Context, url string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if len(s.opts.WebhookSecret) > 0 {
		req.Header.Set(s.opts.SignatureHeader, cleeng.Sign(s.opts.WebhookSecret, body))
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, ""
}

func validURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
