// Package faultinject wraps a sandbox's HTTP handler with per-route faults:
// added latency, an error rate, "apply the change, then drop the response"
// (the lost-response case every idempotency rule exists for), and "apply
// the change, then hold the answer" (a caller caught after the money moved:
// crash tests kill the worker while it waits). Sandboxes expose it under
// /sandbox/faults.
package faultinject

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is what happens to requests matching Method and PathPrefix.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string `json:"method,omitempty"`
	// PathPrefix matches the start of the request path; empty matches any.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Latency is added before the request is handled.
	Latency Duration `json:"latency,omitempty"`
	// ErrorRate in [0,1]: the share of requests answered ErrorStatus without being applied.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorStatus defaults to 503.
	ErrorStatus int `json:"errorStatus,omitempty"`
	// DropResponse: the next Count matching requests are applied, then the
	// connection is closed without an answer.
	DropResponse bool `json:"dropResponse,omitempty"`
	// HoldResponse: the next Count matching requests are applied, then
	// their answers held until Release, or until the client goes away.
	HoldResponse bool `json:"holdResponse,omitempty"`
	// NotifyFirst: the next Count matching requests are applied, then their
	// answers held until the notifications the sandbox had started were
	// delivered: the caller hears of the effect from the notification
	// before the answer (gateways notify asynchronously, so this happens).
	// The sandbox gives the wait with AwaitNotifications.
	NotifyFirst bool `json:"notifyFirst,omitempty"`
	// ReorderNotifications: the next Count notifications the sandbox sends
	// are held back, each until a later one about the same payment was
	// delivered, or until the faults are reset or released. It matches
	// notifications, not requests: Method and PathPrefix do not apply.
	ReorderNotifications bool `json:"reorderNotifications,omitempty"`
	// Count limits how many requests (or notifications) the fault applies
	// to; 0 means every one.
	Count int `json:"count,omitempty"`
	// Hold, set by a test in-process, holds matching requests at the gate
	// until it opens (or the client gives up), before anything else.
	Hold *Gate `json:"-"`
}

// Duration is a time.Duration that reads and writes as "300ms" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Injector holds the active faults. The zero value injects nothing.
type Injector struct {
	mu     sync.Mutex
	faults []*Fault
	// held counts the answers being held; release is closed to send them.
	held    int
	release chan struct{}
	// settled waits for the sandbox's notifications (AwaitNotifications).
	settled func(context.Context) error
}

// AwaitNotifications gives the wait of NotifyFirst faults: settled returns
// once every notification the sandbox started so far was delivered, or
// when its context ends. Without it NotifyFirst answers at once.
func (in *Injector) AwaitNotifications(settled func(context.Context) error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.settled = settled
}

// HoldBackNotification consumes a use of a ReorderNotifications fault, if
// one is active: the notification being sent is to be held back, at most
// until the returned channel closes (Reset or Release).
func (in *Injector) HoldBackNotification() (<-chan struct{}, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.takeLocked(func(f *Fault) bool { return f.ReorderNotifications }); !ok {
		return nil, false
	}
	return in.releaseLocked(), true
}

// Add installs a fault.
func (in *Injector) Add(f Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = append(in.faults, &f)
}

// Reset removes every fault and sends every held answer.
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = nil
	in.sendHeldLocked()
}

// Held is the number of requests applied whose answers are being held.
func (in *Injector) Held() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.held
}

// Release sends every answer held so far.
func (in *Injector) Release() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.sendHeldLocked()
}

func (in *Injector) sendHeldLocked() {
	if in.release != nil {
		close(in.release)
		in.release = nil
	}
}

// releaseLocked is the channel the next Release or Reset closes.
func (in *Injector) releaseLocked() <-chan struct{} {
	if in.release == nil {
		in.release = make(chan struct{})
	}
	return in.release
}

// hold counts one more held answer and returns the channel that releases it.
func (in *Injector) hold() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.held++
	return in.releaseLocked()
}

func (in *Injector) unhold() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.held--
}

// List returns a copy of the active faults.
func (in *Injector) List() []Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Fault, 0, len(in.faults))
	for _, f := range in.faults {
		out = append(out, *f)
	}
	return out
}

// match returns the first request fault matching r and consumes one of its uses.
func (in *Injector) match(r *http.Request) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.takeLocked(func(f *Fault) bool {
		return !f.ReorderNotifications && (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.PathPrefix)
	})
}

// takeLocked returns the first fault matching and consumes one of its uses.
func (in *Injector) takeLocked(matching func(*Fault) bool) (Fault, bool) {
	for i, f := range in.faults {
		if !matching(f) {
			continue
		}
		got := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				in.faults = append(in.faults[:i], in.faults[i+1:]...)
			}
		}
		return got, true
	}
	return Fault{}, false
}

// maxHeldBody bounds the body a held or delayed request keeps in memory:
// the sandboxes' own limit, so a longer body still reaches them too long.
const maxHeldBody = 1 << 20

// Wrap applies matching faults around next.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := in.match(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.Hold != nil || f.Latency > 0 {
			// Read the body first: net/http notices a client that gives up
			// (cancelling r's context) only once the body was read.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxHeldBody+1))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if f.Hold != nil && f.Hold.Wait(r.Context()) != nil {
			return
		}
		if f.Latency > 0 {
			select {
			case <-time.After(time.Duration(f.Latency)):
			case <-r.Context().Done():
				return
			}
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			status := f.ErrorStatus
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"message":"injected fault"}`))
			return
		}
		if f.DropResponse {
			next.ServeHTTP(&recorded{header: http.Header{}}, r)
			hijackAndClose(w)
			return
		}
		if f.NotifyFirst {
			answer := &recorded{header: http.Header{}}
			next.ServeHTTP(answer, r)
			_, _ = io.Copy(io.Discard, r.Body) // see HoldResponse
			in.mu.Lock()
			settled := in.settled
			in.mu.Unlock()
			if settled != nil && settled(r.Context()) != nil {
				return // the caller is gone: nobody to answer
			}
			answer.sendTo(w)
			return
		}
		if f.HoldResponse {
			answer := &recorded{header: http.Header{}}
			next.ServeHTTP(answer, r)
			// The server notices a caller going away only once the body
			// is read to its end.
			_, _ = io.Copy(io.Discard, r.Body)
			release := in.hold()
			defer in.unhold()
			select {
			case <-release:
				answer.sendTo(w)
			case <-r.Context().Done(): // the caller is gone: nobody to answer
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves the fault list: GET lists, POST adds one, DELETE clears
// (and sends the held answers).
func (in *Injector) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			var f Fault
			if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
				http.Error(w, `{"error":"fault: `+err.Error()+`"}`, http.StatusBadRequest)
				return
			}
			in.Add(f)
		case http.MethodDelete:
			in.Reset()
		default:
			http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(in.List())
	})
}

// hijackAndClose closes the client connection without writing a response.
func hijackAndClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// recorded is a ResponseWriter that keeps the applied request's answer, to
// drop it or to send it later.
type recorded struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *recorded) Header() http.Header         { return a.header }
func (a *recorded) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *recorded) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

// sendTo writes the kept answer to w.
func (a *recorded) sendTo(w http.ResponseWriter) {
	maps.Copy(w.Header(), a.header)
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	_, _ = w.Write(a.body.Bytes())
}
