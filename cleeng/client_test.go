package cleeng_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

const testToken = "tok-SECRET-hsEJu1srZcRzM6BGOCfEtvCZ"

// env is a sandbox over a real socket with one offer, one customer and a
// client pointed at it.
type env struct {
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	client *cleeng.Client
	logs   *bytes.Buffer
}

func newEnv(t *testing.T, tweak ...func(*cleeng.Config)) *env {
	t.Helper()
	sb := sandbox.New(sandbox.Options{PublisherToken: testToken, OutcomeTimeout: 5 * time.Second})
	mux := http.NewServeMux()
	mux.Handle("/cleeng/", http.StripPrefix("/cleeng", sb.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	if err := sb.SeedOffer(sandbox.Offer{ID: "S619117184_US", Prices: map[string]sandbox.Price{
		"US": {Amount: cleeng.MustDecimal("9.99"), Currency: "USD"},
		"DE": {Amount: cleeng.MustDecimal("11.90"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0.19")},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := sb.SeedCustomer(sandbox.Customer{ID: "927751142", Email: "matthew.brown@example.com", Country: "US"}); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cfg := cleeng.Config{
		BaseURL: srv.URL + "/cleeng/3.1", PublisherToken: testToken, Timeout: 2 * time.Second,
		RetryInitialInterval: 5 * time.Millisecond, RetryMaxInterval: 20 * time.Millisecond,
		Logger: zerolog.New(logs).Level(zerolog.DebugLevel),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	client, err := cleeng.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, client: client, logs: logs}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func (e *env) order(t *testing.T, country, currency string) cleeng.Order {
	t.Helper()
	o, err := e.client.CreateOrder(ctx(t), cleeng.CreateOrderRequest{
		CustomerID: "927751142", OfferID: "S619117184_US", Currency: currency, Country: country, PaymentMethodID: "123876432",
	})
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	return o
}

func (e *env) subscription(t *testing.T) sandbox.Subscription {
	t.Helper()
	sub, err := e.sb.SeedSubscription(sandbox.SubscriptionSeed{CustomerID: "927751142", OfferID: "S619117184_US",
		PaymentDetails: &sandbox.PaymentDetailsSeed{PaymentMethodID: "123876432", Token: "tok-recurring-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func (e *env) authorisedRenewal(t *testing.T, sub sandbox.Subscription, ext string) cleeng.Payment {
	t.Helper()
	o, err := e.client.CreateOrder(ctx(t), cleeng.CreateOrderRequest{
		CustomerID: sub.CustomerID, OfferID: sub.OfferID, Currency: "USD", Country: "US", PaymentMethodID: "123876432",
		PaymentOperation: cleeng.OperationRecurringPayment, SubscriptionID: sub.SubscriptionID,
	})
	if err != nil {
		t.Fatalf("renewal order: %v", err)
	}
	p, err := e.client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusAuthorized,
		PaymentOperation: cleeng.OperationRecurringPayment, ExternalPaymentID: ext})
	if err != nil {
		t.Fatalf("authorised payment: %v", err)
	}
	return p
}

func wantClass(t *testing.T, err error, class failure.Class) {
	t.Helper()
	if err == nil || failure.ClassOf(err) != class {
		t.Fatalf("err = %v (class %v), want class %v", err, failure.ClassOf(err), class)
	}
}

func TestClient_InitialPurchaseCreatesPaymentAndSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.order(t, "DE", "EUR")
	if o.TotalPrice.String() != "11.9" || o.Currency != "EUR" || o.PriceBreakdown.TaxValue.String() != "1.9" || !o.RequiredPaymentDetails {
		t.Fatalf("order = %+v", o)
	}
	got, err := e.client.GetOrder(ctx(t), o.ID)
	if err != nil || got.ID != o.ID || !got.TotalPrice.Equal(o.TotalPrice.Decimal) {
		t.Fatalf("get order = %+v, %v", got, err)
	}
	p, err := e.client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{
		OrderID: o.ID, Status: cleeng.StatusCaptured, PaymentOperation: cleeng.OperationInitialPayment,
		ExternalPaymentID: "PSP-1", PaymentDetails: &cleeng.NewPaymentDetails{Token: "tok-1",
			PaymentMethodSpecificParams: json.RawMessage(`{"holderName":"Matthew Brown","lastCardFourDigits":"1111","variant":"visa","cardExpirationDate":"10/2030"}`)},
	})
	if err != nil {
		t.Fatalf("create payment: %v", err)
	}
	if p.Status != cleeng.StatusCaptured || p.Amount.String() != "11.9" || p.Currency != "EUR" || p.PaymentDetailsID == "" || p.SubscriptionID == "" {
		t.Fatalf("payment = %+v", p)
	}
	st := e.sb.State()
	sub, ok := st.Subscription(p.SubscriptionID)
	if !ok || sub.Status != cleeng.SubscriptionActive || sub.PaymentDetailsID != p.PaymentDetailsID {
		t.Fatalf("subscription = %+v", sub)
	}
}

func TestClient_RenewalAuthoriseCaptureRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.subscription(t)
	p := e.authorisedRenewal(t, sub, "AUTH-1")
	list, err := e.client.AuthorisedPayments(ctx(t), sub.PaymentDetailsID)
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("authorised payments = %+v, %v", list, err)
	}
	captured, err := e.client.UpdatePayment(ctx(t), p.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured, ExternalPaymentID: "CAPTURE-1"})
	if err != nil || captured.Status != cleeng.StatusCaptured || captured.ExternalPaymentID != "CAPTURE-1" {
		t.Fatalf("capture = %+v, %v", captured, err)
	}
	if list, _ := e.client.AuthorisedPayments(ctx(t), sub.PaymentDetailsID); len(list) != 0 {
		t.Fatalf("captured payment still listed as authorised: %+v", list)
	}
	amount := cleeng.MustDecimal("9.99")
	refunded, err := e.client.UpdatePayment(ctx(t), p.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusRefunded,
		OrderID: p.OrderID, PaymentOperation: cleeng.OperationRecurringPayment, RefundedReason: "customer request",
		RefundedAmount: &amount, RefundType: cleeng.RefundTypeRefund})
	if err != nil || refunded.Status != cleeng.StatusRefunded || refunded.RefundedAmount == nil || !refunded.RefundedAmount.Equal(amount.Decimal) {
		t.Fatalf("refund = %+v, %v", refunded, err)
	}
}

func TestClient_CancelNewDetailsDeleteTerminate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.subscription(t)
	p := e.authorisedRenewal(t, sub, "AUTH-2")
	cancelled, err := e.client.CancelPayment(ctx(t), p.ID)
	if err != nil || cancelled.Status != cleeng.StatusCancelled {
		t.Fatalf("cancel = %+v, %v", cancelled, err)
	}
	details, err := e.client.CreatePaymentDetails(ctx(t), cleeng.CreatePaymentDetailsRequest{CustomerID: sub.CustomerID,
		Token: "tok-new", PaymentMethodID: "123876432", PaymentMethodSpecificParams: json.RawMessage(`{"variant":"mc"}`)})
	if err != nil || !details.Active || details.ID == "" {
		t.Fatalf("create details = %+v, %v", details, err)
	}
	if err := e.client.DeletePaymentDetails(ctx(t), sub.PaymentDetailsID); err != nil {
		t.Fatalf("delete details: %v", err)
	}
	switched, err := e.client.UpdateSubscription(ctx(t), sub.SubscriptionID, cleeng.UpdateSubscriptionRequest{PaymentDetailsID: details.ID})
	if err != nil || switched.PaymentDetailsID != details.ID {
		t.Fatalf("switch details = %+v, %v", switched, err)
	}
	terminated, err := e.client.TerminateSubscription(ctx(t), sub.SubscriptionID)
	if err != nil || terminated.Status != cleeng.SubscriptionTerminated {
		t.Fatalf("terminate = %+v, %v", terminated, err)
	}
	_, err = e.client.UpdateSubscription(ctx(t), sub.SubscriptionID, cleeng.UpdateSubscriptionRequest{Status: cleeng.SubscriptionTerminated, ExpiresAt: "2030-01-01T00:00:00Z"})
	wantClass(t, err, failure.ClassPermanent)
}

func TestClient_WebhookSubscriptionsGetAndPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	put, err := e.client.PutWebhookSubscription(ctx(t), "refundPayment", []cleeng.WebhookEndpoint{{URL: "https://a.example/hook",
		Verification: json.RawMessage(`{"type":"hmac"}`)}})
	if err != nil || len(put) != 1 {
		t.Fatalf("put = %+v, %v", put, err)
	}
	all, err := e.client.WebhookSubscriptions(ctx(t))
	if err != nil || len(all["refundPayment"]) != 1 || string(all["refundPayment"][0].Verification) != `{"type":"hmac"}` {
		t.Fatalf("get = %+v, %v", all, err)
	}
}

