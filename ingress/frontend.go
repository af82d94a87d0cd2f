package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// read authenticates a front-end call and decodes its JSON body into cmd,
// setting customerID, the command's customer, to the verified one. A body
// may repeat the customer but never name another (403). It answers every
// refusal itself, before anything is stored.
func (c *checkout) read(w http.ResponseWriter, r *http.Request, cmd any, customerID *int64) bool {
	customer, ok := c.authenticate(w, r)
	if !ok || !jsonContent(w, r) || !decodeStrict(w, r, cmd) {
		return false
	}
	if *customerID != 0 && *customerID != customer {
		writeError(w, http.StatusForbidden, "customerId: not the customer your token names", "customerId")
		return false
	}
	*customerID = customer
	return true
}

// authenticate verifies the call's customer JWT (Authorization: Bearer)
// and returns its customer. Why a token was refused is logged, never
// answered.
func (c *checkout) authenticate(w http.ResponseWriter, r *http.Request) (int64, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		writeError(w, http.StatusUnauthorized, "a Cleeng customer token is required: Authorization: Bearer <jwt>", "")
		return 0, false
	}
	customer, err := c.cfg.Customers.Verify(r.Context(), token)
	if err != nil {
		c.s.cfg.Logger.Info().Err(err).Str("path", r.URL.Path).Msg("customer token refused")
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "the customer token is invalid or expired", "")
		return 0, false
	}
	return customer, true
}

// jsonContent requires a JSON body (application/json, UTF-8): a form or a
// text/plain body, which a browser sends cross-origin without a CORS
// preflight, is refused 415.
func jsonContent(w http.ResponseWriter, r *http.Request) bool {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", "Content-Type")
		return false
	}
	return true
}

// decodeStrict reads the body and decodes it into v, answering 4xx itself.
// The body must be I-JSON (RFC 7493: valid UTF-8, no duplicate keys, which
// encoding/json lets through and jsontext refuses), one object with no
// unknown fields and nothing after it.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if _, err := jsontext.NewDecoder(bytes.NewReader(body)).ReadValue(); err != nil {
		var syntax *jsontext.SyntacticError
		if errors.As(err, &syntax) && syntax.Err != nil {
			writeError(w, http.StatusBadRequest, "malformed JSON: "+syntax.Err.Error(), strings.TrimPrefix(string(syntax.JSONPointer), "/"))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON", "")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+describeJSONError(err), jsonErrorField(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: data after the object", "")
		return false
	}
	return true
}

// paymentMethod: the gateway's front-end payment data, a new one: a stored
// method (storedPaymentMethodId) is the connector's to use, on renewals,
// never the front-end's to name.
func paymentMethod(raw json.RawMessage) rule {
	if !isObject(raw) {
		return object("paymentMethod", raw, paymentMethodObject)
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields) // an object: decodeStrict read it
	_, stored := fields["storedPaymentMethodId"]
	return rule{!stored, "paymentMethod.storedPaymentMethodId", "not accepted: pay with new payment data"}
}

// underOrigins: field, when set, is an http(s) URL on one of the
// configured origins (a returnUrl the gateway sends the shopper to, the
// page's origin for 3-D Secure).
func (c *checkout) underOrigins(field, raw string) rule {
	ok := raw == ""
	if u, err := url.Parse(raw); !ok && err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.User == nil && u.Host != "" {
		ok = slices.Contains(c.cfg.ReturnOrigins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return rule{ok, field, "not under an allowed origin (CHECKOUT_RETURN_ORIGINS)"}
}

// clientIP is the shopper's address: the connection's peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For address that is
// not a trusted proxy itself (the left part of the header is whatever the
// client wrote).
func (c *checkout) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	peer = peer.Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0 && c.trusted(peer); i-- {
		next, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = next.Unmap()
	}
	return peer.String()
}

func (c *checkout) trusted(ip netip.Addr) bool {
	return slices.ContainsFunc(c.cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(ip) })
}
