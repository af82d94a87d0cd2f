package cleverbridge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/money"
)

func TestPay_SendsRenewalCartAndPurchaseNotificationMatchesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := renewal(t, "S9073119", "order-1")
	res, err := e.gw.Pay(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != gateways.Captured || res.PaymentReference == "" || res.CustomerURL != "" {
		t.Fatalf("result = %+v, want captured with the purchase id", res)
	}
	calls := e.sb.Calls()
	if len(calls) != 1 {
		t.Fatalf("sandbox saw %d calls, want 1", len(calls))
	}
	c := calls[0].Request
	item := c.Cart.Items[0]
	switch {
	case c.Subscription.SubscriptionID != "S9073119":
		t.Errorf("subscription = %q", c.Subscription.SubscriptionID)
	case len(c.Cart.Items) != 1 || item.ProductID.String() != productID || item.Quantity != 1:
		t.Errorf("cart = %+v, want product %s quantity 1", c.Cart, productID)
	case item.DynamicPrice == nil || item.DynamicPrice.Amount != "9.99" || item.DynamicPrice.CurrencyID != "EUR" || !item.DynamicPrice.IsGross:
		t.Errorf("dynamic price = %+v, want gross 9.99 EUR", item.DynamicPrice)
	case c.ProcessCartMode != cleverbridge.ProcessCartNonInteractive || c.DefaultLanguageID != "en":
		t.Errorf("mode %q language %q, want NonInteractive en", c.ProcessCartMode, c.DefaultLanguageID)
	}
	wantParams := cleverbridge.ExtraParameters{{Key: "x-customerid", Value: "927751142"}, {Key: "x-orderid", Value: "order-1"}, {Key: "x-subscriptionid", Value: "555"}}
	if fmt.Sprint(c.ExtraParameters) != fmt.Sprint(wantParams) {
		t.Errorf("x-parameters = %v, want %v", c.ExtraParameters, wantParams)
	}

	ev := e.events.Wait(t, 5*time.Second, "purchase", func(ev gateways.Event) bool { return ev.PaymentReference == res.PaymentReference })
	if ev.Kind != gateways.EventPurchase || !ev.Success || ev.MerchantReference != "order-1" || ev.Token != "S9073119" {
		t.Fatalf("event = %+v, want a successful purchase for order-1", ev)
	}
	if ev.Metadata["customerId"] != "927751142" || ev.Metadata["subscriptionId"] != "555" || !ev.Amount.Value.Equal(req.Amount.Value) || ev.Amount.Currency != "EUR" {
		t.Fatalf("event metadata %v amount %s, want the renewal's", ev.Metadata, ev.Amount)
	}
}

func TestPay_DynamicPriceUsesTheCurrencyDecimals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct{ value, currency, want string }{
		{"9.9", "EUR", "9.90"},
		{"1000", "JPY", "1000"},
		{"12.345", "KWD", "12.345"},
		{"0.01", "USD", "0.01"},
		// Decimal text in ISO 4217's decimals: Adyen's own table (ISK 2, IDR 0) is not Cleverbridge's.
		{"1990", "ISK", "1990"},
		{"99000", "IDR", "99000.00"},
	}
	for i, tt := range tests {
		req := renewal(t, sandbox.SubscriptionPaid, fmt.Sprintf("order-price-%d", i))
		req.Amount = money.Amount{Value: mustDecimal(t, tt.value, tt.currency).Value, Currency: tt.currency}
		if _, err := e.gw.Pay(ctx(t), req); err != nil {
			t.Fatalf("%s %s: %v", tt.value, tt.currency, err)
		}
		calls := e.sb.Calls()
		got := calls[len(calls)-1].Request.Cart.Items[0].DynamicPrice
		if string(got.Amount) != tt.want || got.CurrencyID != tt.currency {
			t.Errorf("%s %s sent as %s %s, want %s", tt.value, tt.currency, got.Amount, got.CurrencyID, tt.want)
		}
	}
}