func TestClient_ConflictReturnsExistingPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.subscription(t)
	first := e.authorisedRenewal(t, sub, "PSP-DUP")
	o := e.order(t, "US", "USD")
	_, err := e.client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationInitialPayment, ExternalPaymentID: "PSP-DUP"})
	var conflict *cleeng.ConflictError
	if !errors.As(err, &conflict) || conflict.Existing.ID != first.ID || conflict.Existing.Status != cleeng.StatusAuthorized {
		t.Fatalf("err = %v, want a ConflictError with payment %s", err, first.ID)
	}
	wantClass(t, err, failure.ClassPermanent)
}

func TestClient_4xxIsPermanentWithCleengMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.client.CreateOrder(ctx(t), cleeng.CreateOrderRequest{CustomerID: "927751142", OfferID: "S619117184_US",
		Currency: "USD", Country: "FR", PaymentMethodID: "1"})
	wantClass(t, err, failure.ClassPermanent)
	var apiErr *cleeng.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Code != "offer_not_available" || !strings.Contains(apiErr.Message, "not sold in country FR") {
		t.Fatalf("err = %#v", err)
	}
	_, err = e.client.GetOrder(ctx(t), "404404")
	if !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Fatalf("missing order: %v", err)
	}
}

func TestClient_BadTokenIsPermanent401(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *cleeng.Config) { c.PublisherToken = "wrong-token" })
	_, err := e.client.GetOrder(ctx(t), "1")
	wantClass(t, err, failure.ClassPermanent)
	var apiErr *cleeng.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_RateLimitedThenSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.order(t, "US", "USD")
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodGet, PathPrefix: "/3.1/orders", ErrorRate: 1, ErrorStatus: 429, Count: 2})
	got, err := e.client.GetOrder(ctx(t), o.ID)
	if err != nil || got.ID != o.ID {
		t.Fatalf("after two 429s: %+v, %v", got, err)
	}
	if n := strings.Count(e.logs.String(), "retrying"); n != 2 {
		t.Fatalf("%d retries logged, want 2", n)
	}
	// A POST refused with 429 was not applied: transient, and not repeated here.
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/orders", ErrorRate: 1, ErrorStatus: 429, Count: 1})
	_, err = e.client.CreateOrder(ctx(t), cleeng.CreateOrderRequest{CustomerID: "927751142", OfferID: "S619117184_US", Currency: "USD", Country: "US", PaymentMethodID: "1"})
	wantClass(t, err, failure.ClassTransient)
	if n := len(e.sb.State().Orders); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
}

