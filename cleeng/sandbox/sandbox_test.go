package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/internal/testkit"
)

const token = "sandbox-token"

var secret = []byte("0123456789abcdef")

type env struct {
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	client *cleeng.Client
	clock  *testkit.Clock
	sub    sandbox.Subscription
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := testkit.NewClock(time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{PublisherToken: token, WebhookSecret: secret, Clock: clk.Now,
		OutcomeTimeout: 5 * time.Second, PublisherID: "777"})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { srv.Close(); sb.Close() })
	must(t, sb.SeedOffer(sandbox.Offer{ID: "S1_US", PeriodDays: 30, Prices: map[string]sandbox.Price{
		"US": {Amount: cleeng.MustDecimal("9.99"), Currency: "USD"},
	}}))
	must(t, sb.SeedCustomer(sandbox.Customer{ID: "1001", Email: "a@example.com", Country: "US"}))
	sub, err := sb.SeedSubscription(sandbox.SubscriptionSeed{CustomerID: "1001", OfferID: "S1_US",
		ExpiresAt: "2030-05-04T12:00:00Z", PaymentDetails: &sandbox.PaymentDetailsSeed{PaymentMethodID: "55", Token: "tok-old"}})
	must(t, err)
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: srv.URL + "/3.1", PublisherToken: token, MaxRetries: -1})
	must(t, err)
	return &env{sb: sb, srv: srv, client: client, clock: clk, sub: sub}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// refused asserts err is Cleeng's refusal with status and code.
func refused(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *cleeng.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != status || (code != "" && apiErr.Code != code) {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
	if apiErr.Message == "" {
		t.Fatalf("refusal without a message: %v", err)
	}
}

func (e *env) renewalOrder(t *testing.T) cleeng.Order {
	t.Helper()
	o, err := e.client.CreateOrder(bg(t), cleeng.CreateOrderRequest{CustomerID: "1001", OfferID: "S1_US", Currency: "USD",
		Country: "US", PaymentMethodID: "55", PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: e.sub.SubscriptionID})
	must(t, err)
	return o
}

// payment creates a renewal payment in status.
func (e *env) payment(t *testing.T, status cleeng.PaymentStatus, ext string) cleeng.Payment {
	t.Helper()
	req := cleeng.CreatePaymentRequest{OrderID: e.renewalOrder(t).ID, Status: status,
		PaymentOperation: cleeng.OperationRecurringPayment, ExternalPaymentID: ext}
	if status == cleeng.StatusRejected {
		req.RejectedReason = "Refused"
	}
	p, err := e.client.CreatePayment(bg(t), req)
	must(t, err)
	return p
}

func raw(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	must(t, err)
	if tok != "" {
		req.Header.Set(cleeng.HeaderPublisherToken, tok)
	}
	resp, b := testkit.Do(t, req)
	return resp.StatusCode, string(b)
}

func TestSandbox_PublisherTokenRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tok := range []string{"", "wrong"} {
		status, body := raw(t, http.MethodGet, e.srv.URL+"/3.1/webhook_subscriptions", tok, "")
		if status != http.StatusUnauthorized || !strings.Contains(body, "X-Publisher-Token") {
			t.Fatalf("token %q: %d %s", tok, status, body)
		}
	}
}

func TestSandbox_OrderPriceFromOfferAndCountry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.renewalOrder(t)
	if o.TotalPrice.String() != "9.99" || o.Currency != "USD" || o.RequiredPaymentDetails {
		t.Fatalf("order = %+v", o)
	}
	base := cleeng.CreateOrderRequest{CustomerID: "1001", OfferID: "S1_US", Currency: "USD", Country: "US", PaymentMethodID: "55"}
	cases := map[string]func(r *cleeng.CreateOrderRequest){
		"offer_not_available": func(r *cleeng.CreateOrderRequest) { r.Country = "FR" },
		"currency_mismatch":   func(r *cleeng.CreateOrderRequest) { r.Currency = "EUR" },
		"customer_not_found":  func(r *cleeng.CreateOrderRequest) { r.CustomerID = "9" },
		"offer_not_found":     func(r *cleeng.CreateOrderRequest) { r.OfferID = "nope" },
		"subscription_mismatch": func(r *cleeng.CreateOrderRequest) {
			r.PaymentOperation, r.SubscriptionID, r.OfferID = cleeng.OperationRecurringPayment, e.sub.SubscriptionID, "S2"
		},
	}
	must(t, e.sb.SeedOffer(sandbox.Offer{ID: "S2", Prices: map[string]sandbox.Price{"US": {Amount: cleeng.MustDecimal("1"), Currency: "USD"}}}))
	for code, change := range cases {
		req := base
		change(&req)
		_, err := e.client.CreateOrder(bg(t), req)
		refused(t, err, http.StatusUnprocessableEntity, code)
	}
}

