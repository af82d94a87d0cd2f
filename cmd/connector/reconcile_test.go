package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector/reconcile"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cleverbridgesandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/internal/config"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// reconcileWorld is the three sandboxes over sockets, the gateways' and
// Cleeng's real clients on them, and an embedded JetStream holding the
// operation records: what `connector reconcile` reads in production, each
// through the interface it reads there (Adyen's report download, a
// purchase listing, a payment listing, the KV bucket).
type reconcileWorld struct {
	t              *testing.T
	start          time.Time
	env            map[string]string
	adyen          *adyen.Gateway
	adyenReportURL string
	cleverbridge   *cleverbridge.Gateway
	purchasesURL   string
	cleeng         *cleeng.Client
	paymentsURL    string
	opsStore       *ops.Store
}

const (
	reconcileOffer      = "S-MONTHLY"
	reconcileTrialOffer = "S-TRIAL"
	reconcileCustomer   = "9001"
	reconcileMethod     = "123876432"
)

func newReconcileWorld(t *testing.T) *reconcileWorld {
	t.Helper()
	w := &reconcileWorld{t: t, start: time.Now().UTC().Truncate(time.Second).Add(-time.Second)}
	b := testkit.Broker(t)
	w.opsStore = ops.NewStore(b.Ops)

	adyenSB := adyensandbox.New(adyensandbox.Options{})
	adyenSrv := httptest.NewServer(adyenSB)
	t.Cleanup(func() { adyenSrv.Close(); adyenSB.Close() })
	var err error
	if w.adyen, err = adyen.New(adyen.Config{APIKey: adyenSB.APIKey(), MerchantAccount: adyenSB.MerchantAccount(),
		CheckoutURL: adyenSrv.URL + "/v71", ReturnURL: "https://shop.example/return", Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.adyenReportURL = adyenSrv.URL + "/reports/download/MerchantAccount/" + adyenSB.MerchantAccount() + "/payments_accounting_report_" + w.start.Format("2006_01_02") + ".csv"

	cbSB := cleverbridgesandbox.New(cleverbridgesandbox.Options{})
	cbSrv := httptest.NewServer(cbSB)
	t.Cleanup(func() { cbSrv.Close(); cbSB.Close() })
	if w.cleverbridge, err = cleverbridge.New(cleverbridge.Config{BaseURL: cbSrv.URL, Username: "sandbox", Password: "sandbox-password", ProductID: "300001"}); err != nil {
		t.Fatal(err)
	}
	w.purchasesURL = cbSrv.URL + "/sandbox/state"

	cleengSB := cleengsandbox.New(cleengsandbox.Options{PublisherToken: "publisher-token-reconcile"})
	cleengSrv := httptest.NewServer(cleengSB.Handler())
	t.Cleanup(func() { cleengSrv.Close(); cleengSB.Close() })
	if err := cleengSB.SeedOffer(cleengsandbox.Offer{ID: reconcileOffer, Prices: map[string]cleengsandbox.Price{
		"DE": {Amount: decimalOf(t, "9.99"), Currency: "EUR", TaxRate: decimalOf(t, "0.19")}}}); err != nil {
		t.Fatal(err)
	}
	if err := cleengSB.SeedOffer(cleengsandbox.Offer{ID: reconcileTrialOffer, Prices: map[string]cleengsandbox.Price{
		"DE": {Amount: decimalOf(t, "0"), Currency: "EUR", TaxRate: decimalOf(t, "0.19")}}}); err != nil {
		t.Fatal(err)
	}
	if err := cleengSB.SeedCustomer(cleengsandbox.Customer{ID: reconcileCustomer, Country: "DE"}); err != nil {
		t.Fatal(err)
	}
	if w.cleeng, err = cleeng.NewClient(cleeng.Config{BaseURL: cleengSrv.URL + "/3.1", PublisherToken: "publisher-token-reconcile"}); err != nil {
		t.Fatal(err)
	}
	w.paymentsURL = cleengSrv.URL + "/sandbox/state"
	w.env = map[string]string{"NATS_URL": b.Server.ClientURL(), "ADYEN_REPORT_API_KEY": adyenSB.APIKey()}
	w.consistent()
	return w
}

func decimalOf(t *testing.T, v string) cleeng.Decimal {
	t.Helper()
	a, err := money.New(v, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return cleeng.Decimal{Decimal: a.Value}
}

func eurOrUSD(t *testing.T, value, currency string) money.Amount {
	t.Helper()
	a, err := money.New(value, currency)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// order creates a Cleeng order of 9.99 EUR.
func (w *reconcileWorld) order() cleeng.Order { return w.orderOf(reconcileOffer) }

func (w *reconcileWorld) orderOf(offer string) cleeng.Order {
	w.t.Helper()
	o, err := w.cleeng.CreateOrder(w.t.Context(), cleeng.CreateOrderRequest{CustomerID: reconcileCustomer, OfferID: offer,
		Currency: "EUR", Country: "DE", PaymentMethodID: reconcileMethod})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// adyenPay pays order at Adyen with a test card: captured at once, or only
// authorised.
func (w *reconcileWorld) adyenPay(order cleeng.Order, amount money.Amount, authoriseOnly bool) string {
	w.t.Helper()
	res, err := w.adyen.Pay(w.t.Context(), gateways.PayRequest{IdempotencyKey: "pay-" + order.ID.String(), Reference: order.ID.String(),
		Amount: amount, ShopperReference: reconcileCustomer, AuthoriseOnly: authoriseOnly,
		PaymentMethod: adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Jane Smith")})
	if err != nil {
		w.t.Fatal(err)
	}
	want := gateways.Captured
	if authoriseOnly {
		want = gateways.Authorised
	}
	if res.Outcome != want || res.PaymentReference == "" {
		w.t.Fatalf("adyen pay of %s: %+v, want %s", order.ID, res, want)
	}
	return res.PaymentReference
}

// adyenRefused pays order with a card the issuer refuses.
func (w *reconcileWorld) adyenRefused(order cleeng.Order) string {
	w.t.Helper()
	res, err := w.adyen.Pay(w.t.Context(), gateways.PayRequest{IdempotencyKey: "pay-" + order.ID.String(), Reference: order.ID.String(),
		Amount: order.Amount(), ShopperReference: reconcileCustomer, PaymentMethod: adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "DECLINED")})
	if err != nil || res.Outcome != gateways.Refused {
		w.t.Fatalf("refused payment: %+v, %v", res, err)
	}
	return res.PaymentReference
}

func (w *reconcileWorld) adyenModify(what string, psp string, order cleeng.Order) string {
	w.t.Helper()
	req := gateways.ModifyRequest{IdempotencyKey: what + "-" + psp, PaymentReference: psp, Reference: order.ID.String(), Amount: order.Amount()}
	var res gateways.Result
	var err error
	switch what {
	case "capture":
		res, err = w.adyen.Capture(w.t.Context(), req)
	case "refund":
		res, err = w.adyen.Refund(w.t.Context(), req)
	}
	if err != nil {
		w.t.Fatalf("adyen %s of %s: %v", what, psp, err)
	}
	return res.PaymentReference
}

func (w *reconcileWorld) cleengPay(order cleeng.Order, status cleeng.PaymentStatus, externalID string) cleeng.Payment {
	w.t.Helper()
	req := cleeng.CreatePaymentRequest{OrderID: order.ID, Status: status, PaymentOperation: cleeng.OperationInitialPayment, ExternalPaymentID: externalID}
	if order.Amount().IsZero() {
		req.PaymentOperation = cleeng.OperationInitialFreeTrial
	}
	if status == cleeng.StatusRejected {
		req.RejectedReason = "Refused"
	}
	p, err := w.cleeng.CreatePayment(w.t.Context(), req)
	if err != nil {
		w.t.Fatalf("cleeng payment of order %s: %v", order.ID, err)
	}
	return p
}

func (w *reconcileWorld) cleengUpdate(p cleeng.Payment, req cleeng.UpdatePaymentRequest) {
	w.t.Helper()
	if _, err := w.cleeng.UpdatePayment(w.t.Context(), p.ID, req); err != nil {
		w.t.Fatalf("cleeng update of payment %s: %v", p.ID, err)
	}
}

func (w *reconcileWorld) cleengRefund(p cleeng.Payment) {
	w.t.Helper()
	w.cleengUpdate(p, cleeng.UpdatePaymentRequest{Status: cleeng.StatusRefunded, RefundedAmount: &p.Amount, RefundedReason: "customer asked"})
}

// cleverbridgeCharge renews the sandbox's paying subscription.
func (w *reconcileWorld) cleverbridgeCharge(order cleeng.Order) string {
	w.t.Helper()
	res, err := w.cleverbridge.Pay(w.t.Context(), gateways.PayRequest{IdempotencyKey: "charge-" + order.ID.String(), Reference: order.ID.String(),
		Amount: order.Amount(), ShopperReference: reconcileCustomer, Token: cleverbridgesandbox.SubscriptionPaid,
		Metadata: map[string]string{"customerId": reconcileCustomer, "orderId": order.ID.String()}})
	if err != nil || res.Outcome != gateways.Captured {
		w.t.Fatalf("cleverbridge charge: %+v, %v", res, err)
	}
	return res.PaymentReference
}

// consistent records, on every side, what the connector's flows leave
// behind: a purchase, an authorisation captured later, a refund, a
// refusal, a free trial, a card check, a Cleverbridge renewal, and a
// finished operation record.
func (w *reconcileWorld) consistent() {
	w.t.Helper()
	o := w.order()
	w.cleengPay(o, cleeng.StatusCaptured, w.adyenPay(o, o.Amount(), false))

	o = w.order()
	psp := w.adyenPay(o, o.Amount(), true)
	p := w.cleengPay(o, cleeng.StatusAuthorized, psp)
	w.adyenModify("capture", psp, o)
	// Cleeng keeps the payment's pspReference: refunds take it (DESIGN section 12).
	w.cleengUpdate(p, cleeng.UpdatePaymentRequest{Status: cleeng.StatusCaptured})

	o = w.order()
	psp = w.adyenPay(o, o.Amount(), false)
	p = w.cleengPay(o, cleeng.StatusCaptured, psp)
	w.adyenModify("refund", psp, o)
	w.cleengRefund(p)

	o = w.order()
	w.cleengPay(o, cleeng.StatusRejected, w.adyenRefused(o))

	// A free trial: a zero-amount authorisation, a zero captured payment.
	o = w.orderOf(reconcileTrialOffer)
	w.cleengPay(o, cleeng.StatusCaptured, w.adyenPay(o, o.Amount(), true))

	// A card update's zero-amount check has no Cleeng payment.
	w.adyenPay(cleeng.Order{ID: "card-update-1"}, eurOrUSD(w.t, "0", "EUR"), true)

	o = w.order()
	w.cleengPay(o, cleeng.StatusCaptured, w.cleverbridgeCharge(o))

	rec, err := ops.Claim[map[string]string](w.t.Context(), w.opsStore, ops.Key("initial", o.ID.String()), "initial")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := rec.Finish(w.t.Context(), w.opsStore, "cleeng-payment"); err != nil {
		w.t.Fatal(err)
	}
}

// reconcile runs the command at now (as JSON) and returns its drifts and
// its error.
func (w *reconcileWorld) reconcile(now time.Time, extra ...string) ([]reconcile.Drift, error) {
	w.t.Helper()
	out, err := w.run(now, append([]string{"--json"}, extra...)...)
	var doc struct{ Drifts []reconcile.Drift }
	if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
		w.t.Fatalf("reconcile --json printed no JSON (%v): %s, err %v", jerr, out, err)
	}
	return doc.Drifts, err
}

func (w *reconcileWorld) run(now time.Time, extra ...string) (string, error) {
	return w.runWith(w.env, now, extra...)
}

func (w *reconcileWorld) runWith(env map[string]string, now time.Time, extra ...string) (string, error) {
	args := append([]string{"--from", w.start.Format(time.RFC3339), "--adyen-report", w.adyenReportURL,
		"--cleverbridge-purchases", w.purchasesURL, "--cleeng-payments", w.paymentsURL}, extra...)
	var out bytes.Buffer
	err := reconcileCommand(func() time.Time { return now })(w.t.Context(), config.FromMap(env), args, &out)
	return out.String(), err
}

func exitCode(err error) int {
	var exit cli.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, new(cli.UsageError)):
		return 2
	}
	return -1
}

func TestReconcile_CleanRunFindsNothing(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t)
	drifts, err := w.reconcile(time.Now().Add(time.Minute))
	if err != nil || len(drifts) != 0 {
		t.Fatalf("clean run: drifts %+v, err %v; want none", drifts, err)
	}
	out, err := w.run(time.Now().Add(time.Minute))
	if err != nil || !strings.Contains(out, "no drift between") {
		t.Errorf("clean run as a table: %q, %v", out, err)
	}
	// The report as a file, as an operator downloads it from the Customer Area.
	report, err := reconcile.Fetch(t.Context(), w.adyenReportURL, http.Header{"X-Api-Key": {w.env["ADYEN_REPORT_API_KEY"]}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "payments_accounting_report.csv")
	if err := os.WriteFile(file, report, 0o600); err != nil {
		t.Fatal(err)
	}
	if drifts, err := w.reconcile(time.Now().Add(time.Minute), "--adyen-report", file); err != nil || len(drifts) != 0 {
		t.Errorf("clean run on the report's file: %+v, %v", drifts, err)
	}
}

// TestReconcile_FindsEachPlantedDrift plants one drift per subtest on a
// consistent world and expects reconcile to report exactly it, with its
// action, and exit 1.
func TestReconcile_FindsEachPlantedDrift(t *testing.T) {
	t.Parallel()
	type planted struct {
		kind      reconcile.Kind
		reference string // the payment's reference, or the operation key
		action    string // a part of the action
	}
	tests := []struct {
		name  string
		plant func(w *reconcileWorld) planted
	}{
		{"charged at adyen, missing in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), false)
			return planted{reconcile.MissingInCleeng, psp, "POST /payments order " + o.ID.String() + ", status captured"}
		}},
		{"charged at cleverbridge, missing in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			return planted{reconcile.MissingInCleeng, w.cleverbridgeCharge(o), "in cleverbridge's own tools"}
		}},
		{"charged at adyen, rejected in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), false)
			w.cleengPay(o, cleeng.StatusRejected, psp)
			return planted{reconcile.RejectedInCleeng, psp, "refund " + psp + " at adyen"}
		}},
		{"captured at adyen, authorised in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), true)
			p := w.cleengPay(o, cleeng.StatusAuthorized, psp)
			w.adyenModify("capture", psp, o)
			return planted{reconcile.CapturedVsAuthorised, psp, "mark Cleeng payment " + p.ID.String() + " captured (PATCH /payments/" + p.ID.String() + " status captured)"}
		}},
		{"authorised at adyen, captured in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), true)
			w.cleengPay(o, cleeng.StatusCaptured, psp)
			return planted{reconcile.CapturedVsAuthorised, psp, "capture " + psp + " at adyen"}
		}},
		{"refunded at adyen only", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), false)
			p := w.cleengPay(o, cleeng.StatusCaptured, psp)
			w.adyenModify("refund", psp, o)
			return planted{reconcile.RefundedOneSide, psp, "mark Cleeng payment " + p.ID.String() + " refunded"}
		}},
		{"refunded in Cleeng only", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, o.Amount(), false)
			w.cleengRefund(w.cleengPay(o, cleeng.StatusCaptured, psp))
			return planted{reconcile.RefundedOneSide, psp, "refund " + psp + " at adyen if Cleeng refunded it"}
		}},
		{"refused at adyen, captured in Cleeng", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenRefused(o)
			p := w.cleengPay(o, cleeng.StatusCaptured, psp)
			return planted{reconcile.NotChargedAtGateway, psp, "mark Cleeng payment " + p.ID.String() + " rejected"}
		}},
		{"amount differs", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, eurOrUSD(w.t, "12.00", "EUR"), false)
			w.cleengPay(o, cleeng.StatusCaptured, psp)
			return planted{reconcile.AmountMismatch, psp, "the gateway captured 12 EUR, Cleeng payment"}
		}},
		{"currency differs", func(w *reconcileWorld) planted {
			o := w.order()
			psp := w.adyenPay(o, eurOrUSD(w.t, "9.99", "USD"), false)
			w.cleengPay(o, cleeng.StatusCaptured, psp)
			return planted{reconcile.CurrencyMismatch, psp, "the gateway captured 9.99 USD"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newReconcileWorld(t)
			want := tt.plant(w)
			drifts, err := w.reconcile(time.Now().Add(time.Minute))
			if len(drifts) != 1 {
				t.Fatalf("drifts %+v, want exactly one %s of %s", drifts, want.kind, want.reference)
			}
			d := drifts[0]
			if d.Kind != want.kind || d.ExternalPaymentID != want.reference || !strings.Contains(d.Action, want.action) {
				t.Errorf("drift %+v, want %s of %s with an action containing %q", d, want.kind, want.reference, want.action)
			}
			if exitCode(err) != 1 {
				t.Errorf("exit status %d (%v), want 1", exitCode(err), err)
			}
		})
	}
}

