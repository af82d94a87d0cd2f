package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/webhookout"
)

// Options configures a Sandbox. Zero values take the defaults noted.
type Options struct {
	// Username and Password are the API's basic auth. Default "sandbox" /
	// "sandbox-password".
	Username string
	Password string
	// NotifyURL, NotifyUsername, NotifyPassword: where purchase
	// notifications are POSTed, with basic auth. Empty URL: notifications
	// wait until SetNotifyTarget gives one (or Close).
	NotifyURL      string
	NotifyUsername string
	NotifyPassword string
	// NotifyDelay is waited before a notification's first delivery. Default 0.
	NotifyDelay time.Duration
	// NotifyRetryBase is the first wait between delivery attempts; waits
	// double up to 2s. Default 50ms.
	NotifyRetryBase time.Duration
	// CheckoutURL is the base of the customer URLs returned. Default
	// "https://checkout.sandbox.cleverbridge.invalid".
	CheckoutURL string
	// Now is the sandbox's clock. Default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Username == "" {
		o.Username = "sandbox"
	}
	if o.Password == "" {
		o.Password = "sandbox-password"
	}
	if o.NotifyRetryBase <= 0 {
		o.NotifyRetryBase = 50 * time.Millisecond
	}
	if o.CheckoutURL == "" {
		o.CheckoutURL = "https://checkout.sandbox.cleverbridge.invalid"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Sandbox simulates Cleverbridge's Process Cart. Create it with New; stop
// its notification deliveries with Close. Safe for concurrent use.
type Sandbox struct {
	opts    Options
	faults  faultinject.Injector
	handler http.Handler

	outbox *webhookout.Outbox

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change
	scenarios     map[string]Scenario
	calls         []Call
	purchases     map[string]*Purchase
	order         []string // purchase ids in creation order
	notifications []*Delivery
}

// New builds a sandbox.
func New(opts Options) *Sandbox {
	opts.setDefaults()
	s := &Sandbox{
		opts: opts,
		outbox: webhookout.NewOutbox(
			webhookout.Policy{Delay: opts.NotifyDelay, Backoff: webhookout.Exponential(opts.NotifyRetryBase, 2*time.Second)},
			webhookout.Target{URL: opts.NotifyURL, Username: opts.NotifyUsername, Password: opts.NotifyPassword}),
		changed:   make(chan struct{}),
		scenarios: map[string]Scenario{},
		purchases: map[string]*Purchase{},
	}
	s.outbox.HoldBack(s.faults.HoldBackNotification)
	s.faults.AwaitNotifications(s.outbox.Settled)
	mux := http.NewServeMux()
	mux.Handle("POST "+cleverbridge.ProcessCartPath, s.faults.Wrap(http.HandlerFunc(s.serveProcessCart)))
	mux.Handle("/sandbox/faults", s.faults.Handler())
	mux.HandleFunc("GET /sandbox/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /sandbox/calls", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Calls())
	})
	mux.HandleFunc("PUT /sandbox/scenarios/{subscriptionId}", func(w http.ResponseWriter, r *http.Request) {
		var sc Scenario
		if !decodeControl(w, r, &sc) {
			return
		}
		controlAnswer(w, sc, s.SetScenario(r.PathValue("subscriptionId"), sc))
	})
	mux.HandleFunc("DELETE /sandbox/scenarios/{subscriptionId}", func(w http.ResponseWriter, r *http.Request) {
		s.ClearScenario(r.PathValue("subscriptionId"))
		w.WriteHeader(http.StatusNoContent)
	})
	s.selfBillingControls(mux)
	mux.HandleFunc("POST /sandbox/purchases/{id}/settle", func(w http.ResponseWriter, r *http.Request) {
		var st Settlement
		if !decodeControl(w, r, &st) {
			return
		}
		p, err := s.Settle(r.PathValue("id"), st)
		controlAnswer(w, p, err)
	})
	mux.HandleFunc("POST /sandbox/notifications/{index}/resend", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("index"))
		if err != nil || !s.Resend(i) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no notification " + r.PathValue("index")})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]int{"resending": i})
	})
	mux.HandleFunc("POST /sandbox/notify-target", func(w http.ResponseWriter, r *http.Request) {
		var t struct{ URL, Username, Password string }
		if !decodeControl(w, r, &t) {
			return
		}
		s.SetNotifyTarget(t.URL, t.Username, t.Password)
		w.WriteHeader(http.StatusNoContent)
	})
	s.handler = mux
	return s
}

// ServeHTTP serves POST /cart/processcart and /sandbox/... (see the package comment).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops notification deliveries and waits for them to end.
func (s *Sandbox) Close() { s.outbox.Close() }

// Faults is the fault injector of POST /cart/processcart (also served at
// /sandbox/faults; PathPrefix "/cart/processcart").
func (s *Sandbox) Faults() *faultinject.Injector { return &s.faults }

// Username and Password return the API credentials the sandbox accepts.
func (s *Sandbox) Username() string { return s.opts.Username }
func (s *Sandbox) Password() string { return s.opts.Password }

// SetNotifyTarget sets where notifications go, including those still pending.
func (s *Sandbox) SetNotifyTarget(url, username, password string) {
	s.outbox.SetTarget(webhookout.Target{URL: url, Username: username, Password: password})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedLocked()
}

// State is a snapshot of the sandbox.
type State struct {
	Scenarios     map[string]Scenario `json:"scenarios"`
	Calls         []Call              `json:"calls"`
	Purchases     []Purchase          `json:"purchases"`
	Notifications []Delivery          `json:"notifications"`
	// NotificationsReordered were held back by a ReorderNotifications
	// fault and delivered after a later one of their subscription.
	NotificationsReordered int `json:"notificationsReordered"`
}

// State returns a snapshot of everything the sandbox holds.
func (s *Sandbox) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Scenarios: map[string]Scenario{}, Calls: slices.Clone(s.calls), NotificationsReordered: s.outbox.Reordered()}
	for k, v := range s.scenarios {
		st.Scenarios[k] = v
	}
	for _, id := range s.order {
		st.Purchases = append(st.Purchases, *s.purchases[id])
	}
	for _, d := range s.notifications {
		st.Notifications = append(st.Notifications, *d)
	}
	return st
}

// Calls returns every Process Cart call received, oldest first.
func (s *Sandbox) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Purchases returns every purchase, oldest first.
func (s *Sandbox) Purchases() []Purchase { return s.State().Purchases }

// Notifications returns every notification sent or being sent, oldest first.
func (s *Sandbox) Notifications() []Delivery { return s.State().Notifications }

// WaitFor waits until cond holds on the state, or timeout passes; it
// reports whether cond held. For tests and demos: no polling sleeps.
func (s *Sandbox) WaitFor(timeout time.Duration, cond func(State) bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond(s.State()) {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		}
	}
}

// changedLocked wakes WaitFor. Callers hold mu.
func (s *Sandbox) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Sandbox) authorised(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password)) == 1
	return ok && userOK && passOK
}

// newID returns prefix + 10 random digits.
func newID(prefix string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	if err != nil {
		panic(errors.New("sandbox: no randomness"))
	}
	return fmt.Sprintf("%s%d", prefix, n.Int64()+1_000_000_000)
}

const maxBody = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ControlError is a refused control request, with its HTTP status.
type ControlError struct {
	Status  int
	Message string
}

func (e *ControlError) Error() string { return e.Message }

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return false
	}
	return true
}

func controlAnswer(w http.ResponseWriter, v any, err error) {
	var ce *ControlError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, ce.Status, map[string]string{"error": ce.Message})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, v)
	}
}
