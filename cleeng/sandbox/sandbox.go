package sandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/faultinject"
)

// Options configure a Sandbox. Zero values take the defaults noted.
type Options struct {
	// PublisherToken is the X-Publisher-Token the API accepts. Empty: any
	// non-empty token.
	PublisherToken string
	// PublisherID is the broadcasterId of the webhooks sent. Default "100001".
	PublisherID cleeng.ID
	// WebhookSecret signs webhooks; empty: unsigned.
	WebhookSecret []byte
	// SignatureHeader carries the signature. Default cleeng.DefaultSignatureHeader.
	SignatureHeader string
	// Clock is the sandbox's time (order expiry, due dates). Default time.Now.
	Clock func() time.Time
	// OrderTTL is how long an order can be paid. Default 1h.
	OrderTTL time.Duration
	// DunningOffsets are the attempt times before the due date, earliest
	// first. Default 72h, 48h, 24h, 0 [doc].
	DunningOffsets []time.Duration
	// OutcomeTimeout is how long a dunning cycle waits for the connector to
	// report each attempt before counting it failed. Default 10s.
	OutcomeTimeout time.Duration
	// WebhookAttempts is how many times a webhook is sent until answered 200. Default 3.
	WebhookAttempts int
	// HTTPClient sends webhooks. Default: 5s timeout.
	HTTPClient *http.Client
	// PaymentGateways names the gateway of payment details by
	// paymentMethodId. Default "connector".
	PaymentGateways map[cleeng.ID]string
	// Logger receives one line per webhook delivery. The zero value logs nothing.
	Logger zerolog.Logger
}

func (o *Options) setDefaults() {
	if o.PublisherID == "" {
		o.PublisherID = "100001"
	}
	if o.SignatureHeader == "" {
		o.SignatureHeader = cleeng.DefaultSignatureHeader
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.OrderTTL <= 0 {
		o.OrderTTL = time.Hour
	}
	if len(o.DunningOffsets) == 0 {
		o.DunningOffsets = []time.Duration{72 * time.Hour, 48 * time.Hour, 24 * time.Hour, 0}
	}
	if o.OutcomeTimeout <= 0 {
		o.OutcomeTimeout = 10 * time.Second
	}
	if o.WebhookAttempts <= 0 {
		o.WebhookAttempts = 3
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
}

// Sandbox is the simulator. Create it with New; it is safe for concurrent use.
type Sandbox struct {
	opts   Options
	faults faultinject.Injector

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	nextID     int64
	offers     map[string]Offer
	customers  map[cleeng.ID]Customer
	orders     map[cleeng.ID]*Order
	payments   map[cleeng.ID]*cleeng.Payment
	byExternal map[string]cleeng.ID // every externalPaymentId a payment ever carried
	details    map[cleeng.ID]*PaymentDetails
	subs       map[cleeng.ID]*Subscription
	hooks      cleeng.WebhookSubscriptions
	deliveries []Delivery
	// paymentRequests are every POST /payments answered, refused ones included.
	paymentRequests []PaymentRequest
	version         uint64 // changes so far

	// keysMu guards the customer-token keys: key signs, jwks publishes
	// every key used so far (auth.go).
	keysMu sync.Mutex
	key    signingKey
	keySeq int
	jwks   *jwkset.MemoryJWKSet

	background sync.WaitGroup // webhooks sent after an API call
	ctx        context.Context
	cancel     context.CancelFunc
}

// New returns an empty sandbox.
func New(opts Options) *Sandbox {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		opts:       opts,
		changed:    make(chan struct{}),
		nextID:     100000000,
		offers:     map[string]Offer{},
		customers:  map[cleeng.ID]Customer{},
		orders:     map[cleeng.ID]*Order{},
		payments:   map[cleeng.ID]*cleeng.Payment{},
		byExternal: map[string]cleeng.ID{},
		details:    map[cleeng.ID]*PaymentDetails{},
		subs:       map[cleeng.ID]*Subscription{},
		hooks:      cleeng.WebhookSubscriptions{},
		ctx:        ctx,
		cancel:     cancel,
	}
}

// Close stops webhooks still being sent in the background and waits for them.
func (s *Sandbox) Close() {
	s.cancel()
	s.background.Wait()
}

// Faults is the fault injector of the /3.1 routes.
func (s *Sandbox) Faults() *faultinject.Injector { return &s.faults }

// Handler serves /3.1/... and /sandbox/... (see the package comment).
func (s *Sandbox) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /3.1/orders", s.handleCreateOrder)
	api.HandleFunc("GET /3.1/orders/{id}", s.handleGetOrder)
	api.HandleFunc("POST /3.1/payments", s.handleCreatePayment)
	api.HandleFunc("PATCH /3.1/payments/{id}", s.handleUpdatePayment)
	api.HandleFunc("PATCH /3.1/payments/{id}/cancel", s.handleCancelPayment)
	api.HandleFunc("POST /3.1/payment_details", s.handleCreatePaymentDetails)
	api.HandleFunc("DELETE /3.1/payment_details/{id}", s.handleDeletePaymentDetails)
	api.HandleFunc("GET /3.1/payment_details/{id}/authorised_payments", s.handleAuthorisedPayments)
	api.HandleFunc("POST /3.1/subscriptions", s.handleCreateSubscription)
	api.HandleFunc("PATCH /3.1/subscriptions/{id}", s.handleUpdateSubscription)
	api.HandleFunc("GET /3.1/webhook_subscriptions", s.handleGetWebhookSubscriptions)
	api.HandleFunc("PUT /3.1/webhook_subscriptions/{topic}", s.handlePutWebhookSubscription)

	mux := http.NewServeMux()
	mux.Handle("/3.1/", s.faults.Wrap(s.requireToken(api)))
	mux.HandleFunc("POST /auths", s.handleLogin)
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	mux.Handle("/sandbox/faults", s.faults.Handler())
	mux.HandleFunc("POST /sandbox/offers", control(s.SeedOffer))
	mux.HandleFunc("POST /sandbox/customers", control(s.SeedCustomer))
	mux.HandleFunc("POST /sandbox/subscriptions", controlResult(s.SeedSubscription))
	mux.HandleFunc("POST /sandbox/subscriptions/{id}/dunning", s.handleDunning)
	mux.HandleFunc("POST /sandbox/webhooks", func(w http.ResponseWriter, r *http.Request) {
		controlResult(func(req EmitRequest) ([]Delivery, error) { return s.Emit(r.Context(), req) })(w, r)
	})
	mux.HandleFunc("GET /sandbox/state", s.handleState)
	return mux
}