func mustDecimal(t *testing.T, v, currency string) money.Amount {
	t.Helper()
	a, err := money.New(v, currency)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPay_EveryStatusAndErrorCodeMapped(t *testing.T) {
	t.Parallel()
	type want struct {
		outcome   gateways.Outcome
		reason    string
		url       bool // CustomerURL set
		reference bool // PaymentReference set
		retry     bool
		class     failure.Class // for errors
		isErr     bool
	}
	tests := []struct {
		name string
		sub  string
		mode string
		want want
	}{
		{"Paid", sandbox.SubscriptionPaid, "", want{outcome: gateways.Captured, reference: true}},
		{"WaitingForOfflinePayment", sandbox.SubscriptionWaitingForOffline, "", want{outcome: gateways.Pending, reference: true}},
		{"Pending", sandbox.SubscriptionPending, "", want{outcome: gateways.Refused, url: true, reference: true,
			reason: "Payment declined by Cleverbridge; the customer can change the payment details at Cleverbridge"}},
		{"CustomerActionNeeded/non-interactive", sandbox.SubscriptionCustomerActionNeeded, cleverbridge.ModeNonInteractive, want{outcome: gateways.Refused, url: true, reference: true,
			reason: "Customer information at Cleverbridge is invalid or incomplete (e.g. payment details); the customer must complete it at Cleverbridge"}},
		{"CustomerActionNeeded/interactive", sandbox.SubscriptionCustomerActionNeeded, cleverbridge.ModeInteractive, want{outcome: gateways.Refused, url: true,
			reason: "Customer information at Cleverbridge is invalid or incomplete (e.g. payment details); the customer must complete it at Cleverbridge"}},
		{"PAY_CEX", "S-PAY_CEX", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "Card expired"}},
		{"PAY_CLE", "S-PAY_CLE", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "Credit card limit exceeded"}},
		{"PAY_DEC", "S-PAY_DEC", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "General decline"}},
		{"PAY_REJ", "S-PAY_REJ", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "Rejected by issuing bank"}},
		{"FRA_REJ", "S-FRA_REJ", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "Rejected for fraud"}},
		{"PAY_SCO", "S-PAY_SCO", "", want{outcome: gateways.Refused, url: true, reference: true, reason: "Security code validation failed"}},
		{"CCA_EXP with retry scheduled", sandbox.SubscriptionRetryScheduled, "", want{outcome: gateways.Refused, url: true, reference: true, retry: true,
			reason: "Card expired and not updated by the Account Updater"}},
		{"InvalidRequest", sandbox.SubscriptionInvalidRequest, "", want{isErr: true, class: failure.ClassPermanent}},
		{"InternalServerError", sandbox.SubscriptionInternalServerError, "", want{isErr: true, class: failure.ClassTransient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *sandbox.Options, c *cleverbridge.Config) { c.Mode = tt.mode })
			res, err := e.gw.Pay(ctx(t), renewal(t, tt.sub, "order-"+tt.name))
			if n := len(e.sb.Calls()); n != 1 {
				t.Fatalf("sandbox saw %d calls, want exactly 1", n)
			}
			if tt.want.isErr {
				if err == nil || failure.ClassOf(err) != tt.want.class {
					t.Fatalf("err = %v (class %s), want class %s", err, failure.ClassOf(err), tt.want.class)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{outcome: res.Outcome, reason: res.RefusalReason, url: res.CustomerURL != "",
				reference: res.PaymentReference != "", retry: res.RetryScheduled}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPay_DroppedResponseIsUnknownOutcomeNeverRepeated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sb.Faults().Add(faultinject.Fault{PathPrefix: cleverbridge.ProcessCartPath, DropResponse: true, Count: 1})
	_, err := e.gw.Pay(ctx(t), renewal(t, sandbox.SubscriptionPaid, "order-dropped"))
	if !failure.Is(err, failure.ClassUnknownOutcome) {
		t.Fatalf("err = %v (class %s), want unknown outcome", err, failure.ClassOf(err))
	}
	if n := len(e.sb.Calls()); n != 1 {
		t.Fatalf("sandbox saw %d Process Cart calls, want exactly 1 (never repeated)", n)
	}
	purchases := e.purchasesFor("order-dropped")
	if len(purchases) != 1 {
		t.Fatalf("%d purchases for the order, want 1", len(purchases))
	}
	// The purchase notification resolves the operation.
	ev := e.events.Wait(t, 5*time.Second, "purchase", func(ev gateways.Event) bool { return ev.MerchantReference == "order-dropped" })
	if !ev.Success || ev.PaymentReference != purchases[0].ID {
		t.Fatalf("event = %+v, want paid purchase %s", ev, purchases[0].ID)
	}
}

func TestPay_TimeoutAfterSendingIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *sandbox.Options, c *cleverbridge.Config) { c.Timeout = 100 * time.Millisecond })
	e.sb.Faults().Add(faultinject.Fault{PathPrefix: cleverbridge.ProcessCartPath, Latency: faultinject.Duration(400 * time.Millisecond), Count: 1})
	_, err := e.gw.Pay(ctx(t), renewal(t, sandbox.SubscriptionPaid, "order-slow"))
	if !failure.Is(err, failure.ClassUnknownOutcome) {
		t.Fatalf("err = %v (class %s), want unknown outcome", err, failure.ClassOf(err))
	}
}

