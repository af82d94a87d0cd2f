package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
)

// mallory is a customer of the same publisher probing other customers'
// payments with her own, valid, customer JWT.
var mallory = cleengsandbox.Customer{ID: "927751999", Email: "mallory@example.com", Country: "DE"}

// probe is one request of the security review (issue 12), sent to the real
// ingress over HTTP.
type probe struct {
	method, path, token, contentType, body string
	header                                 map[string]string
}

// send answers the probe's status and body, and how many messages the
// inbox stored for it (by sequence: the workers consume what is stored).
func (e *e2e) send(p probe) (code int, out outcome, stored uint64) {
	e.t.Helper()
	before := e.inboxLastSeq()
	req, err := http.NewRequest(p.method, e.dev.IngressURL+p.path, strings.NewReader(p.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// Only net/http's own refusals (before any handler) are not JSON; the
	// probes' assertions then see an empty answer.
	if err := json.Unmarshal(raw, &out); err != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		e.t.Fatalf("%s %s: %d %s", p.method, p.path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, e.inboxLastSeq() - before
}

func (e *e2e) inboxLastSeq() uint64 {
	e.t.Helper()
	s, err := e.dev.Broker.JS.Stream(context.Background(), broker.InboxStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.LastSeq
}

func (e *e2e) tokenOf(c cleengsandbox.Customer) string {
	e.t.Helper()
	if err := e.dev.Cleeng.SeedCustomer(c); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.dev.Cleeng.CustomerToken(c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSecurity_OnlyTheCustomerTouchesTheirOwnPayments reproduces the
// review's probes against other customers' payments: each gets its fixed
// answer, and what the flows refuse leaves the victim's payment untouched.
func TestSecurity_OnlyTheCustomerTouchesTheirOwnPayments(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	attacker := e.tokenOf(mallory)
	pay := func(order cleeng.ID, holder string) string {
		return jsonBody(map[string]any{"orderId": json.Number(order), "paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, holder)})
	}

	t.Run("no token, an invalid one, an expired one, another publisher's: 401, nothing stored", func(t *testing.T) {
		now := time.Now()
		forge := func(publisher cleeng.ID, expires time.Time) string {
			tok, err := e.dev.Cleeng.SignCustomerToken(cleeng.CustomerClaims{CustomerID: stack.DemoCustomer.ID, PublisherID: publisher,
				RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(expires)}})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		for name, tok := range map[string]string{
			"none": "", "garbage": "not.a.jwt",
			"expired":           forge(stack.DevPublisherID, now.Add(-time.Hour)),
			"another publisher": forge("999999", now.Add(time.Hour)),
			"tampered":          e.token[:len(e.token)-4] + "AAAA",
		} {
			code, out, stored := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: tok,
				contentType: "application/json", body: pay("100000001", "Matthew Brown")})
			if code != http.StatusUnauthorized || out.Code != "unauthenticated" || stored != 0 {
				t.Errorf("%s token: %d %+v, stored %d; want 401 unauthenticated, nothing stored", name, code, out, stored)
			}
		}
	})

	t.Run("burn an order before it exists", func(t *testing.T) {
		// Ids are sequential: the next order Cleeng issues is known.
		seen := e.order("DE", stack.DemoOffer.ID)
		n, _ := strconv.ParseInt(seen.ID.String(), 10, 64)
		next := cleeng.ID(strconv.FormatInt(n+1, 10))
		code, out, _ := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: attacker,
			contentType: "application/json", body: pay(next, "Mallory Attacker")})
		if code != http.StatusOK || out.Status != "failed" || out.Code != messages.OutcomeOrderNotFound {
			t.Fatalf("attacker's payment of a future order: %d %+v, want 200 failed %s", code, out, messages.OutcomeOrderNotFound)
		}
		victim := e.order("DE", stack.DemoOffer.ID)
		if victim.ID != next {
			t.Fatalf("the victim's order is %s, not the predicted %s", victim.ID, next)
		}
		if got := e.pay(victim.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown")); got.Status != "captured" {
			t.Errorf("the owner's payment after the probe: %+v, want captured", got)
		}
	})

	t.Run("a refused card on someone's open order", func(t *testing.T) {
		victim := e.order("DE", stack.DemoOffer.ID)
		code, out, _ := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: attacker,
			contentType: "application/json", body: pay(victim.ID, adyensandbox.HolderDeclined)})
		if code != http.StatusOK || out.Code != messages.OutcomeOrderNotFound {
			t.Fatalf("attacker's refused card: %d %+v, want order_not_found", code, out)
		}
		if charges := e.dev.Adyen.PaymentsFor(victim.ID.String()); len(charges) != 0 {
			t.Fatalf("the attacker's card reached Adyen for order %s: %+v", victim.ID, charges)
		}
		if got := e.pay(victim.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown")); got.Status != "captured" {
			t.Errorf("the owner's payment after the probe: %+v, want captured", got)
		}
	})

	t.Run("read another customer's payment, or complete its 3-D Secure", func(t *testing.T) {
		victim := e.order("DE", stack.DemoOffer.ID)
		code, out, _ := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: e.token, contentType: "application/json",
			body: jsonBody(map[string]any{"orderId": json.Number(victim.ID), "paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa3DS, "Matthew Brown")})})
		if code != http.StatusOK || out.Status != "action_required" {
			t.Fatalf("the victim's 3-D Secure payment: %d %+v", code, out)
		}
		code, out, _ = e.send(probe{method: http.MethodGet, path: "/v1/checkout/payments/" + victim.ID.String(), token: attacker})
		if code != http.StatusNotFound || out.Code != "not_found" || len(out.Action) != 0 {
			t.Errorf("attacker reads the victim's outcome: %d %+v, want 404 and nothing of it", code, out)
		}
		code, out, stored := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments/details", token: attacker,
			contentType: "application/json", body: jsonBody(map[string]any{"orderId": json.Number(victim.ID), "details": map[string]string{"redirectResult": "x"}})})
		if code != http.StatusNotFound || stored != 0 {
			t.Errorf("attacker sends details for the victim's order: %d %+v, stored %d; want 404, nothing stored", code, out, stored)
		}
	})

	t.Run("replace another customer's card", func(t *testing.T) {
		before := e.dev.Cleeng.State().PaymentDetails
		code, out, stored := e.send(probe{method: http.MethodPost, path: "/v1/payment-details", token: attacker, contentType: "application/json",
			body: jsonBody(map[string]any{"customerId": json.Number(stack.DemoCustomer.ID), "paymentMethodId": json.Number(stack.DevPaymentMethodAdyen),
				"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, "Mallory Attacker")})})
		if code != http.StatusForbidden || out.Code != "forbidden" || stored != 0 {
			t.Errorf("attacker updates the victim's card: %d %+v, stored %d; want 403, nothing stored", code, out, stored)
		}
		if after := e.dev.Cleeng.State().PaymentDetails; len(after) != len(before) {
			t.Errorf("Cleeng payment details changed: %d before, %d after", len(before), len(after))
		}
	})

	t.Run("read another customer's card update", func(t *testing.T) {
		update := func(token, holder string) outcome {
			code, out, _ := e.send(probe{method: http.MethodPost, path: "/v1/payment-details", token: token, contentType: "application/json",
				body: jsonBody(map[string]any{"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen), "requestId": "1",
					"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardMastercard, holder)})})
			if code != http.StatusOK {
				t.Fatalf("card update: %d %+v", code, out)
			}
			return out
		}
		if got := update(e.token, "Matthew Brown"); got.Status != "active" || bytes.Contains(got.PaymentMethodSpecificParams, []byte("Matthew")) {
			t.Fatalf("the victim's update: %+v, want active without the holder's name", got)
		}
		// The same requestId is the attacker's own operation: her refused card.
		if got := update(attacker, adyensandbox.HolderDeclined); got.Status != "rejected" || len(got.PaymentMethodSpecificParams) != 0 {
			t.Errorf("attacker's update under the victim's requestId: %+v, want her own rejection", got)
		}
	})

	t.Run("internal error text never reaches the front-end", func(t *testing.T) {
		// An order paid with a method no gateway serves fails with an
		// operator's instruction ("add 42=<gateway> to PAYMENT_METHODS").
		o, err := e.cleeng.CreateOrder(context.Background(), cleeng.CreateOrderRequest{CustomerID: stack.DemoCustomer.ID,
			OfferID: stack.DemoOffer.ID, Currency: "EUR", Country: "DE", PaymentMethodID: "42"})
		if err != nil {
			t.Fatal(err)
		}
		code, out, _ := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: e.token,
			contentType: "application/json", body: pay(o.ID, "Matthew Brown")})
		if code != http.StatusOK || out.Status != "failed" || out.Code != "failed" {
			t.Fatalf("unroutable order: %d %+v, want 200 failed", code, out)
		}
		if reason := e.waitDeadLetter("initial-purchase"); !strings.Contains(reason, "PAYMENT_METHODS") {
			t.Errorf("dead letter %q: the operator's reason is missing", reason)
		}
		dlq, err := e.dev.Broker.JS.Stream(context.Background(), broker.DLQStream)
		if err != nil {
			t.Fatal(err)
		}
		letter, err := dlq.GetLastMsgForSubject(context.Background(), broker.SubjectDLQ+".initial-purchase")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(letter.Data, []byte("Matthew Brown")) || !bytes.Contains(letter.Data, []byte(adyensandbox.CardVisa)) {
			t.Errorf("dead letter %s: want the payment data a replay needs, without the holder's name", letter.Data)
		}
		_, status, _ := e.send(probe{method: http.MethodGet, path: "/v1/checkout/payments/" + o.ID.String(), token: e.token})
		for _, leak := range []string{"PAYMENT_METHODS", "gateway", "42"} {
			if strings.Contains(status.Error, leak) {
				t.Errorf("front-end answer %+v names %q", status, leak)
			}
		}
	})
}

// TestSecurity_FinishedOperationsKeepNoCardHolderData: once a purchase or
// a card update finished, its record keeps its outcome and references,
// not the holder's name, the token or the shopper's action.
func TestSecurity_FinishedOperationsKeepNoCardHolderData(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	if got := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown")); got.Status != "captured" {
		t.Fatalf("purchase: %+v", got)
	}
	code, update := e.post("/v1/payment-details", map[string]any{"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen),
		"requestId": "r1", "paymentMethod": adyensandbox.CardMethod(adyensandbox.CardMastercard, "Matthew Brown")})
	if code != http.StatusOK || update.Status != "active" {
		t.Fatalf("card update: %d %+v", code, update)
	}
	// A renewal charged with the stored card: Adyen echoes the card, and
	// its holder's name, in the answer.
	e.authorisedRenewal(e.subscribe("DE"))
	customer, _ := strconv.ParseInt(stack.DemoCustomer.ID.String(), 10, 64)
	keys := []string{e.initialKey(o.ID), messages.PaymentDetailsKey(customer, "r1")}
	testkit.Eventually(t, 15*time.Second, "the purchase, the card update and the renewal finished", func() bool {
		recs, err := ops.List[json.RawMessage](context.Background(), ops.NewStore(e.dev.Broker.Ops), "")
		if err != nil {
			t.Fatal(err)
		}
		renewals := 0
		for _, r := range recs {
			if r.Flow == "authorise" && r.Status == ops.StatusDone {
				renewals++
			}
		}
		return e.finished(keys...) && renewals == 1
	})
	recs, err := ops.List[json.RawMessage](context.Background(), ops.NewStore(e.dev.Broker.Ops), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Status != ops.StatusDone {
			continue
		}
		for _, kept := range []string{"Matthew Brown", "holderName", `"token"`, `"card"`, `"action"`} {
			if bytes.Contains(r.State, []byte(kept)) {
				t.Errorf("finished record %s (%s) keeps %s: %s", r.Key, r.Flow, kept, r.State)
			}
		}
	}
}

// TestSecurity_EdgeValidationRefusesAndStoresNothing: the front-end edge
// probes of the review, each answered with its fixed code before anything
// is stored.
func TestSecurity_EdgeValidationRefusesAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	card := string(adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	payment := func(extra string) string {
		return `{"orderId":` + o.ID.String() + `,"paymentMethod":` + card + extra + `}`
	}
	tests := []struct {
		name, contentType, body, code, field string
		status                               int
	}{
		{"text/plain", "text/plain", payment(""), "unsupported_media_type", "Content-Type", http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", "orderId=" + o.ID.String(), "unsupported_media_type", "Content-Type", http.StatusUnsupportedMediaType},
		{"invalid UTF-8", "application/json", payment(`,"origin":"` + "\xff" + `"`), "invalid_request", "origin", http.StatusBadRequest},
		{"duplicate key", "application/json", payment(`,"orderId":1`), "invalid_request", "orderId", http.StatusBadRequest},
		{"javascript returnUrl", "application/json", payment(`,"returnUrl":"javascript:alert(1)"`), "invalid_request", "returnUrl", http.StatusBadRequest},
		{"foreign returnUrl", "application/json", payment(`,"returnUrl":"https://evil.example/x"`), "invalid_request", "returnUrl", http.StatusBadRequest},
		{"shopperIP from the body", "application/json", payment(`,"shopperIP":"1.2.3.4"`), "invalid_request", "shopperIP", http.StatusBadRequest},
		{"customerId of another", "application/json", payment(`,"customerId":1`), "forbidden", "customerId", http.StatusForbidden},
		{"storedPaymentMethodId", "application/json", `{"orderId":` + o.ID.String() + `,"paymentMethod":{"type":"scheme","storedPaymentMethodId":"TOKEN"}}`,
			"invalid_request", "paymentMethod.storedPaymentMethodId", http.StatusBadRequest},
	}
	for _, tt := range tests {
		code, out, stored := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: e.token, contentType: tt.contentType, body: tt.body})
		if code != tt.status || out.Code != tt.code || out.Field != tt.field || stored != 0 {
			t.Errorf("%s: %d %+v, stored %d; want %d %s naming %s, nothing stored", tt.name, code, out, stored, tt.status, tt.code, tt.field)
		}
	}

	// A 60 KB traceparent is past every server's header limit: refused
	// before any handler runs, nothing stored.
	code, _, stored := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: e.token, contentType: "application/json",
		body: payment(""), header: map[string]string{"traceparent": strings.Repeat("0", 60<<10)}})
	if code != http.StatusRequestHeaderFieldsTooLarge || stored != 0 {
		t.Errorf("payment with a 60 KB traceparent: %d, stored %d; want 431, nothing stored", code, stored)
	}
	// An invalid one costs the trace, not the payment (the ingress's tests
	// check that a caller's traceparent is never stored).
	code, out, stored := e.send(probe{method: http.MethodPost, path: "/v1/checkout/payments", token: e.token, contentType: "application/json",
		body: payment(`,"returnUrl":"` + e.dev.IngressURL + `/return"`), header: map[string]string{"traceparent": "garbage"}})
	if code != http.StatusOK || out.Status != "captured" || stored == 0 {
		t.Fatalf("payment with an invalid traceparent: %d %+v, stored %d", code, out, stored)
	}
}