func TestSandbox_OrderExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.renewalOrder(t)
	e.clock.Advance(2 * time.Hour)
	_, err := e.client.CreatePayment(bg(t), cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationRecurringPayment, ExternalPaymentID: "late"})
	refused(t, err, http.StatusUnprocessableEntity, "order_expired")
}

func TestSandbox_OrderPaidOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.renewalOrder(t)
	req := cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusRejected, PaymentOperation: cleeng.OperationRecurringPayment, RejectedReason: "Refused"}
	_, err := e.client.CreatePayment(bg(t), req)
	must(t, err) // a rejected payment leaves the order payable
	req.Status, req.ExternalPaymentID, req.RejectedReason = "authorised", "A1", ""
	p, err := e.client.CreatePayment(bg(t), req)
	if err != nil || p.Status != cleeng.StatusAuthorized {
		t.Fatalf("British spelling: %+v, %v", p, err)
	}
	req.ExternalPaymentID = "A2"
	_, err = e.client.CreatePayment(bg(t), req)
	refused(t, err, http.StatusUnprocessableEntity, "order_paid")
}

func TestSandbox_OnePaymentPerExternalID_409WithExisting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.payment(t, cleeng.StatusAuthorized, "PSP-1")
	body, _ := json.Marshal(cleeng.CreatePaymentRequest{OrderID: e.renewalOrder(t).ID, Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationRecurringPayment, ExternalPaymentID: "PSP-1"})
	status, answer := raw(t, http.MethodPost, e.srv.URL+"/3.1/payments", token, string(body))
	var existing cleeng.Payment
	if status != http.StatusConflict || json.Unmarshal([]byte(answer), &existing) != nil || existing.ID != p.ID {
		t.Fatalf("%d %s", status, answer)
	}
	// A capture may not take an id another payment holds.
	other := e.payment(t, cleeng.StatusAuthorized, "PSP-2")
	_, err := e.client.UpdatePayment(bg(t), other.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured, ExternalPaymentID: "PSP-1"})
	refused(t, err, http.StatusConflict, "external_payment_id_taken")

	// Cleeng holds one payment per id; the requests show the second try.
	var psp1 []sandbox.PaymentRequest
	for _, r := range e.sb.State().PaymentRequests {
		if r.ExternalPaymentID == "PSP-1" {
			psp1 = append(psp1, r)
		}
	}
	if len(psp1) != 2 || psp1[0].Answer != http.StatusOK || psp1[1].Answer != http.StatusConflict || psp1[1].Status != cleeng.StatusCaptured {
		t.Fatalf("POST /payments requests for PSP-1: %+v, want one created and one answered 409", psp1)
	}
}

func TestSandbox_StateAfterVersionAnswersOnceChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var active atomic.Int32
	srv := httptest.NewUnstartedServer(e.sb.Handler())
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateActive {
			active.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	current := e.sb.State().Version
	answered := make(chan sandbox.State, 1)
	go func() {
		status, body := raw(t, http.MethodGet, fmt.Sprintf("%s/sandbox/state?after=%d", srv.URL, current), "", "")
		var st sandbox.State
		if status != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
			t.Errorf("state after %d: %d %.200s", current, status, body)
		}
		answered <- st
	}()
	testkit.Eventually(t, time.Minute, "the request for the next version being served", func() bool { return active.Load() == 1 })
	must(t, e.sb.SeedCustomer(sandbox.Customer{ID: "3003", Country: "US"}))
	if st := <-answered; st.Version <= current || len(st.Customers) != 2 {
		t.Fatalf("state version %d with %d customers, want past %d with the new customer", st.Version, len(st.Customers), current)
	}
	// A version already passed is answered at once.
	status, body := raw(t, http.MethodGet, fmt.Sprintf("%s/sandbox/state?after=%d", srv.URL, current), "", "")
	var passed sandbox.State
	if status != http.StatusOK || json.Unmarshal([]byte(body), &passed) != nil || passed.Version <= current {
		t.Fatalf("state after a passed version: %d %.200s", status, body)
	}
	if status, body := raw(t, http.MethodGet, srv.URL+"/sandbox/state?after=soon", "", ""); status != http.StatusBadRequest {
		t.Fatalf("after=soon: %d %s", status, body)
	}
}

