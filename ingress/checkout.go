package ingress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/messages"
)

// Outcomes lets the checkout endpoints answer with the flow's result.
// Wait returns the outcome of operation key as soon as it is known (final,
// failed, or waiting for the shopper) and differs from stale, or ok=false
// when ctx ends first.
type Outcomes interface {
	Wait(ctx context.Context, key string, stale json.RawMessage) (outcome json.RawMessage, ok bool, err error)
	Get(ctx context.Context, key string) (outcome json.RawMessage, ok bool, err error)
}

// CheckoutConfig configures the front-end endpoints.
type CheckoutConfig struct {
	// SyncWait is how long a call waits for its outcome before answering 202.
	SyncWait time.Duration
	// CORSOrigins allowed to call; others get no CORS headers.
	CORSOrigins []string
	// Outcomes reads flow results; nil answers 202 at once.
	Outcomes Outcomes
	// MaxWaits caps the calls waiting for their outcome at once; past it a
	// call is answered 429 with Retry-After, and nothing is stored.
	// Default 1000.
	MaxWaits int
}

// DefaultMaxWaits is CheckoutConfig.MaxWaits's default.
const DefaultMaxWaits = 1000

// MountCheckout registers the front-end endpoints.
func (s *Server) MountCheckout(cfg CheckoutConfig) {
	if cfg.MaxWaits <= 0 {
		cfg.MaxWaits = DefaultMaxWaits
	}
	c := &checkout{s: s, cfg: cfg, waits: make(chan struct{}, cfg.MaxWaits)}
	s.Handle("POST /v1/checkout/payments", c.cors(http.HandlerFunc(c.payment)))
	s.Handle("POST /v1/checkout/payments/details", c.cors(http.HandlerFunc(c.details)))
	s.Handle("GET /v1/checkout/payments/{orderId}", c.cors(http.HandlerFunc(c.status)))
	s.Handle("POST /v1/payment-details", c.cors(http.HandlerFunc(c.paymentDetails)))
	s.Handle("POST /v1/payment-details/details", c.cors(http.HandlerFunc(c.paymentDetailsAction)))
	s.Handle("OPTIONS /v1/", c.cors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
}

type checkout struct {
	s   *Server
	cfg CheckoutConfig
	// waits holds a token per call between its publish and its answer.
	waits chan struct{}
}

// submit stores a command and answers with the outcome of its operation
// key once it differs from stale, within SyncWait; else 202 pointing at
// location. A call past MaxWaits is refused before anything is stored.
func (c *checkout) submit(w http.ResponseWriter, r *http.Request, subject, msgID string, body []byte, key string, stale json.RawMessage, location string) {
	release, ok := c.admit(w)
	if !ok {
		return
	}
	defer release()
	if !c.s.publishOr503(w, r, subject, msgID, body) {
		return
	}
	c.wait(w, r, key, stale, location)
}

// admit takes a waiting slot before anything is stored; a call it refuses
// is answered 429 and publishes nothing. The caller must release it.
func (c *checkout) admit(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case c.waits <- struct{}{}:
		return func() { <-c.waits }, true
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "too many checkout calls in progress: send again in a second", "")
		return nil, false
	}
}

func (c *checkout) payment(w http.ResponseWriter, r *http.Request) {
	var cmd messages.PaymentCommand
	body, ok := decodeStrict(w, r, &cmd)
	if !ok || !valid(w, positive("orderId", cmd.OrderID), object("paymentMethod", cmd.PaymentMethod, paymentMethodObject)) {
		return
	}
	// One message per order: the same order again is the same operation.
	key := messages.InitialKey(cmd.OrderID)
	c.submit(w, r, messages.SubjectCheckoutPayment, key, body, key, nil, statusURL(cmd.OrderID))
}

func (c *checkout) details(w http.ResponseWriter, r *http.Request) {
	var cmd messages.DetailsCommand
	body, ok := decodeStrict(w, r, &cmd)
	if !ok || !valid(w, positive("orderId", cmd.OrderID), object("details", cmd.Details, "the gateway's action result object")) {
		return
	}
	key := messages.InitialKey(cmd.OrderID)
	stale := c.pendingAction(r.Context(), key)
	c.submit(w, r, messages.SubjectCheckoutDetails, key+".details."+digest(cmd.Details), body, key, stale, statusURL(cmd.OrderID))
}

func (c *checkout) paymentDetails(w http.ResponseWriter, r *http.Request) {
	var cmd messages.PaymentDetailsCommand
	body, ok := decodeStrict(w, r, &cmd)
	if !ok || !valid(w, positive("customerId", cmd.CustomerID), positive("paymentMethodId", cmd.PaymentMethodID),
		object("paymentMethod", cmd.PaymentMethod, paymentMethodObject),
		rule{cmd.RequestID == "" || requestIDPattern.MatchString(cmd.RequestID), "requestId", requestIDRule}) {
		return
	}
	if cmd.RequestID == "" {
		cmd.RequestID = digest(body)[:32]
		if body, ok = marshal(w, cmd); !ok {
			return
		}
	}
	key := messages.PaymentDetailsKey(cmd.CustomerID, cmd.RequestID)
	c.submit(w, r, messages.SubjectCheckoutPaymentDetails, key, body, key, nil, "")
}