// TestReconcile_OperationInDoubtPastItsDeadline: a renewal that recorded
// its intent before a gateway call and nothing since is in doubt once the
// deadline passed, not before.
func TestReconcile_OperationInDoubtPastItsDeadline(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t)
	key := ops.Key("charge", "S-77", "2026-12-01")
	rec, err := ops.Claim[map[string]string](t.Context(), w.opsStore, key, "charge")
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Save(t.Context(), w.opsStore, "charge-lock"); err != nil {
		t.Fatal(err)
	}
	if drifts, err := w.reconcile(time.Now().Add(time.Hour)); len(drifts) != 0 || err != nil {
		t.Fatalf("an hour later: %+v, %v; want nothing yet", drifts, err)
	}
	drifts, err := w.reconcile(time.Now().Add(defaultInDoubtAfter + time.Minute))
	if len(drifts) != 1 || drifts[0].Kind != reconcile.InDoubt || drifts[0].Operation != key ||
		!strings.Contains(drifts[0].Action, "at step charge-lock") || exitCode(err) != 1 {
		t.Fatalf("past the deadline: %+v, %v; want %s in doubt at step charge-lock, exit 1", drifts, err, key)
	}
	out, _ := w.run(time.Now().Add(defaultInDoubtAfter + time.Minute))
	mustContain(t, "the table", out, "KIND", "ACTION", "in-doubt", key, "connector ops show "+key)
	out, _ = w.run(time.Now().Add(defaultInDoubtAfter+time.Minute), "--in-doubt-after", "20h")
	if !strings.Contains(out, "no drift") {
		t.Errorf("with --in-doubt-after 20h: %s", out)
	}
}