func TestClient_ServerErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodGet, ErrorRate: 1, ErrorStatus: 502})
	_, err := e.client.GetOrder(ctx(t), "1")
	wantClass(t, err, failure.ClassTransient)
	if n := strings.Count(e.logs.String(), "retrying"); n != 3 {
		t.Fatalf("%d retries, want MaxRetries=3", n)
	}
	e.sb.Faults().Reset()
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments", ErrorRate: 1, ErrorStatus: 500})
	_, err = e.client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: "1", Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationInitialPayment, ExternalPaymentID: "X"})
	wantClass(t, err, failure.ClassUnknownOutcome)
	e.sb.Faults().Reset()
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments", ErrorRate: 1, ErrorStatus: 503})
	_, err = e.client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: "1", Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationInitialPayment, ExternalPaymentID: "X"})
	wantClass(t, err, failure.ClassTransient)
}

func TestClient_DroppedResponse_CreatePaymentIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.order(t, "US", "USD")
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments", DropResponse: true, Count: 1})
	req := cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusCaptured, PaymentOperation: cleeng.OperationInitialPayment,
		ExternalPaymentID: "PSP-LOST", PaymentDetails: &cleeng.NewPaymentDetails{Token: "tok"}}
	_, err := e.client.CreatePayment(ctx(t), req)
	wantClass(t, err, failure.ClassUnknownOutcome)
	if n := len(e.sb.State().PaymentsByExternalID("PSP-LOST")); n != 1 {
		t.Fatalf("%d payments for PSP-LOST after one POST, want exactly 1 (applied, not repeated)", n)
	}
	// The flow checks before writing again: the sandbox answers with what it holds.
	_, err = e.client.CreatePayment(ctx(t), req)
	var conflict *cleeng.ConflictError
	if !errors.As(err, &conflict) || conflict.Existing.ExternalPaymentID != "PSP-LOST" {
		t.Fatalf("second POST: %v", err)
	}
}

func TestClient_DroppedResponse_PatchIsRetriedSafely(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.subscription(t)
	p := e.authorisedRenewal(t, sub, "AUTH-DROP")
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPatch, PathPrefix: "/3.1/payments", DropResponse: true, Count: 1})
	got, err := e.client.UpdatePayment(ctx(t), p.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured})
	if err != nil || got.Status != cleeng.StatusCaptured {
		t.Fatalf("capture after a dropped answer: %+v, %v", got, err)
	}
	st := e.sb.State()
	if paid, _ := st.Payment(p.ID); paid.Status != cleeng.StatusCaptured || len(st.Payments) != 1 {
		t.Fatalf("state: %+v", st.Payments)
	}
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Fatal("the dropped PATCH was not retried")
	}
}