func TestSandbox_PaymentTransitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amount := func(s string) *cleeng.Decimal { d := cleeng.MustDecimal(s); return &d }
	capture := cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured}
	reject := cleeng.UpdatePaymentRequest{Status: cleeng.StatusRejected, RejectedReason: "Expired card"}
	refund := cleeng.UpdatePaymentRequest{Status: cleeng.StatusRefunded, RefundedAmount: amount("9.99"), RefundType: cleeng.RefundTypeRefund}
	n := 0
	newPayment := func(status cleeng.PaymentStatus) cleeng.Payment {
		n++
		return e.payment(t, status, "EXT-"+string(rune('A'+n)))
	}
	cancel := func(p cleeng.Payment) error { _, err := e.client.CancelPayment(bg(t), p.ID); return err }
	update := func(p cleeng.Payment, req cleeng.UpdatePaymentRequest) error {
		_, err := e.client.UpdatePayment(bg(t), p.ID, req)
		return err
	}

	// Legal moves, each also accepted a second time (a retried PATCH).
	p := newPayment(cleeng.StatusAuthorized)
	must(t, update(p, capture))
	must(t, update(p, capture))
	must(t, update(p, refund))
	must(t, update(p, refund))
	p = newPayment(cleeng.StatusAuthorized)
	must(t, update(p, reject))
	must(t, update(p, reject))
	p = newPayment(cleeng.StatusAuthorized)
	must(t, cancel(p))
	must(t, cancel(p))
	// A capture the gateway failed after it was reported (CAPTURE_FAILED).
	p = newPayment(cleeng.StatusCaptured)
	must(t, update(p, reject))

	illegal := []struct {
		name string
		from cleeng.PaymentStatus
		do   func(cleeng.Payment) error
		code string
	}{
		{"cancel a captured payment", cleeng.StatusCaptured, cancel, "invalid_transition"},
		{"cancel a rejected payment", cleeng.StatusRejected, cancel, "invalid_transition"},
		{"capture a rejected payment", cleeng.StatusRejected, func(p cleeng.Payment) error { return update(p, capture) }, "invalid_transition"},
		{"reject a refunded payment", cleeng.StatusCaptured, func(p cleeng.Payment) error {
			must(t, update(p, refund))
			return update(p, reject)
		}, "invalid_transition"},
		{"refund an authorised payment", cleeng.StatusAuthorized, func(p cleeng.Payment) error { return update(p, refund) }, "invalid_transition"},
		{"refund more than captured", cleeng.StatusCaptured, func(p cleeng.Payment) error {
			r := refund
			r.RefundedAmount = amount("10.00")
			return update(p, r)
		}, "invalid_amount"},
		{"patch to authorized", cleeng.StatusCaptured, func(p cleeng.Payment) error {
			return update(p, cleeng.UpdatePaymentRequest{Status: cleeng.StatusAuthorized})
		}, "invalid_status"},
	}
	for _, tt := range illegal {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, tt.do(newPayment(tt.from)), http.StatusUnprocessableEntity, tt.code)
		})
	}
	t.Run("refund twice with another amount", func(t *testing.T) {
		p := newPayment(cleeng.StatusCaptured)
		must(t, update(p, refund))
		r := refund
		r.RefundedAmount = amount("1.00")
		refused(t, update(p, r), http.StatusUnprocessableEntity, "invalid_transition")
	})
	t.Run("cancel a cancelled then capture", func(t *testing.T) {
		p := newPayment(cleeng.StatusAuthorized)
		must(t, cancel(p))
		refused(t, update(p, capture), http.StatusUnprocessableEntity, "invalid_transition")
	})
}

