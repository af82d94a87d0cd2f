package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/webhookout"
)

// Options configures a Sandbox.
type Options struct {
	// APIKey is the X-API-Key every Checkout call must carry. Default "sandbox-api-key".
	APIKey string
	// MerchantAccount is the only merchant account accepted. Default "SandboxMerchant".
	MerchantAccount string
	// HMACKey (hex) signs notifications. Default: a fixed test key (DefaultHMACKey).
	HMACKey string
	// NotifyURL, NotifyUsername, NotifyPassword: where notifications are
	// POSTed, with basic auth. Empty URL: notifications wait until
	// SetNotifyTarget gives one (or Close).
	NotifyURL      string
	NotifyUsername string
	NotifyPassword string
	// NotifyRetryBase is the first wait between delivery attempts; waits
	// double up to 2s. Default 50ms.
	NotifyRetryBase time.Duration
	// Hold, when set, holds each Checkout call after its idempotency key is
	// claimed until the gate opens, so a test sees a call "in flight" for
	// certain.
	Hold *faultinject.Gate
	// Contract, when set, validates every request, answer and notification (strict mode).
	Contract *Contract
	// Now is the clock for card expiry and event dates. Default time.Now.
	Now func() time.Time
}

// DefaultHMACKey is the notification key used when Options.HMACKey is empty.
const DefaultHMACKey = "5A1B6C0D2E3F405162738495A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F"

func (o *Options) setDefaults() {
	if o.APIKey == "" {
		o.APIKey = "sandbox-api-key"
	}
	if o.MerchantAccount == "" {
		o.MerchantAccount = "SandboxMerchant"
	}
	if o.HMACKey == "" {
		o.HMACKey = DefaultHMACKey
	}
	if o.NotifyRetryBase <= 0 {
		o.NotifyRetryBase = 50 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Sandbox is the simulated Adyen Checkout API. Create it with New; stop its
// notification deliveries with Close.
type Sandbox struct {
	opts    Options
	faults  faultinject.Injector
	handler http.Handler

	outbox *webhookout.Outbox
	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu            sync.Mutex
	payments      map[string]*Payment // by pspReference
	order         []string            // pspReferences in creation order
	tokens        map[string]*storedToken
	tokenSeq      int               // tokens stored so far
	challenges    map[string]string // threeDSServerTransID → pspReference
	keys          map[string]*keyEntry
	notifications []*Notification
	violations    []string
}

// New builds a sandbox.
func New(opts Options) *Sandbox {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		opts:       opts,
		ctx:        ctx,
		cancel:     cancel,
		payments:   map[string]*Payment{},
		tokens:     map[string]*storedToken{},
		challenges: map[string]string{},
		keys:       map[string]*keyEntry{},
		outbox: webhookout.NewOutbox(
			webhookout.Policy{Accept: accepted, Backoff: webhookout.Exponential(opts.NotifyRetryBase, 2*time.Second)},
			webhookout.Target{URL: opts.NotifyURL, Username: opts.NotifyUsername, Password: opts.NotifyPassword}),
	}
	s.outbox.HoldBack(s.faults.HoldBackNotification)
	s.faults.AwaitNotifications(s.outbox.Settled)
	mux := http.NewServeMux()
	mux.Handle("/v71/", http.HandlerFunc(s.serveCheckout))
	mux.Handle("/sandbox/state", http.HandlerFunc(s.serveState))
	mux.Handle("/sandbox/faults", s.faults.Handler())
	mux.HandleFunc("POST /sandbox/tokens/{token}/refuse", s.serveRefuseToken)
	mux.HandleFunc("POST /sandbox/notifications/{index}/resend", s.serveResend)
	mux.HandleFunc("GET /reports/download/MerchantAccount/{account}/{file}", s.serveReport)
	s.handler = s.faults.Wrap(mux)
	return s
}

// ServeHTTP serves /v71/... and /sandbox/... (see the package comment).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops notification deliveries and waits for them to end.
func (s *Sandbox) Close() {
	s.cancel()
	s.outbox.Close()
}

// Faults is the sandbox's fault injector (also served at /sandbox/faults).
func (s *Sandbox) Faults() *faultinject.Injector { return &s.faults }

// APIKey, MerchantAccount and HMACKey return the effective configuration.
func (s *Sandbox) APIKey() string          { return s.opts.APIKey }
func (s *Sandbox) MerchantAccount() string { return s.opts.MerchantAccount }
func (s *Sandbox) HMACKey() string         { return s.opts.HMACKey }

// SetNotifyTarget sets where notifications go, including those still pending.
func (s *Sandbox) SetNotifyTarget(url, username, password string) {
	s.outbox.SetTarget(webhookout.Target{URL: url, Username: username, Password: password})
}

// answer is a Checkout response: status and JSON body.
type answer struct {
	status    int
	body      []byte
	transient bool // Transient-Error: true
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, "000", "internal", err.Error())
	}
	return answer{status: status, body: b}
}