func TestPay_NotSentIsTransient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens: the request cannot be sent
	gw, err := cleverbridge.New(cleverbridge.Config{BaseURL: url, Username: "u", Password: "p", ProductID: productID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.Pay(ctx(t), renewal(t, sandbox.SubscriptionPaid, "order-refused-conn"))
	if !failure.Is(err, failure.ClassTransient) {
		t.Fatalf("err = %v (class %s), want transient", err, failure.ClassOf(err))
	}
}

func TestPay_InjectedHTTPErrorsClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		class  failure.Class
	}{
		{http.StatusTooManyRequests, failure.ClassTransient},
		{http.StatusServiceUnavailable, failure.ClassTransient},
		{http.StatusBadGateway, failure.ClassUnknownOutcome},
		{http.StatusGatewayTimeout, failure.ClassUnknownOutcome},
		{http.StatusNotFound, failure.ClassPermanent},
	}
	e := newEnv(t)
	for _, tt := range tests {
		e.sb.Faults().Add(faultinject.Fault{PathPrefix: cleverbridge.ProcessCartPath, ErrorRate: 1, ErrorStatus: tt.status, Count: 1})
		_, err := e.gw.Pay(ctx(t), renewal(t, sandbox.SubscriptionPaid, fmt.Sprintf("order-%d", tt.status)))
		if failure.ClassOf(err) != tt.class || err == nil {
			t.Errorf("HTTP %d: err = %v (class %s), want %s", tt.status, err, failure.ClassOf(err), tt.class)
		}
	}
	if n := len(e.sb.Purchases()); n != 0 {
		t.Fatalf("%d purchases after refused calls, want 0", n)
	}
}

func TestPay_WrongCredentialsArePermanentAndNotInTheError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg
	cfg.Password = "wrong-password-xyz"
	gw, err := cleverbridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.Pay(ctx(t), renewal(t, "S-TOKEN-SECRET", "order-auth"))
	if !failure.Is(err, failure.ClassPermanent) {
		t.Fatalf("err = %v, want permanent", err)
	}
	for _, secret := range []string{"wrong-password-xyz", e.sb.Password(), "S-TOKEN-SECRET"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q contains a secret", err)
		}
	}
	calls := e.sb.Calls()
	if len(calls) != 1 || calls[0].HTTPStatus != http.StatusUnauthorized || len(e.sb.Purchases()) != 0 {
		t.Fatalf("calls %+v, want one refused 401 and no purchase", calls)
	}
}

// answering is a stand-in Cleverbridge answering every call with status and body.
func answering(t *testing.T, status int, body string) *cleverbridge.Gateway {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	gw, err := cleverbridge.New(cleverbridge.Config{BaseURL: srv.URL, Username: "api-user", Password: "api-secret-pw", ProductID: productID})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestPay_AnswersReadInEveryAcceptedShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		outcome    gateways.Outcome
		reference  string
		reason     string
	}{
		{"bare", `{"status":"Paid","purchaseId":"P1"}`, gateways.Captured, "P1", ""},
		{"wrapped", `{"processCartResponse":{"status":"Paid","purchaseId":"P2"}}`, gateways.Captured, "P2", ""},
		{"PascalCase", `{"Status":"Pending","PurchaseId":"P3","Url":"https://x","Error":{"Code":"PAY_REJ"}}`, gateways.Refused, "P3", "Rejected by issuing bank"},
		{"unknown code with message", `{"status":"Pending","error":{"code":"PAY_XYZ","message":"Bank says no"}}`, gateways.Refused, "", "Bank says no"},
		{"unknown code alone", `{"status":"Pending","error":{"code":"PAY_XYZ"}}`, gateways.Refused, "", "Payment declined (Cleverbridge code PAY_XYZ)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := answering(t, http.StatusOK, tt.body).Pay(ctx(t), renewal(t, "S1", "o"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.PaymentReference != tt.reference || res.RefusalReason != tt.reason {
				t.Fatalf("got %+v", res)
			}
		})
	}
}

func TestPay_UnreadableOrIncompleteSuccessIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`not json`, `{"status":"Paid"}`, `{"status":"SomethingNew","purchaseId":"P1"}`} {
		_, err := answering(t, http.StatusOK, body).Pay(ctx(t), renewal(t, "S1", "o"))
		if !failure.Is(err, failure.ClassUnknownOutcome) {
			t.Errorf("answer %s: err = %v, want unknown outcome", body, err)
		}
	}
}