func TestSandbox_SubscriptionRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.sub.SubscriptionID
	_, err := e.client.UpdateSubscription(bg(t), id, cleeng.UpdateSubscriptionRequest{PaymentDetailsID: "12345"})
	refused(t, err, http.StatusUnprocessableEntity, "payment_details_invalid")
	status, body := raw(t, http.MethodPatch, e.srv.URL+"/3.1/subscriptions/"+string(id), token, `{"status":"terminated","expiresAt":"2030-01-01T00:00:00Z"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "exactly one field") {
		t.Fatalf("two fields: %d %s", status, body)
	}
	_, err = e.client.UpdateSubscription(bg(t), id, cleeng.UpdateSubscriptionRequest{Status: cleeng.SubscriptionPaused})
	refused(t, err, http.StatusUnprocessableEntity, "invalid_status")
	_, err = e.client.TerminateSubscription(bg(t), id)
	must(t, err)
	_, err = e.client.TerminateSubscription(bg(t), id)
	must(t, err)
	_, err = e.client.UpdateSubscription(bg(t), id, cleeng.UpdateSubscriptionRequest{ExpiresAt: "2031-01-01T00:00:00Z"})
	refused(t, err, http.StatusUnprocessableEntity, "subscription_terminated")
	_, err = e.client.CreateOrder(bg(t), cleeng.CreateOrderRequest{CustomerID: "1001", OfferID: "S1_US", Currency: "USD",
		Country: "US", PaymentMethodID: "55", PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: id})
	refused(t, err, http.StatusUnprocessableEntity, "subscription_not_active")
}

func TestSandbox_WebhookSubscriptionsPutReplaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	put := func(topic string, urls ...string) error {
		var eps []cleeng.WebhookEndpoint
		for _, u := range urls {
			eps = append(eps, cleeng.WebhookEndpoint{URL: u})
		}
		_, err := e.client.PutWebhookSubscription(bg(t), topic, eps)
		return err
	}
	must(t, put("refundPayment", "https://a.example/1", "https://b.example/2"))
	must(t, put("refundPayment", "https://c.example/3"))
	if got := e.sb.State().WebhookSubscriptions["refundPayment"]; len(got) != 1 || got[0].URL != "https://c.example/3" {
		t.Fatalf("after second PUT: %+v", got)
	}
	refused(t, put("noSuchTopic", "https://a.example"), http.StatusNotFound, "")
	refused(t, put("refundPayment", "not a url"), http.StatusBadRequest, "")
}

func TestSandbox_UnknownFieldsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, body := raw(t, http.MethodPost, e.srv.URL+"/3.1/orders", token, `{"customer_id":"1001"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "customer_id") {
		t.Fatalf("%d %s", status, body)
	}
}

// connector is a stand-in for the real connector in the dunning tests: it
// verifies the signature, decodes the webhook and answers as the flows
// would, through the client.
type connector struct {
	t      *testing.T
	e      *env
	refuse bool // refuse every charge
	mu     sync.Mutex
	got    []cleeng.Webhook
}