// apiError is Adyen's error body.
func apiError(status int, code, errorType, message string) answer {
	return jsonAnswer(status, map[string]any{
		"status": status, "errorCode": code, "message": message, "errorType": errorType,
	})
}

func write(w http.ResponseWriter, a answer) {
	// Without this header the library turns even a 2xx into an error.
	w.Header().Set("Content-Type", "application/json")
	if a.transient {
		w.Header().Set("Transient-Error", "true")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

const maxBody = 1 << 20

// serveCheckout authenticates, validates the contract, applies idempotency
// and dispatches a Checkout call.
func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(s.opts.APIKey)) != 1 {
		write(w, apiError(http.StatusUnauthorized, "000", "security", "HTTP Status Response - Unauthorized"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		write(w, apiError(http.StatusBadRequest, "000", "validation", "unreadable body"))
		return
	}
	if c := s.opts.Contract; c != nil {
		if v := c.CheckRequest(r, body); len(v) > 0 {
			s.recordViolations(v)
			write(w, apiError(http.StatusUnprocessableEntity, "702", "validation", "request violates CheckoutService-v71.json: "+strings.Join(v, "; ")))
			return
		}
	}
	route := s.route(r)
	if route == nil {
		write(w, apiError(http.StatusNotFound, "000", "validation", "no such endpoint: "+r.Method+" "+r.URL.Path))
		return
	}
	var a answer
	if key := r.Header.Get("Idempotency-Key"); key == "" || r.Method != http.MethodPost {
		a = s.process(func() answer { return route(body) })
	} else {
		a = s.idempotent(key, func() answer { return route(body) })
	}
	// Successful answers are checked against their schemas; error answers
	// are not: Adyen answers statuses its document does not list (422 to a
	// DELETE of an unknown token).
	if c := s.opts.Contract; c != nil && a.status < 300 {
		s.recordViolations(c.CheckAnswer(r, a.status, a.body))
	}
	write(w, a)
}

// process runs a call, once Options.Hold lets it (or Close).
func (s *Sandbox) process(call func() answer) answer {
	if g := s.opts.Hold; g != nil {
		_ = g.Wait(s.ctx) // closing: the call runs, answering a client that is going away
	}
	return call()
}

// route finds the handler of a Checkout call.
func (s *Sandbox) route(r *http.Request) func(body []byte) answer {
	path := strings.TrimPrefix(r.URL.Path, "/v71")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && path == "/payments":
		return s.pay
	case r.Method == http.MethodPost && path == "/paymentMethods":
		return s.paymentMethods
	case r.Method == http.MethodPost && path == "/payments/details":
		return s.paymentDetails
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "payments":
		psp, kind := parts[1], parts[2]
		switch kind {
		case "captures", "refunds", "cancels":
			return func(body []byte) answer { return s.modify(kind, psp, body) }
		}
	case r.Method == http.MethodDelete && len(parts) == 2 && parts[0] == "storedPaymentMethods":
		q := r.URL.Query()
		return func([]byte) answer {
			return s.deleteToken(parts[1], q.Get("shopperReference"), q.Get("merchantAccount"))
		}
	}
	return nil
}

func (s *Sandbox) recordViolations(v []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, v...)
}

// Violations returns every contract violation seen (strict mode).
func (s *Sandbox) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// newReference returns a 16-character reference like Adyen's pspReference.
func newReference() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("sandbox: no randomness"))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
