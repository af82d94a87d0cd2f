package adyen_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/money"
)

func listMethods(t *testing.T, e *env, req gateways.PaymentMethodsRequest) gateways.PaymentMethods {
	t.Helper()
	pm, err := e.gw.PaymentMethods(context.Background(), req)
	if err != nil {
		t.Fatalf("payment methods %+v: %v", req, err)
	}
	return pm
}

func types(pm gateways.PaymentMethods) []string {
	var out []string
	for _, m := range pm.Methods {
		out = append(out, m.Type)
	}
	return out
}

func method(t *testing.T, pm gateways.PaymentMethods, methodType string) gateways.PaymentMethod {
	t.Helper()
	for _, m := range pm.Methods {
		if m.Type == methodType {
			return m
		}
	}
	t.Fatalf("no %s in %v", methodType, types(pm))
	return gateways.PaymentMethod{}
}

func TestPaymentMethods_FilteredByCountryCurrencyAndChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, value, currency, country, channel string
		want                                    []string
	}{
		{"Netherlands in euros", "9.99", "EUR", "NL", "", []string{"scheme", "applepay", "googlepay", "paypal", "ideal", "sepadirectdebit"}},
		{"Germany in euros: no iDEAL", "9.99", "EUR", "DE", "Web", []string{"scheme", "applepay", "googlepay", "paypal", "sepadirectdebit"}},
		{"United States in dollars", "9.99", "USD", "US", "Web", []string{"scheme", "applepay", "googlepay", "paypal"}},
		{"Iceland in kronur: no PayPal", "1990", "ISK", "IS", "Web", []string{"scheme", "applepay", "googlepay"}},
		{"Android app: no Apple Pay", "9.99", "EUR", "NL", "Android", []string{"scheme", "googlepay", "paypal", "ideal", "sepadirectdebit"}},
		{"iOS app: no Google Pay", "9.99", "EUR", "NL", "iOS", []string{"scheme", "applepay", "paypal", "ideal", "sepadirectdebit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pm := listMethods(t, e, gateways.PaymentMethodsRequest{
				Amount: amount(t, c.value, c.currency), CountryCode: c.country, Channel: c.channel})
			if got := types(pm); !slices.Equal(got, c.want) {
				t.Fatalf("methods = %v, want %v", got, c.want)
			}
			if len(pm.Stored) != 0 {
				t.Fatalf("stored methods without a shopper: %+v", pm.Stored)
			}
		})
	}

	pm := listMethods(t, e, gateways.PaymentMethodsRequest{Amount: amount(t, "9.99", "EUR"), CountryCode: "NL"})
	if cards := method(t, pm, "scheme"); !slices.Equal(cards.Brands, []string{"visa", "mc", "amex"}) {
		t.Fatalf("card brands = %v", cards.Brands)
	}
	if ap := method(t, pm, "applepay"); ap.Configuration["merchantId"] == "" || ap.Configuration["merchantName"] == "" {
		t.Fatalf("Apple Pay configuration = %v, want merchantId and merchantName", ap.Configuration)
	}
	if gp := method(t, pm, "googlepay"); gp.Configuration["gatewayMerchantId"] != e.sb.MerchantAccount() || gp.Configuration["merchantId"] == "" {
		t.Fatalf("Google Pay configuration = %v, want merchantId and gatewayMerchantId %s", gp.Configuration, e.sb.MerchantAccount())
	}
	if ideal := method(t, pm, "ideal"); len(ideal.Issuers) == 0 || ideal.Issuers[0].ID == "" || ideal.Issuers[0].Name == "" {
		t.Fatalf("iDEAL issuers = %+v", ideal.Issuers)
	}
}

