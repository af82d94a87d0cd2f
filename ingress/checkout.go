package ingress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/messages"
)

// Outcomes lets the checkout endpoints answer with the flow's result.
// Wait returns the outcome of operation key as soon as it is known (final,
// failed, or waiting for the shopper) and differs from stale, or ok=false
// when ctx ends first. Get reports whether the operation exists and its
// outcome, nil while it has none yet.
// AwaitingShopper finds the latest operation under a key prefix that
// waits for the shopper.
type Outcomes interface {
	Wait(ctx context.Context, key string, stale json.RawMessage) (outcome json.RawMessage, ok bool, err error)
	Get(ctx context.Context, key string) (outcome json.RawMessage, found bool, err error)
	AwaitingShopper(ctx context.Context, prefix string) (key string, outcome json.RawMessage, found bool, err error)
}

// Customers verifies a Cleeng customer JWT and names its customer
// (cleeng.CustomerVerifier).
type Customers interface {
	Verify(ctx context.Context, token string) (customerID int64, err error)
}

// CheckoutConfig configures the front-end endpoints.
type CheckoutConfig struct {
	// SyncWait is how long a call waits for its outcome before answering 202.
	SyncWait time.Duration
	// CORSOrigins allowed to call; others get no CORS headers.
	CORSOrigins []string
	// Customers authenticates every call (Authorization: Bearer <customer
	// JWT>); required.
	Customers Customers
	// ReturnOrigins are the origins (scheme://host[:port]) a returnUrl and
	// an origin may name; none: the front-end may send neither.
	ReturnOrigins []string
	// TrustedProxies may name the shopper's address in X-Forwarded-For;
	// from any other peer the connection's address is the shopper's.
	TrustedProxies []netip.Prefix
	// Outcomes reads flow results; nil answers 202 at once.
	Outcomes Outcomes
	// MaxWaits caps the calls waiting for their outcome at once; past it a
	// call is answered 429 with Retry-After, and nothing is stored.
	// Default 1000.
	MaxWaits int
	// MediaStore configures the Adyen endpoints of Cleeng's MediaStore SDK.
	MediaStore MediaStoreConfig
}

// DefaultMaxWaits is CheckoutConfig.MaxWaits's default.
const DefaultMaxWaits = 1000

// MountCheckout registers the front-end endpoints.
func (s *Server) MountCheckout(cfg CheckoutConfig) {
	if cfg.Customers == nil {
		panic("ingress: MountCheckout without Customers: front-end calls must be authenticated")
	}
	if cfg.MaxWaits <= 0 {
		cfg.MaxWaits = DefaultMaxWaits
	}
	c := &checkout{s: s, cfg: cfg, waits: make(chan struct{}, cfg.MaxWaits)}
	s.Handle("POST /v1/checkout/payments", c.cors(http.HandlerFunc(c.payment)))
	s.Handle("POST /v1/checkout/payments/details", c.cors(http.HandlerFunc(c.details)))
	s.Handle("GET /v1/checkout/payments/{orderId}", c.cors(http.HandlerFunc(c.status)))
	s.Handle("POST /v1/payment-details", c.cors(http.HandlerFunc(c.paymentDetails)))
	s.Handle("POST /v1/payment-details/details", c.cors(http.HandlerFunc(c.paymentDetailsAction)))
	c.mountMediaStore()
	// Preflights carry no credentials: they are answered unauthenticated.
	preflight := c.cors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	s.Handle("OPTIONS /v1/", preflight)
	s.Handle("OPTIONS "+mediaStorePrefix, preflight)
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
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.pay(w, r, cmd)
	}
}

// pay stores a customer's payment of an order and answers its outcome.
func (c *checkout) pay(w http.ResponseWriter, r *http.Request, cmd messages.PaymentCommand) {
	if !valid(w, append([]rule{positive("orderId", cmd.OrderID), paymentMethod(cmd.PaymentMethod)}, c.shopperRules(cmd.Shopper)...)...) {
		return
	}
	cmd.ShopperIP = c.clientIP(r)
	body, ok := marshal(w, cmd)
	if !ok {
		return
	}
	// One message per customer and order: the same order again is the
	// same operation; another customer's call is another operation, which
	// the flow refuses without touching the owner's.
	key := messages.InitialKey(cmd.CustomerID, cmd.OrderID)
	c.submit(w, r, messages.SubjectCheckoutPayment, key, body, key, nil, statusURL(cmd.OrderID))
}

func (c *checkout) details(w http.ResponseWriter, r *http.Request) {
	var cmd messages.DetailsCommand
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.completePayment(w, r, cmd)
	}
}

// completePayment stores the shopper's action result for a payment.
func (c *checkout) completePayment(w http.ResponseWriter, r *http.Request, cmd messages.DetailsCommand) {
	if !valid(w, positive("orderId", cmd.OrderID), object("details", cmd.Details, "the gateway's action result object")) {
		return
	}
	key := messages.InitialKey(cmd.CustomerID, cmd.OrderID)
	c.submitAction(w, r, messages.SubjectCheckoutDetails, key, cmd, cmd.Details, statusURL(cmd.OrderID))
}