func TestReconcile_ErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	w := newReconcileWorld(t)
	otherCSV := filepath.Join(t.TempDir(), "other.csv")
	if err := os.WriteFile(otherCSV, []byte("Date,Amount\n2026-12-01,9.99\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		mention string
		natsURL string // instead of the world's
	}{
		{"report not found", []string{"--adyen-report", w.adyenReportURL + ".missing"}, "--adyen-report: GET", ""},
		{"report file missing", []string{"--adyen-report", t.TempDir() + "/none.csv"}, "--adyen-report: open", ""},
		{"not CSV", []string{"--adyen-report", w.paymentsURL}, "adyen report: no CSV header line", ""},
		{"not a report", []string{"--adyen-report", otherCSV}, "neither a Payment accounting report", ""},
		{"no Cleeng payments", []string{"--cleeng-payments", w.adyenReportURL}, "--cleeng-payments: GET", ""},
		{"bad window", []string{"--to", "yesterday"}, "--to: \"yesterday\" is neither", ""},
		{"empty window", []string{"--to", w.start.Add(-time.Hour).Format(time.RFC3339)}, "is not before --to", ""},
		{"no deadline", []string{"--in-doubt-after", "0s"}, "--in-doubt-after 0s: want a positive duration", ""},
		{"NATS unreachable", nil, "connect to NATS at nats://127.0.0.1:1", "nats://127.0.0.1:1"},
	}
	for _, tt := range tests {
		env := w.env
		if tt.natsURL != "" {
			env = map[string]string{"NATS_URL": tt.natsURL}
		}
		_, err := w.runWith(env, time.Now(), tt.args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: %v (exit %d), want exit 2 mentioning %q", tt.name, err, exitCode(err), tt.mention)
		}
	}
}
