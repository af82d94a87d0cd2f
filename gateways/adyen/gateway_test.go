package adyen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func amount(t *testing.T, value, currency string) money.Amount {
	t.Helper()
	a, err := money.New(value, currency)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func firstPayment(t *testing.T, ref string, a money.Amount, method json.RawMessage) gateways.PayRequest {
	return gateways.PayRequest{
		IdempotencyKey: "initial." + ref, Reference: ref, Amount: a, ShopperReference: shopper,
		PaymentMethod: method, StoreToken: true,
	}
}

func pay(t *testing.T, g gateways.Gateway, req gateways.PayRequest) gateways.Result {
	t.Helper()
	res, err := g.Pay(context.Background(), req)
	if err != nil {
		t.Fatalf("pay %s: %v", req.Reference, err)
	}
	return res
}

func TestPay_LostResponseRetriedWithSameKeyChargesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments", DropResponse: true, Count: 1})
	res := pay(t, e.gw, firstPayment(t, "order-lost", amount(t, "9.99", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	if res.Outcome != gateways.Captured {
		t.Fatalf("outcome = %s", res.Outcome)
	}
	if len(e.sb.Faults().List()) != 0 {
		t.Fatal("the drop-response fault was not used: nothing was lost")
	}
	if got := e.sb.PaymentsFor("order-lost"); len(got) != 1 || got[0].PSPReference != res.PaymentReference {
		t.Fatalf("sandbox holds %+v, want exactly the one payment %s", got, res.PaymentReference)
	}
}

func TestPay_ZeroAmountTrialAuthorisesAndStoresToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := pay(t, e.gw, firstPayment(t, "order-trial", amount(t, "0", "EUR"), sandbox.EncryptedCardMethod(sandbox.CardMastercard, "Jane Smith")))
	if res.Outcome != gateways.Authorised || res.Token == "" {
		t.Fatalf("trial = %+v, want authorised with a token", res)
	}
	want := gateways.Card{HolderName: "Jane Smith", LastCardFourDigits: "1111", Variant: "mc", CardExpirationDate: "03/2030"}
	if res.Card == nil || *res.Card != want {
		t.Fatalf("card = %+v, want %+v", res.Card, want)
	}
	p, _ := e.sb.Payment(res.PaymentReference)
	if p.Amount != 0 || p.Captured != 0 || p.Status != sandbox.StatusAuthorised {
		t.Fatalf("sandbox payment = %+v, want a zero authorisation", p)
	}
	renewal := pay(t, e.gw, gateways.PayRequest{
		IdempotencyKey: "auth.sub-1.2026-01-01", Reference: "order-renewal", Amount: amount(t, "12.50", "EUR"),
		ShopperReference: shopper, Token: res.Token,
	})
	if renewal.Outcome != gateways.Captured {
		t.Fatalf("renewal = %+v", renewal)
	}
	p, _ = e.sb.Payment(renewal.PaymentReference)
	if !p.Recurring || p.Captured != 1250 {
		t.Fatalf("renewal in sandbox = %+v, want a recurring payment of 1250", p)
	}
}

func TestPay_ThreeDSChallengeCompletedThroughDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name          string
		authenticated bool
		want          gateways.Outcome
		reason        string
	}{
		{"authenticated", true, gateways.Captured, ""},
		{"not authenticated", false, gateways.Refused, "3D Not Authenticated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := "order-3ds-" + map[bool]string{true: "y", false: "n"}[c.authenticated]
			res := pay(t, e.gw, firstPayment(t, ref, amount(t, "20.00", "EUR"), sandbox.EncryptedCardMethod(sandbox.CardVisa3DS, "Jane Smith")))
			if res.Outcome != gateways.ActionRequired || len(res.Action) == 0 {
				t.Fatalf("first answer = %+v, want action_required", res)
			}
			var action struct{ Type, Subtype string }
			if err := json.Unmarshal(res.Action, &action); err != nil || action.Type != "threeDS2" || action.Subtype != "challenge" {
				t.Fatalf("action = %s", res.Action)
			}
			details, err := sandbox.ThreeDSResult(res.Action, c.authenticated)
			if err != nil {
				t.Fatal(err)
			}
			done, err := e.gw.CompleteAction(context.Background(), gateways.ActionRequest{IdempotencyKey: "details." + ref, Details: details})
			if err != nil {
				t.Fatal(err)
			}
			if done.Outcome != c.want || done.RefusalReason != c.reason || done.PaymentReference != res.PaymentReference {
				t.Fatalf("after details = %+v, want %s %q", done, c.want, c.reason)
			}
			if c.authenticated && done.Token == "" {
				t.Fatal("no token after an authenticated first payment")
			}
		})
	}
}