func (c *connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !cleeng.VerifySignature(secret, body, r.Header.Get(cleeng.DefaultSignatureHeader)) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	wh, err := cleeng.DecodeWebhook(body)
	if err != nil || wh.CheckBroadcaster("777") != nil {
		c.t.Errorf("sandbox sent an invalid webhook: %v: %s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.got = append(c.got, wh)
	c.mu.Unlock()
	ctx := r.Context()
	status := cleeng.StatusAuthorized
	switch wh.Flow() {
	case cleeng.FlowCapture:
		list, err := c.e.client.AuthorisedPayments(ctx, wh.Dunning.PaymentDetailsID)
		if err != nil {
			c.t.Errorf("authorised payments: %v", err)
		}
		if len(list) > 0 {
			req := cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured}
			if c.refuse {
				req = cleeng.UpdatePaymentRequest{Status: cleeng.StatusRejected, RejectedReason: "Refused"}
			}
			if _, err := c.e.client.UpdatePayment(ctx, list[0].ID, req); err != nil {
				c.t.Errorf("capture: %v", err)
			}
			break
		}
		status = cleeng.StatusCaptured
		fallthrough
	case cleeng.FlowAuthorise:
		d := wh.Dunning
		o, err := c.e.client.CreateOrder(ctx, cleeng.CreateOrderRequest{CustomerID: d.CustomerID, OfferID: d.OfferID, Currency: d.Currency,
			Country: d.PaymentCountry, PaymentMethodID: d.PaymentMethodID, PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: d.SubscriptionID})
		if err != nil {
			c.t.Errorf("order: %v", err)
			break
		}
		req := cleeng.CreatePaymentRequest{OrderID: o.ID, Status: status, PaymentOperation: cleeng.OperationRecurringPayment,
			ExternalPaymentID: "PSP-" + wh.DedupID()[:12]}
		if c.refuse {
			req.Status, req.ExternalPaymentID, req.RejectedReason = cleeng.StatusRejected, "", "Refused"
		}
		if _, err := c.e.client.CreatePayment(ctx, req); err != nil {
			c.t.Errorf("payment: %v", err)
		}
	case cleeng.FlowTerminate:
		if _, err := c.e.client.TerminateSubscription(ctx, wh.Termination.SubscriptionID); err != nil {
			c.t.Errorf("terminate: %v", err)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (c *connector) topics() []cleeng.Topic {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []cleeng.Topic
	for _, w := range c.got {
		out = append(out, w.Topic)
	}
	return out
}

func withConnector(t *testing.T, e *env, refuse bool) *connector {
	c := &connector{t: t, e: e, refuse: refuse}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	_, err := cleeng.Subscribe(bg(t), e.client, srv.URL+"/webhooks/cleeng", cleeng.RequiredTopics)
	must(t, err)
	return c
}

func TestSandbox_DunningAuthorisedFirstRenews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := withConnector(t, e, false)
	res, err := e.sb.RunDunning(bg(t), e.sub.SubscriptionID, sandbox.DunningOptions{AuthorizedFirst: true})
	must(t, err)
	if !res.Renewed || res.Terminated || len(res.Attempts) != 2 || res.Attempts[0].Status != cleeng.StatusAuthorized ||
		res.Attempts[1].Status != cleeng.StatusCaptured || res.Attempts[0].DunningAttemptDate != "2030-05-01T12:00:00Z" {
		t.Fatalf("result = %+v", res)
	}
	if res.Subscription.ExpiresAt != "2030-06-03T12:00:00Z" {
		t.Fatalf("renewal did not extend the subscription by 30 days: %s", res.Subscription.ExpiresAt)
	}
	if got := c.topics(); len(got) != 2 || got[0] != cleeng.TopicPaymentAuthorisation || got[1] != cleeng.TopicPaymentCapture {
		t.Fatalf("webhooks = %v", got)
	}
}

func TestSandbox_DunningCaptureOnlyRenews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := withConnector(t, e, false)
	res, err := e.sb.RunDunning(bg(t), e.sub.SubscriptionID, sandbox.DunningOptions{Attempts: 1})
	must(t, err)
	if !res.Renewed || len(res.Attempts) != 1 || res.Attempts[0].Topic != cleeng.TopicPaymentCapture ||
		res.Attempts[0].DunningAttemptDate != "2030-05-04T12:00:00Z" {
		t.Fatalf("result = %+v", res)
	}
	if got := c.topics(); len(got) != 1 {
		t.Fatalf("webhooks = %v", got)
	}
}

func TestSandbox_DunningAllAttemptsFailThenTermination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := withConnector(t, e, true)
	res, err := e.sb.RunDunning(bg(t), e.sub.SubscriptionID, sandbox.DunningOptions{AuthorizedFirst: true, Copies: 2})
	must(t, err)
	if res.Renewed || !res.Terminated || len(res.Attempts) != 4 || res.Subscription.Status != cleeng.SubscriptionTerminated {
		t.Fatalf("result = %+v", res)
	}
	got := c.topics()
	if len(got) != 10 || got[9] != cleeng.TopicTermination {
		t.Fatalf("webhooks (each sent twice) = %v", got)
	}
	if n := len(e.sb.State().WebhooksOf(cleeng.TopicPaymentAuthorisation)); n != 8 {
		t.Fatalf("%d authorisation deliveries recorded, want 8", n)
	}
}

func TestSandbox_NewPaymentDetailsDeactivateOldAndNotify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := withConnector(t, e, false)
	d, err := e.client.CreatePaymentDetails(bg(t), cleeng.CreatePaymentDetailsRequest{CustomerID: "1001", Token: "tok-new", PaymentMethodID: "56"})
	must(t, err)
	st := e.sb.State()
	if sub, _ := st.Subscription(e.sub.SubscriptionID); sub.PaymentDetailsID != d.ID {
		t.Fatalf("subscription still on %s", sub.PaymentDetailsID)
	}
	for _, pd := range st.PaymentDetails {
		if pd.Active != (pd.ID == d.ID) {
			t.Fatalf("details %s active=%v", pd.ID, pd.Active)
		}
	}
	testkit.Eventually(t, time.Minute, "the deactivation webhook sent in the background", func() bool { return len(c.topics()) > 0 })
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 1 || c.got[0].Deactivation == nil || c.got[0].Deactivation.PaymentDetailsID != e.sub.PaymentDetailsID ||
		string(c.got[0].Deactivation.Token) != "tok-old" {
		t.Fatalf("webhooks = %+v", c.got)
	}
}