func (c *checkout) paymentDetailsAction(w http.ResponseWriter, r *http.Request) {
	var cmd messages.PaymentDetailsActionCommand
	body, ok := decodeStrict(w, r, &cmd)
	if !ok || !valid(w, positive("customerId", cmd.CustomerID),
		rule{requestIDPattern.MatchString(cmd.RequestID), "requestId", "required, the requestId the update answered with"},
		object("details", cmd.Details, "the gateway's action result object")) {
		return
	}
	key := messages.PaymentDetailsKey(cmd.CustomerID, cmd.RequestID)
	stale := c.pendingAction(r.Context(), key)
	c.submit(w, r, messages.SubjectCheckoutPaymentDetailsAction, key+".details."+digest(cmd.Details), body, key, stale, "")
}

// requestIDPattern: a requestId becomes part of an operation key.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const requestIDRule = "1 to 64 letters, digits, '-' or '_'"

func (c *checkout) status(w http.ResponseWriter, r *http.Request) {
	orderID, err := strconv.ParseInt(r.PathValue("orderId"), 10, 64)
	if err != nil || orderID <= 0 {
		writeError(w, http.StatusBadRequest, "orderId: a positive integer", "orderId")
		return
	}
	if c.cfg.Outcomes == nil {
		writeError(w, http.StatusNotFound, "no outcomes are kept by this ingress", "")
		return
	}
	out, ok, err := c.cfg.Outcomes.Get(r.Context(), messages.InitialKey(orderID))
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "reading the outcome: "+err.Error(), "")
	case !ok:
		writeJSON(w, http.StatusOK, map[string]any{"status": "pending", "orderId": orderID})
	default:
		writeRaw(w, http.StatusOK, out)
	}
}

// rule is one check of a command's field: want says what the field must be.
type rule struct {
	ok    bool
	field string
	want  string
}

const paymentMethodObject = "the gateway's payment method object"

// positive: field is a required positive integer.
func positive(field string, n int64) rule {
	return rule{n > 0, field, "required, a positive integer"}
}

// object: field is a required JSON object, described by what.
func object(field string, raw json.RawMessage, what string) rule {
	return rule{isObject(raw), field, "required, " + what}
}

// valid answers 400 naming the first field that breaks its rule, and
// reports whether every rule held.
func valid(w http.ResponseWriter, rules ...rule) bool {
	for _, rl := range rules {
		if !rl.ok {
			writeError(w, http.StatusBadRequest, rl.field+": "+rl.want, rl.field)
			return false
		}
	}
	return true
}

func statusURL(orderID int64) string {
	return "/v1/checkout/payments/" + strconv.FormatInt(orderID, 10)
}

// pendingAction is the outcome of key while it asks the shopper to act, or
// nil. Details complete that action, so their call waits for an outcome
// other than it; a repeated call after the operation went past the action
// (a retry, a double click) waits for nothing and is answered the stored
// outcome at once, not "pending" after SyncWait.
func (c *checkout) pendingAction(ctx context.Context, key string) json.RawMessage {
	if c.cfg.Outcomes == nil {
		return nil
	}
	out, _, _ := c.cfg.Outcomes.Get(ctx, key)
	var current struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(out, &current) != nil || current.Status != statusActionRequired {
		return nil
	}
	return out
}

// statusActionRequired is the status of an outcome that waits for the
// shopper (3-D Secure, a redirect).
const statusActionRequired = "action_required"

// wait answers 200 with the outcome when the flow has one (other than
// stale) within SyncWait, else 202 pending with the status URL in Location.
func (c *checkout) wait(w http.ResponseWriter, r *http.Request, key string, stale json.RawMessage, location string) {
	if c.cfg.Outcomes != nil && c.cfg.SyncWait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), c.cfg.SyncWait)
		defer cancel()
		out, ok, err := c.cfg.Outcomes.Wait(ctx, key, stale)
		if err == nil && ok {
			writeRaw(w, http.StatusOK, out)
			return
		}
	}
	if location != "" {
		w.Header().Set("Location", location)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending"})
}

func (c *checkout) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		for _, allowed := range c.cfg.CORSOrigins {
			if origin != "" && origin == allowed {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type")
				h.Add("Vary", "Origin")
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}

// decodeStrict reads the body and decodes it into v, rejecting unknown
// fields and trailing data, answering 4xx itself. It returns the raw body.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+describeJSONError(err), jsonErrorField(err))
		return nil, false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: data after the object", "")
		return nil, false
	}
	return body, true
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return typeErr.Field + ": expected " + typeErr.Type.String() + ", got " + typeErr.Value
	}
	return err.Error()
}

func jsonErrorField(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return typeErr.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return ""
}

func marshal(w http.ResponseWriter, v any) ([]byte, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the command: "+err.Error(), "")
		return nil, false
	}
	return b, true
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 2 && raw[0] == '{'
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