func TestPay_RenewalWithChallengeCardIsNotChallenged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := pay(t, e.gw, firstPayment(t, "order-3ds-first", amount(t, "0", "EUR"), sandbox.CardMethod(sandbox.CardMC3DS, "Jane Smith")))
	details, err := sandbox.ThreeDSResult(first.Action, true)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := e.gw.CompleteAction(context.Background(), gateways.ActionRequest{IdempotencyKey: "details.order-3ds-first", Details: details})
	if err != nil || auth.Outcome != gateways.Authorised || auth.Token == "" {
		t.Fatalf("zero-amount 3DS authorisation = %+v, %v", auth, err)
	}
	renewal := pay(t, e.gw, gateways.PayRequest{IdempotencyKey: "auth.sub-3ds.1", Reference: "order-3ds-renewal",
		Amount: amount(t, "5.00", "EUR"), ShopperReference: shopper, Token: auth.Token})
	if renewal.Outcome != gateways.Captured {
		t.Fatalf("merchant-initiated renewal = %+v, want captured without a challenge", renewal)
	}
}

func TestPay_RefusalReasonsAreAdyens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	past, _ := json.Marshal(map[string]string{"type": "scheme", "number": sandbox.CardVisa, "expiryMonth": "03", "expiryYear": "2020", "cvc": "737", "holderName": "Jane Smith"})
	wrongCVC, _ := json.Marshal(map[string]string{"type": "scheme", "number": sandbox.CardVisa, "expiryMonth": "03", "expiryYear": "2030", "cvc": "123", "holderName": "Jane Smith"})
	cases := []struct {
		name   string
		method json.RawMessage
		reason string
	}{
		{"declined", sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderDeclined), "Refused"},
		{"insufficient funds", sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderNotEnoughBalance), "Not enough balance"},
		{"expired card by trigger", sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderCardExpired), "Expired Card"},
		{"expired card by date", past, "Expired Card"},
		{"cvc declined by trigger", sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderCVCDeclined), "CVC Declined"},
		{"cvc declined by wrong cvc", wrongCVC, "CVC Declined"},
		{"acquirer error", sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderError), "Acquirer Error"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := "order-refused-" + string(rune('a'+i))
			res := pay(t, e.gw, firstPayment(t, ref, amount(t, "10.00", "EUR"), c.method))
			if res.Outcome != gateways.Refused || res.RefusalReason != c.reason || res.Token != "" {
				t.Fatalf("got %+v, want refused %q", res, c.reason)
			}
			ev := e.events.Wait(t, 10*time.Second, "AUTHORISATION", func(ev gateways.Event) bool {
				return ev.Kind == gateways.EventAuthorisation && ev.PaymentReference == res.PaymentReference
			})
			if ev.Success || ev.Reason != c.reason {
				t.Fatalf("AUTHORISATION event = %+v", ev)
			}
		})
	}
}