func TestPay_ErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	// A 400 whose message echoes the subscription id (the stored token).
	gw := answering(t, http.StatusBadRequest, `{"status":"InvalidRequest","resultMessage":"subscription S-SECRET-77 is not handled by client"}`)
	_, err := gw.Pay(ctx(t), renewal(t, "S-SECRET-77", "o"))
	if !failure.Is(err, failure.ClassPermanent) {
		t.Fatalf("err = %v, want permanent", err)
	}
	for _, secret := range []string{"S-SECRET-77", "api-secret-pw", "api-user"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q contains %q", err, secret)
		}
	}
	if !strings.Contains(err.Error(), "InvalidRequest") {
		t.Fatalf("error %q does not say what Cleverbridge answered", err)
	}
}

func TestGateway_UnsupportedRequestsArePermanentWithReasonAndSendNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	authOnly := renewal(t, sandbox.SubscriptionPaid, "o1")
	authOnly.AuthoriseOnly = true
	noToken := renewal(t, "", "o2")
	zero := renewal(t, sandbox.SubscriptionPaid, "o3")
	zero.Amount = eur(t, "0")
	tooPrecise := renewal(t, sandbox.SubscriptionPaid, "o4")
	tooPrecise.Amount = eur(t, "9.999")
	c := ctx(t)
	payErr := func(req gateways.PayRequest) func() error {
		return func() error { _, err := e.gw.Pay(c, req); return err }
	}
	tests := []struct {
		name    string
		call    func() error
		mention string
	}{
		{"authorise only", payErr(authOnly), "turn authorizedFirst off in Cleeng for this payment method"},
		{"first payment", payErr(noToken), "subscription id"},
		{"zero amount", payErr(zero), "zero-amount"},
		{"more decimals than EUR", payErr(tooPrecise), "decimals"},
		{"capture", func() error { _, err := e.gw.Capture(c, gateways.ModifyRequest{}); return err }, "authorizedFirst"},
		{"refund", func() error { _, err := e.gw.Refund(c, gateways.ModifyRequest{}); return err }, "Commerce Assistant"},
		{"cancel", func() error { _, err := e.gw.Cancel(c, gateways.ModifyRequest{}); return err }, "no open authorisations"},
		{"complete action", func() error { _, err := e.gw.CompleteAction(c, gateways.ActionRequest{}); return err }, "URL Cleverbridge returned"},
		{"delete token", func() error { return e.gw.DeleteToken(c, gateways.TokenRequest{Token: "S1"}) }, "managed in Cleverbridge"},
	}
	for _, tt := range tests {
		err := tt.call()
		if !failure.Is(err, failure.ClassPermanent) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: err = %v, want permanent mentioning %q", tt.name, err, tt.mention)
		}
	}
	if n := len(e.sb.Calls()); n != 0 {
		t.Fatalf("sandbox saw %d calls, want 0", n)
	}
}

func TestGateway_CapabilitiesAreHonest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	caps := e.gw.Capabilities()
	if caps.SeparateCapture || caps.ZeroAmountAuth || caps.Refund || caps.Cancel || caps.DeleteToken || caps.ShopperActions || caps.IdempotencyKeys {
		t.Fatalf("capabilities %+v: Cleverbridge only charges", caps)
	}
	if !strings.Contains(caps.RefundElsewhere, "Commerce Assistant") {
		t.Fatalf("RefundElsewhere %q does not say where to refund", caps.RefundElsewhere)
	}
	if e.gw.Name() != cleverbridge.Name || cleverbridge.Name != "cleverbridge" {
		t.Fatalf("name %q", e.gw.Name())
	}
}

func TestNew_ValidatesConfigWithoutLeakingThePassword(t *testing.T) {
	t.Parallel()
	good := cleverbridge.Config{BaseURL: "https://rest.cleverbridge.com", Username: "u", Password: "pw-never-shown", ProductID: productID}
	if _, err := cleverbridge.New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name    string
		change  func(*cleverbridge.Config)
		mention string
	}{
		{"no base URL", func(c *cleverbridge.Config) { c.BaseURL = "" }, "BaseURL"},
		{"credentials in URL", func(c *cleverbridge.Config) { c.BaseURL = "https://u:pw-never-shown@rest.cleverbridge.com" }, "must not carry credentials"},
		{"no password", func(c *cleverbridge.Config) { c.Password = "" }, "Password"},
		{"product not numeric", func(c *cleverbridge.Config) { c.ProductID = "abc" }, "ProductID"},
		{"unknown mode", func(c *cleverbridge.Config) { c.Mode = "batch" }, "Mode"},
	}
	for _, tt := range tests {
		cfg := good
		tt.change(&cfg)
		_, err := cleverbridge.New(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.mention)
			continue
		}
		if strings.Contains(err.Error(), "pw-never-shown") {
			t.Errorf("%s: error %q shows the password", tt.name, err)
		}
	}
}