func TestSandbox_ControlsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := withConnector(t, e, false)
	post := func(path, body string) (int, string) { return raw(t, http.MethodPost, e.srv.URL+path, "", body) }
	if s, b := post("/sandbox/customers", `{"id":"2002","email":"b@example.com","country":"US"}`); s != 200 {
		t.Fatalf("seed customer: %d %s", s, b)
	}
	s, b := post("/sandbox/subscriptions", `{"customerId":2002,"offerId":"S1_US","paymentDetails":{"paymentMethodId":55,"token":"t2"}}`)
	var sub sandbox.Subscription
	if s != 200 || json.Unmarshal([]byte(b), &sub) != nil || sub.Status != cleeng.SubscriptionActive {
		t.Fatalf("seed subscription: %d %s", s, b)
	}
	p := e.payment(t, cleeng.StatusCaptured, "PSP-R")
	for _, body := range []string{
		`{"topic":"refundPayment","paymentId":` + string(p.ID) + `,"reason":"asked"}`,
		`{"topic":"paymentDetailsDeactivated","paymentDetailsId":"` + string(sub.PaymentDetailsID) + `"}`,
		`{"topic":"subscriptionReadyForTermination","subscriptionId":"` + string(sub.SubscriptionID) + `"}`,
		`{"topic":"capturePayment","data":{"paymentId":1}}`,
	} {
		if s, b := post("/sandbox/webhooks", body); s != 200 || !strings.Contains(b, `"status":200`) {
			t.Fatalf("emit %s: %d %s", body, s, b)
		}
	}
	if s, b := post("/sandbox/webhooks", `{"topic":"refundPayment","paymentId":"1"}`); s != 404 {
		t.Fatalf("refund of an unknown payment: %d %s", s, b)
	}
	c.mu.Lock()
	if len(c.got) != 4 || c.got[0].Refund == nil || c.got[0].Refund.Amount.String() != "9.99" || c.got[0].Refund.Reason != "asked" {
		t.Fatalf("webhooks = %+v", c.got)
	}
	c.mu.Unlock()
	if s, b := post("/sandbox/faults", `{"method":"GET","pathPrefix":"/3.1/orders","errorRate":1,"errorStatus":500,"count":1}`); s != 200 {
		t.Fatalf("fault: %d %s", s, b)
	}
	_, err := e.client.GetOrder(bg(t), "1")
	refused(t, err, http.StatusInternalServerError, "")
	s, b = raw(t, http.MethodGet, e.srv.URL+"/sandbox/state", "", "")
	var st sandbox.State
	if s != 200 || json.Unmarshal([]byte(b), &st) != nil || len(st.Subscriptions) != 2 || len(st.Webhooks) != 4 {
		t.Fatalf("state: %d %.300s", s, b)
	}
	if !bytes.Contains([]byte(b), []byte(`"webhookSubscriptions"`)) {
		t.Fatal("state lacks webhook subscriptions")
	}
}