func TestPay_RefusedRenewalOfTokenCarriesReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := pay(t, e.gw, firstPayment(t, "order-first", amount(t, "10.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	if !e.sb.RefuseToken(first.Token, sandbox.HolderNotEnoughBalance) {
		t.Fatal("token unknown to the sandbox")
	}
	res := pay(t, e.gw, gateways.PayRequest{IdempotencyKey: "auth.sub-2.1", Reference: "order-renew-refused",
		Amount: amount(t, "10.00", "EUR"), ShopperReference: shopper, Token: first.Token})
	if res.Outcome != gateways.Refused || res.RefusalReason != "Not enough balance" {
		t.Fatalf("renewal = %+v", res)
	}
}

func TestCapture_ConfirmedByNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := firstPayment(t, "order-cap", amount(t, "30.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
	req.AuthoriseOnly = true
	auth := pay(t, e.gw, req)
	if auth.Outcome != gateways.Authorised {
		t.Fatalf("outcome = %s", auth.Outcome)
	}
	res, err := e.gw.Capture(context.Background(), gateways.ModifyRequest{IdempotencyKey: "capture.order-cap",
		PaymentReference: auth.PaymentReference, Reference: "order-cap", Amount: amount(t, "30.00", "EUR")})
	if err != nil || res.Outcome != gateways.Received || res.PaymentReference == "" || res.PaymentReference == auth.PaymentReference {
		t.Fatalf("capture = %+v, %v; want received with the capture's own reference", res, err)
	}
	ev := e.events.Wait(t, 10*time.Second, "CAPTURE", func(ev gateways.Event) bool {
		return ev.Kind == gateways.EventCapture && ev.OriginalReference == auth.PaymentReference
	})
	if !ev.Success || ev.PaymentReference != res.PaymentReference || ev.Amount.String() != "30.00 EUR" || ev.MerchantReference != "order-cap" {
		t.Fatalf("CAPTURE event = %+v", ev)
	}
	if p, _ := e.sb.Payment(auth.PaymentReference); p.Status != sandbox.StatusCaptured || p.Captured != 3000 {
		t.Fatalf("sandbox payment = %+v", p)
	}
}

func TestCapture_FailureReportedByNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := firstPayment(t, "order-capfail", amount(t, "30.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderCaptureFailed))
	req.AuthoriseOnly = true
	auth := pay(t, e.gw, req)
	res, err := e.gw.Capture(context.Background(), gateways.ModifyRequest{IdempotencyKey: "capture.order-capfail",
		PaymentReference: auth.PaymentReference, Amount: amount(t, "30.00", "EUR")})
	if err != nil || res.Outcome != gateways.Received {
		t.Fatalf("capture = %+v, %v", res, err)
	}
	ev := e.events.Wait(t, 10*time.Second, "CAPTURE_FAILED", func(ev gateways.Event) bool {
		return ev.Kind == gateways.EventCaptureFailed && ev.OriginalReference == auth.PaymentReference
	})
	if ev.PaymentReference != res.PaymentReference || ev.Reason == "" {
		t.Fatalf("CAPTURE_FAILED event = %+v", ev)
	}
}

func TestModifications_StateRulesFailByNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	eur := func(v string) money.Amount { return amount(t, v, "EUR") }
	authReq := firstPayment(t, "order-rules", eur("10.00"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
	authReq.AuthoriseOnly = true
	auth := pay(t, e.gw, authReq)
	paid := pay(t, e.gw, firstPayment(t, "order-rules-paid", eur("10.00"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	refundFails := pay(t, e.gw, firstPayment(t, "order-rules-rf", eur("10.00"), sandbox.CardMethod(sandbox.CardVisa, sandbox.HolderRefundFailed)))

	cases := []struct {
		name    string
		call    func() (gateways.Result, error)
		kind    gateways.EventKind
		payment string
		success bool
	}{
		{"capture more than authorised", func() (gateways.Result, error) {
			return e.gw.Capture(ctx, gateways.ModifyRequest{IdempotencyKey: "cap-over", PaymentReference: auth.PaymentReference, Amount: eur("10.01")})
		}, gateways.EventCapture, auth.PaymentReference, false},
		{"refund more than captured", func() (gateways.Result, error) {
			return e.gw.Refund(ctx, gateways.ModifyRequest{IdempotencyKey: "ref-over", PaymentReference: paid.PaymentReference, Amount: eur("10.01")})
		}, gateways.EventRefund, paid.PaymentReference, false},
		{"refund an uncaptured authorisation", func() (gateways.Result, error) {
			return e.gw.Refund(ctx, gateways.ModifyRequest{IdempotencyKey: "ref-uncaptured", PaymentReference: auth.PaymentReference, Amount: eur("1.00")})
		}, gateways.EventRefund, auth.PaymentReference, false},
		{"cancel a captured payment", func() (gateways.Result, error) {
			return e.gw.Cancel(ctx, gateways.ModifyRequest{IdempotencyKey: "cancel-captured", PaymentReference: paid.PaymentReference})
		}, gateways.EventCancellation, paid.PaymentReference, false},
		{"refund failed by the acquirer", func() (gateways.Result, error) {
			return e.gw.Refund(ctx, gateways.ModifyRequest{IdempotencyKey: "ref-failed", PaymentReference: refundFails.PaymentReference, Amount: eur("10.00")})
		}, gateways.EventRefundFailed, refundFails.PaymentReference, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.call()
			if err != nil || res.Outcome != gateways.Received {
				t.Fatalf("answer = %+v, %v; want received", res, err)
			}
			ev := e.events.Wait(t, 10*time.Second, string(c.kind), func(ev gateways.Event) bool {
				return ev.Kind == c.kind && ev.PaymentReference == res.PaymentReference
			})
			if ev.Success != c.success || ev.OriginalReference != c.payment || ev.Reason == "" {
				t.Fatalf("event = %+v", ev)
			}
		})
	}
	if p, _ := e.sb.Payment(paid.PaymentReference); p.Refunded != 0 || p.Status != sandbox.StatusCaptured {
		t.Fatalf("refused modifications changed the payment: %+v", p)
	}
}

// TestPay_ConcurrentDuplicateKeyChargesOnce: a second call with a key
// whose first call is still in flight is answered 704; the gateway retries
// it with the same key and gets the first call's payment.
func TestPay_ConcurrentDuplicateKeyChargesOnce(t *testing.T) {
	t.Parallel()
	inFlight, retry := faultinject.NewGate(), faultinject.NewGate()
	e := newEnv(t, func(o *sandbox.Options, _ *adyen.Config) { o.Hold = inFlight })
	t.Cleanup(retry.Open)
	t.Cleanup(inFlight.Open)
	// The first two POST /payments pass; the third, the second call's
	// retry, waits until the first call has finished.
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments", Count: 2})
	e.sb.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments", Hold: retry, Count: 1})
	req := firstPayment(t, "order-dup", amount(t, "10.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
	type outcome struct {
		res gateways.Result
		err error
	}
	first, second := make(chan outcome, 1), make(chan outcome, 1)
	go func() { res, err := e.gw.Pay(context.Background(), req); first <- outcome{res, err} }()
	testkit.Eventually(t, time.Minute, "the first call in flight", func() bool { return inFlight.Arrived() == 1 })
	go func() { res, err := e.gw.Pay(context.Background(), req); second <- outcome{res, err} }()
	testkit.Eventually(t, time.Minute, "the second call answered 704 and retrying", func() bool { return retry.Arrived() == 1 })
	inFlight.Open()
	a := <-first
	retry.Open()
	b := <-second
	if a.err != nil || b.err != nil {
		t.Fatalf("first %v, second %v", a.err, b.err)
	}
	if a.res.PaymentReference == "" || a.res.PaymentReference != b.res.PaymentReference {
		t.Fatalf("references %q and %q, want the first call's for both", a.res.PaymentReference, b.res.PaymentReference)
	}
	calls := e.calls.to("/payments")
	statuses := map[int]int{}
	for _, c := range calls {
		statuses[c.status]++
		if c.idempotencyKey == "" || c.idempotencyKey != calls[0].idempotencyKey {
			t.Errorf("calls %+v, want one Idempotency-Key on all", calls)
		}
	}
	if statuses[http.StatusOK] != 2 || statuses[http.StatusUnprocessableEntity] != 1 || len(calls) != 3 {
		t.Errorf("calls %+v, want the first answered 200, the second 704, its retry 200", calls)
	}
	if n := len(e.sb.PaymentsFor("order-dup")); n != 1 {
		t.Fatalf("sandbox holds %d payments, want 1", n)
	}
}

func TestSandbox_InFlightKeyAnswers704Transient(t *testing.T) {
	t.Parallel()
	inFlight := faultinject.NewGate()
	e := newEnv(t, func(o *sandbox.Options, _ *adyen.Config) { o.Hold = inFlight })
	t.Cleanup(inFlight.Open)
	body, _ := json.Marshal(map[string]any{
		"amount": map[string]any{"currency": "EUR", "value": 100}, "merchantAccount": e.sb.MerchantAccount(),
		"reference": "order-raw", "returnUrl": "https://shop.example/return",
		"paymentMethod": json.RawMessage(sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")),
	})
	type answer struct {
		status       int
		transient    string
		code         string
		pspReference string
	}
	send := func() answer {
		r, _ := http.NewRequest(http.MethodPost, e.url+"/payments", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-API-Key", e.sb.APIKey())
		r.Header.Set("Idempotency-Key", "raw-key")
		resp, b := testkit.Do(t, r)
		var decoded struct{ ErrorCode, PspReference string }
		_ = json.Unmarshal(b, &decoded)
		return answer{resp.StatusCode, resp.Header.Get("Transient-Error"), decoded.ErrorCode, decoded.PspReference}
	}
	first := make(chan answer, 1)
	go func() { first <- send() }()
	testkit.Eventually(t, time.Minute, "the first call in flight", func() bool { return inFlight.Arrived() == 1 })
	if a := send(); a.status != http.StatusUnprocessableEntity || a.code != "704" || a.transient != "true" {
		t.Fatalf("call while the key is in flight: %+v, want 422 errorCode 704 with Transient-Error", a)
	}
	inFlight.Open()
	a := <-first
	if a.status != http.StatusOK || a.pspReference == "" {
		t.Fatalf("first call: %+v, want 200 with a pspReference", a)
	}
	if replay := send(); replay.status != http.StatusOK || replay.pspReference != a.pspReference {
		t.Fatalf("call after the first finished: %+v, want its answer again (%s)", replay, a.pspReference)
	}
}

func TestGateway_FailuresAreClassified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	payReq := func(ref string) gateways.PayRequest {
		return firstPayment(t, ref, amount(t, "10.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
	}
	t.Run("wrong API key is permanent", func(t *testing.T) {
		e := newEnv(t)
		cfg := e.cfg
		cfg.APIKey = "wrong"
		g, _ := adyen.New(cfg)
		_, err := g.Pay(ctx, payReq("order-401"))
		if !failure.Is(err, failure.ClassPermanent) {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
	t.Run("5xx is retried, then transient", func(t *testing.T) {
		e := newEnv(t)
		e.sb.Faults().Add(faultinject.Fault{PathPrefix: "/v71/payments", ErrorRate: 1, ErrorStatus: 503, Count: 4})
		_, err := e.gw.Pay(ctx, payReq("order-503"))
		if !failure.Is(err, failure.ClassTransient) {
			t.Fatalf("err = %v, want transient", err)
		}
		if left := e.sb.Faults().List(); len(left) != 0 {
			t.Fatalf("gateway gave up before its 4 attempts: %+v left", left)
		}
	})
	t.Run("one 5xx is retried to success", func(t *testing.T) {
		e := newEnv(t)
		e.sb.Faults().Add(faultinject.Fault{PathPrefix: "/v71/payments", ErrorRate: 1, ErrorStatus: 500, Count: 1})
		if res, err := e.gw.Pay(ctx, payReq("order-500")); err != nil || res.Outcome != gateways.Captured {
			t.Fatalf("pay = %+v, %v", res, err)
		}
	})
	t.Run("timeout is unknown outcome", func(t *testing.T) {
		e := newEnv(t, func(_ *sandbox.Options, c *adyen.Config) { c.Timeout = 100 * time.Millisecond; c.MaxAttempts = 2 })
		e.sb.Faults().Add(faultinject.Fault{PathPrefix: "/v71/payments", Latency: faultinject.Duration(time.Second), Count: 2})
		_, err := e.gw.Pay(ctx, payReq("order-timeout"))
		if !failure.Is(err, failure.ClassUnknownOutcome) {
			t.Fatalf("err = %v, want unknown outcome", err)
		}
	})
	t.Run("connection refused is transient", func(t *testing.T) {
		g, err := adyen.New(adyen.Config{APIKey: "k", MerchantAccount: "M", ReturnURL: "https://x", CheckoutURL: "http://127.0.0.1:1/v71", RetryBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Pay(ctx, payReq("order-refused-conn"))
		if !failure.Is(err, failure.ClassTransient) {
			t.Fatalf("err = %v, want transient", err)
		}
	})
	t.Run("unknown token is permanent", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.gw.Pay(ctx, gateways.PayRequest{IdempotencyKey: "auth.x", Reference: "order-x", Amount: amount(t, "1.00", "EUR"), ShopperReference: shopper, Token: "NOPE"})
		if !failure.Is(err, failure.ClassPermanent) {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
	t.Run("missing idempotency key is permanent", func(t *testing.T) {
		e := newEnv(t)
		req := payReq("order-nokey")
		req.IdempotencyKey = ""
		if _, err := e.gw.Pay(ctx, req); !failure.Is(err, failure.ClassPermanent) {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
}

func TestPay_LongIdempotencyKeyIsHashedAndStable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := firstPayment(t, "order-longkey", amount(t, "10.00", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith"))
	req.IdempotencyKey = "authorise." + string(bytes.Repeat([]byte("s"), 80)) + ".2026-01-01"
	a := pay(t, e.gw, req)
	b := pay(t, e.gw, req)
	if a.PaymentReference != b.PaymentReference || len(e.sb.PaymentsFor("order-longkey")) != 1 {
		t.Fatal("a long key did not map to one stable Idempotency-Key")
	}
}

func TestNew_ValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]adyen.Config{
		"no key":          {MerchantAccount: "M", ReturnURL: "https://x"},
		"no merchant":     {APIKey: "k", ReturnURL: "https://x"},
		"no return url":   {APIKey: "k", MerchantAccount: "M"},
		"live, no prefix": {APIKey: "k", MerchantAccount: "M", ReturnURL: "https://x", Environment: "live"},
		"bad environment": {APIKey: "k", MerchantAccount: "M", ReturnURL: "https://x", Environment: "prod"},
	} {
		if _, err := adyen.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := adyen.New(adyen.Config{APIKey: "k", MerchantAccount: "M", ReturnURL: "https://x", Environment: "live", LivePrefix: "abc"}); err != nil {
		t.Errorf("valid live config refused: %v", err)
	}
}