func (c *checkout) paymentDetails(w http.ResponseWriter, r *http.Request) {
	var cmd messages.PaymentDetailsCommand
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.updateDetails(w, r, cmd)
	}
}

// updateDetails stores a customer's new payment details and answers the
// update's outcome.
func (c *checkout) updateDetails(w http.ResponseWriter, r *http.Request, cmd messages.PaymentDetailsCommand) {
	if !valid(w, append([]rule{positive("paymentMethodId", cmd.PaymentMethodID), paymentMethod(cmd.PaymentMethod),
		{cmd.RequestID == "" || requestIDPattern.MatchString(cmd.RequestID), "requestId", requestIDRule}}, c.shopperRules(cmd.Shopper)...)...) {
		return
	}
	cmd.ShopperIP = c.clientIP(r)
	body, ok := marshal(w, cmd)
	if !ok {
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
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.completeUpdate(w, r, cmd)
	}
}

// completeUpdate stores the shopper's action result for a details update.
func (c *checkout) completeUpdate(w http.ResponseWriter, r *http.Request, cmd messages.PaymentDetailsActionCommand) {
	if !valid(w, rule{requestIDPattern.MatchString(cmd.RequestID), "requestId", "required, the requestId the update answered with"},
		object("details", cmd.Details, "the gateway's action result object")) {
		return
	}
	key := messages.PaymentDetailsKey(cmd.CustomerID, cmd.RequestID)
	c.submitAction(w, r, messages.SubjectCheckoutPaymentDetailsAction, key, cmd, cmd.Details, "")
}

// submitAction stores a shopper's action result for the caller's own
// operation key. An operation the caller does not have (none, or another
// customer's) is answered 404 and nothing is stored.
func (c *checkout) submitAction(w http.ResponseWriter, r *http.Request, subject, key string, cmd any, details json.RawMessage, location string) {
	current, found, err := c.outcome(r.Context(), key)
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "cannot read the operation now; retry", "")
		return
	case !found:
		writeError(w, http.StatusNotFound, "no operation of yours waits for these details", "")
		return
	}
	body, ok := marshal(w, cmd)
	if !ok {
		return
	}
	c.submit(w, r, subject, key+".details."+digest(details), body, key, pendingAction(current), location)
}

// requestIDPattern: a requestId becomes part of an operation key.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const requestIDRule = "1 to 64 letters, digits, '-' or '_'"

// status answers the caller's own purchase of an order; an order the
// caller has no purchase of, theirs or not, is 404 alike.
func (c *checkout) status(w http.ResponseWriter, r *http.Request) {
	customer, ok := c.authenticate(w, r)
	if !ok {
		return
	}
	orderID, err := strconv.ParseInt(r.PathValue("orderId"), 10, 64)
	if err != nil || orderID <= 0 {
		writeError(w, http.StatusBadRequest, "orderId: a positive integer", "orderId")
		return
	}
	out, found, err := c.outcome(r.Context(), messages.InitialKey(customer, orderID))
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "cannot read the outcome now; retry", "")
	case !found:
		writeError(w, http.StatusNotFound, "no payment of yours for this order", "")
	case out == nil:
		writeJSON(w, http.StatusOK, map[string]any{"status": "pending", "orderId": orderID})
	default:
		writeRaw(w, http.StatusOK, out)
	}
}

// outcome reads key's operation; without an outcome reader nothing is found.
func (c *checkout) outcome(ctx context.Context, key string) (json.RawMessage, bool, error) {
	if c.cfg.Outcomes == nil {
		return nil, false, nil
	}
	return c.cfg.Outcomes.Get(ctx, key)
}

// rule is one check of a command's field: want says what the field must be.
type rule struct {
	ok    bool
	field string
	want  string
}

const paymentMethodObject = "the gateway's payment method object"

// shopperRules check the front-end's word on the shopper: its own
// address is the connection's, its pages are the allowed origins', and
// what it describes is an object.
func (c *checkout) shopperRules(s gateways.Shopper) []rule {
	return []rule{
		{s.ShopperIP == "", "shopperIP", "not accepted: the connector takes it from the connection"},
		c.underOrigins("returnUrl", s.ReturnURL), c.underOrigins("origin", s.Origin),
		optionalObject("browserInfo", s.BrowserInfo), optionalObject("billingAddress", s.BillingAddress),
	}
}

// optionalObject: field, when present, is a JSON object.
func optionalObject(field string, raw json.RawMessage) rule {
	return rule{len(raw) == 0 || string(raw) == "null" || isObject(raw), field, "a JSON object when present"}
}

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

// pendingAction is out while it asks the shopper to act, or nil. Details
// complete that action, so their call waits for an outcome other than it; a
// repeated call after the operation went past the action (a retry, a
// double click) waits for nothing and is answered the stored outcome at
// once, not "pending" after SyncWait.
func pendingAction(out json.RawMessage) json.RawMessage {
	var current struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(out, &current) != nil || current.Status != messages.StatusActionRequired {
		return nil
	}
	return out
}

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
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, traceparent")
				h.Add("Vary", "Origin")
				break
			}
		}
		next.ServeHTTP(w, r)
	})
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