// The amount reaches Adyen in its minor units (1990 ISK is 199000 there,
// not ISO's 1990).
func TestPaymentMethods_AmountInAdyensMinorUnits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pm := listMethods(t, e, gateways.PaymentMethodsRequest{Amount: amount(t, "1990", "ISK"), CountryCode: "IS"})
	if pm.Amount != (gateways.MinorAmount{Value: 199000, Currency: "ISK"}) {
		t.Errorf("answer's amount = %+v, want Adyen's 199000 ISK for the front-end", pm.Amount)
	}
	sent := e.calls.to("/paymentMethods")
	if len(sent) != 1 {
		t.Fatalf("%d calls to /paymentMethods, want 1", len(sent))
	}
	var body struct {
		Amount struct {
			Currency string
			Value    int64
		}
		CountryCode, Channel, MerchantAccount string
	}
	if err := json.Unmarshal(sent[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Amount.Value != 199000 || body.Amount.Currency != "ISK" || body.CountryCode != "IS" || body.Channel != "Web" || body.MerchantAccount != e.sb.MerchantAccount() {
		t.Fatalf("Adyen received %+v, want 199000 ISK for IS on the Web channel", body)
	}
}

func TestPaymentMethods_StoredCardsOfTheShopperOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	visa := pay(t, e.gw, firstPayment(t, "order-pm-visa", amount(t, "0", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	mc := pay(t, e.gw, firstPayment(t, "order-pm-mc", amount(t, "5.00", "EUR"), sandbox.EncryptedCardMethod(sandbox.CardMastercard, "Jane Smith")))
	other := firstPayment(t, "order-pm-other", amount(t, "5.00", "EUR"), sandbox.CardMethod(sandbox.CardAmex, "John Doe"))
	other.ShopperReference = "customer-456"
	pay(t, e.gw, other)

	req := gateways.PaymentMethodsRequest{Amount: amount(t, "9.99", "EUR"), CountryCode: "NL", ShopperReference: shopper}
	pm := listMethods(t, e, req)
	want := []gateways.StoredPaymentMethod{
		{ID: visa.Token, Type: "scheme", Name: "VISA", Brand: "visa", LastFour: "1111", ExpiryMonth: "03", ExpiryYear: "30",
			HolderName: "Jane Smith", SupportedShopperInteractions: []string{"Ecommerce", "ContAuth"}},
		{ID: mc.Token, Type: "scheme", Name: "MasterCard", Brand: "mc", LastFour: "1111", ExpiryMonth: "03", ExpiryYear: "30",
			HolderName: "Jane Smith", SupportedShopperInteractions: []string{"Ecommerce", "ContAuth"}},
	}
	if len(pm.Stored) != len(want) {
		t.Fatalf("stored = %+v, want the shopper's two cards", pm.Stored)
	}
	for i := range want {
		if got := pm.Stored[i]; got.ID != want[i].ID || got.Brand != want[i].Brand || got.Name != want[i].Name ||
			got.LastFour != want[i].LastFour || got.ExpiryMonth != want[i].ExpiryMonth || got.ExpiryYear != want[i].ExpiryYear ||
			got.HolderName != want[i].HolderName || got.Type != want[i].Type ||
			!slices.Equal(got.SupportedShopperInteractions, want[i].SupportedShopperInteractions) {
			t.Fatalf("stored[%d] = %+v, want %+v", i, got, want[i])
		}
	}

	if err := e.gw.DeleteToken(context.Background(), gateways.TokenRequest{ShopperReference: shopper, Token: visa.Token}); err != nil {
		t.Fatal(err)
	}
	if pm := listMethods(t, e, req); len(pm.Stored) != 1 || pm.Stored[0].ID != mc.Token {
		t.Fatalf("after deleting the visa token, stored = %+v", pm.Stored)
	}
}

func TestPaymentMethods_AllowedLimitsMethodsAndStoredCards(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pay(t, e.gw, firstPayment(t, "order-pm-allowed", amount(t, "0", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	req := gateways.PaymentMethodsRequest{Amount: amount(t, "9.99", "EUR"), CountryCode: "NL", ShopperReference: shopper}

	req.Allowed = []string{"paypal", "ideal"}
	pm := listMethods(t, e, req)
	if got := types(pm); !slices.Equal(got, []string{"paypal", "ideal"}) || len(pm.Stored) != 0 {
		t.Fatalf("allowed paypal and ideal: methods %v, stored %d", got, len(pm.Stored))
	}
	req.Allowed = []string{"scheme"}
	pm = listMethods(t, e, req)
	if got := types(pm); !slices.Equal(got, []string{"scheme"}) || len(pm.Stored) != 1 {
		t.Fatalf("allowed scheme: methods %v, stored %d", got, len(pm.Stored))
	}
}

// Its JSON is Adyen's answer, as Drop-in takes it.
func TestPaymentMethods_JSONIsDropInsShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pay(t, e.gw, firstPayment(t, "order-pm-json", amount(t, "0", "EUR"), sandbox.CardMethod(sandbox.CardVisa, "Jane Smith")))
	pm := listMethods(t, e, gateways.PaymentMethodsRequest{Amount: amount(t, "9.99", "EUR"), CountryCode: "NL", ShopperReference: shopper})
	b, err := json.Marshal(pm)
	if err != nil {
		t.Fatal(err)
	}
	var dropIn struct {
		PaymentMethods []struct {
			Type          string            `json:"type"`
			Configuration map[string]string `json:"configuration"`
		} `json:"paymentMethods"`
		StoredPaymentMethods []struct {
			ID       string `json:"id"`
			LastFour string `json:"lastFour"`
		} `json:"storedPaymentMethods"`
	}
	if err := json.Unmarshal(b, &dropIn); err != nil {
		t.Fatal(err)
	}
	if len(dropIn.PaymentMethods) != len(pm.Methods) || dropIn.PaymentMethods[1].Type != "applepay" || dropIn.PaymentMethods[1].Configuration["merchantId"] == "" {
		t.Fatalf("paymentMethods JSON = %s", b)
	}
	if len(dropIn.StoredPaymentMethods) != 1 || dropIn.StoredPaymentMethods[0].ID == "" || dropIn.StoredPaymentMethods[0].LastFour != "1111" {
		t.Fatalf("storedPaymentMethods JSON = %s", b)
	}
}

func TestPaymentMethods_BadInputRefusedBeforeAnyCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := gateways.PaymentMethodsRequest{Amount: amount(t, "9.99", "EUR"), CountryCode: "NL"}
	cases := map[string]func(r *gateways.PaymentMethodsRequest){
		"three-letter country":       func(r *gateways.PaymentMethodsRequest) { r.CountryCode = "NLD" },
		"lower-case country":         func(r *gateways.PaymentMethodsRequest) { r.CountryCode = "nl" },
		"unknown channel":            func(r *gateways.PaymentMethodsRequest) { r.Channel = "Fax" },
		"short shopper reference":    func(r *gateways.PaymentMethodsRequest) { r.ShopperReference = "ab" },
		"amount finer than Adyen's":  func(r *gateways.PaymentMethodsRequest) { r.Amount = amount(t, "10.50", "CVE") },
		"no currency (zero request)": func(r *gateways.PaymentMethodsRequest) { r.Amount = money.Amount{} },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			req := ok
			spoil(&req)
			if _, err := e.gw.PaymentMethods(context.Background(), req); !failure.Is(err, failure.ClassPermanent) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
	if n := len(e.calls.to("/paymentMethods")); n != 0 {
		t.Fatalf("%d bad requests reached Adyen", n)
	}
}