func (s *Sandbox) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(cleeng.HeaderPublisherToken)
		want := s.opts.PublisherToken
		if got == "" || (want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1) {
			writeErr(w, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing or invalid " + cleeng.HeaderPublisherToken})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// State returns a snapshot of the whole state.
func (s *Sandbox) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Version: s.version, WebhookSubscriptions: cleeng.WebhookSubscriptions{}, Webhooks: slices.Clone(s.deliveries),
		PaymentRequests: slices.Clone(s.paymentRequests)}
	for _, k := range slices.Sorted(maps.Keys(s.offers)) {
		st.Offers = append(st.Offers, s.offers[k])
	}
	for _, k := range sortedIDs(s.customers) {
		st.Customers = append(st.Customers, s.customers[k])
	}
	for _, k := range sortedIDs(s.orders) {
		st.Orders = append(st.Orders, *s.orders[k])
	}
	for _, k := range sortedIDs(s.payments) {
		st.Payments = append(st.Payments, *s.payments[k])
	}
	for _, k := range sortedIDs(s.details) {
		st.PaymentDetails = append(st.PaymentDetails, *s.details[k])
	}
	for _, k := range sortedIDs(s.subs) {
		st.Subscriptions = append(st.Subscriptions, *s.subs[k])
	}
	for topic, list := range s.hooks {
		st.WebhookSubscriptions[topic] = slices.Clone(list)
	}
	return st
}

// stateWait bounds how long GET /sandbox/state?after=N holds the request
// before it answers the unchanged state (the caller asks again).
const stateWait = 20 * time.Second

// handleState answers the state; with ?after=N, once it is past version N,
// so a client waits for a change without polling.
func (s *Sandbox) handleState(w http.ResponseWriter, r *http.Request) {
	if after := r.URL.Query().Get("after"); after != "" {
		version, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			writeErr(w, badRequest("after: %q is not a version", after))
			return
		}
		s.waitFor(r.Context(), stateWait, func() bool { return s.version > version })
	}
	writeJSON(w, http.StatusOK, s.State())
}

// sortedIDs orders numeric ids numerically, others after them by text.
func sortedIDs[V any](m map[cleeng.ID]V) []cleeng.ID {
	return slices.SortedFunc(maps.Keys(m), compareIDs)
}

// compareIDs is sortedIDs's order.
func compareIDs(a, b cleeng.ID) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(string(a), string(b))
}

// newID returns a fresh id. Callers hold mu.
func (s *Sandbox) newID() cleeng.ID {
	s.nextID++
	return cleeng.ID(strconv.FormatInt(s.nextID, 10))
}

// changedLocked wakes everyone waiting for a change. Callers hold mu.
func (s *Sandbox) changedLocked() {
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond (called with mu held) is true or timeout passes.
func (s *Sandbox) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func (s *Sandbox) now() time.Time { return s.opts.Clock().UTC() }

// Error is a refusal, written as Cleeng's error body
// {"errors":[{"code","message"}]} with Status.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, args...)}
}

func unprocessable(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

const maxBody = 1 << 20

// decode reads a JSON body strictly: unknown fields are refused, so a
// client sending a misspelt key learns it here rather than in production.
func decode(r *http.Request, v any) *Error {
	return decodeFrom(io.LimitReader(r.Body, maxBody), v)
}

// decodeFrom is decode of any reader (a body read once and decoded in one
// of two forms).
func decodeFrom(r io.Reader, v any) *Error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	body := map[string]any{"errors": []map[string]string{{"code": e.Code, "message": e.Message}}}
	writeJSON(w, e.Status, body)
}

// control serves a seed function over HTTP: JSON in, the same JSON back.
func control[T any](seed func(T) error) http.HandlerFunc {
	return controlResult(func(v T) (T, error) { return v, seed(v) })
}

// controlResult serves a control function over HTTP: JSON in, JSON result out.
func controlResult[T, R any](fn func(T) (R, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		if err := decode(r, &in); err != nil {
			writeErr(w, err)
			return
		}
		out, err := fn(in)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}