func TestClient_TimeoutIsUnknownOutcomeForPostTransientForGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *cleeng.Config) { c.Timeout = 100 * time.Millisecond; c.MaxRetries = -1 })
	e.sb.Faults().Add(faultinject.Fault{Latency: faultinject.Duration(time.Second)})
	_, err := e.client.CreateOrder(ctx(t), cleeng.CreateOrderRequest{CustomerID: "927751142", OfferID: "S619117184_US", Currency: "USD", Country: "US", PaymentMethodID: "1"})
	wantClass(t, err, failure.ClassUnknownOutcome)
	_, err = e.client.GetOrder(ctx(t), "1")
	wantClass(t, err, failure.ClassTransient)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout not wrapped: %v", err)
	}
}

func TestClient_ConnectionRefusedIsTransientEvenForPost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: url + "/3.1", PublisherToken: testToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: "1"})
	wantClass(t, err, failure.ClassTransient)
}

// TestClient_TokenNeverInErrorsOrLogs runs every error class against a
// server that echoes the token back, and checks no error or log line has it.
func TestClient_TokenNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get(cleeng.HeaderPublisherToken)
		switch r.URL.Path {
		case "/3.1/orders/json":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"code":"` + tok + `","message":"bad token ` + tok + `"}]}`))
		case "/3.1/orders/raw":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(strings.Repeat("x", 250) + tok))
		default:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"message":"upstream said ` + tok + `"}`))
		}
	}))
	defer echo.Close()
	var logs bytes.Buffer
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: echo.URL + "/3.1", PublisherToken: testToken,
		RetryInitialInterval: time.Millisecond, Logger: zerolog.New(&logs).Level(zerolog.TraceLevel)})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, id := range []cleeng.ID{"json", "raw", "5xx"} {
		_, err := client.GetOrder(ctx(t), id)
		errs = append(errs, err)
	}
	_, err = client.CreatePayment(ctx(t), cleeng.CreatePaymentRequest{OrderID: "1"})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error from a failing server")
		}
		if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testToken[:12]) {
			t.Fatalf("error contains the token: %v", err)
		}
	}
	if !strings.Contains(errs[0].Error(), "bad token [redacted]") {
		t.Fatalf("decoded message lost: %v", errs[0])
	}
	if logs.Len() == 0 || strings.Contains(logs.String(), testToken[:12]) {
		t.Fatalf("logs (%d bytes) contain the token or are empty", logs.Len())
	}
}

func TestClient_AuthorisedPaymentsAcceptsBareArray(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"id": 7, "orderId": "8", "status": "authorised", "amount": "1.50"}]`))
	}))
	defer srv.Close()
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: srv.URL, PublisherToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.AuthorisedPayments(ctx(t), "9")
	if err != nil || len(list) != 1 || list[0].ID != "7" || list[0].Status.Normalize() != cleeng.StatusAuthorized || list[0].Amount.String() != "1.5" {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func TestNewClient_ValidatesConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []cleeng.Config{
		{BaseURL: "https://api.cleeng.com/3.1"},
		{BaseURL: "api.cleeng.com", PublisherToken: testToken},
	} {
		if _, err := cleeng.NewClient(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg.BaseURL)
		} else if strings.Contains(err.Error(), testToken) {
			t.Errorf("error names the token")
		}
	}
}

// TestClient_CallsInFlightAreBoundedByMaxConnections: twenty calls at once
// reach Cleeng over at most MaxConnections connections, and all succeed:
// while the first ones are held, the others wait for a connection instead
// of opening their own.
func TestClient_CallsInFlightAreBoundedByMaxConnections(t *testing.T) {
	t.Parallel()
	const bound, calls = 3, 20
	var held, conns atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held.Add(1)
		<-release
		_, _ = w.Write([]byte(`{}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: srv.URL + "/3.1", PublisherToken: testToken, MaxConnections: bound})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := client.WebhookSubscriptions(ctx(t))
			errs <- err
		}()
	}
	testkit.Eventually(t, 10*time.Second, "the first calls held at Cleeng", func() bool { return held.Load() >= bound })
	close(release)
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n > bound {
		t.Fatalf("%d connections to Cleeng, want at most %d (MaxConnections)", n, bound)
	}
}
