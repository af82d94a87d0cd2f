package sandbox

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
)

// paymentMethodsRequest is the part of PaymentMethodsRequest the sandbox reads.
type paymentMethodsRequest struct {
	MerchantAccount       string   `json:"merchantAccount"`
	Amount                *amount  `json:"amount"`
	CountryCode           string   `json:"countryCode"`
	Channel               string   `json:"channel"`
	ShopperReference      string   `json:"shopperReference"`
	AllowedPaymentMethods []string `json:"allowedPaymentMethods"`
	BlockedPaymentMethods []string `json:"blockedPaymentMethods"`
}

// offered is a payment method the sandbox's merchant account has, with
// where it can be used. Empty countries or currencies: no restriction.
type offered struct {
	method     paymentMethod
	countries  []string
	currencies []string
	channels   []string // empty: every channel
}

// paymentMethod is Adyen's PaymentMethod, as far as the sandbox fills it.
type paymentMethod struct {
	Type          string            `json:"type"`
	Name          string            `json:"name"`
	Brands        []string          `json:"brands,omitempty"`
	Configuration map[string]string `json:"configuration,omitempty"`
	Issuers       []issuer          `json:"issuers,omitempty"`
}

type issuer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// storedPaymentMethod is Adyen's StoredPaymentMethod for a stored card.
type storedPaymentMethod struct {
	ID                                 string   `json:"id"`
	Type                               string   `json:"type"`
	Name                               string   `json:"name"`
	Brand                              string   `json:"brand"`
	LastFour                           string   `json:"lastFour"`
	ExpiryMonth                        string   `json:"expiryMonth"`
	ExpiryYear                         string   `json:"expiryYear"`
	HolderName                         string   `json:"holderName,omitempty"`
	SupportedShopperInteractions       []string `json:"supportedShopperInteractions"`
	SupportedRecurringProcessingModels []string `json:"supportedRecurringProcessingModels"`
}

// The sandbox's merchant account and the Apple Pay / Google Pay merchant
// identifiers Drop-in needs in `configuration` (test values, as Adyen's
// test accounts give them).
const (
	applePayMerchantID  = "000000000000001"
	googlePayMerchantID = "1000"
)

var (
	cardBrands = []string{"visa", "mc", "amex"} // the brands of the sandbox's test cards
	// sepaCountries are the SEPA scheme's countries.
	sepaCountries = []string{"AD", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB",
		"GI", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL", "NO", "PL", "PT",
		"RO", "SE", "SI", "SK", "SM", "VA"}
	// paypalCurrencies are the currencies PayPal settles.
	paypalCurrencies = []string{"AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS",
		"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"}
	// idealIssuers are Adyen's documented iDEAL test issuers.
	idealIssuers = []issuer{
		{"1121", "Test Issuer"}, {"1151", "Test Issuer 2"},
		{"1160", "Test Issuer Refused"}, {"1161", "Test Issuer Pending"}, {"1162", "Test Issuer Cancelled"},
	}
)

// offeredMethods is the merchant account's list, in the order Adyen would rank them.
func (s *Sandbox) offeredMethods() []offered {
	return []offered{
		{method: paymentMethod{Type: "scheme", Name: "Cards", Brands: cardBrands}},
		{method: paymentMethod{Type: "applepay", Name: "Apple Pay", Brands: cardBrands, Configuration: map[string]string{
			"merchantId": applePayMerchantID, "merchantName": s.opts.MerchantAccount,
		}}, channels: []string{"Web", "iOS"}},
		{method: paymentMethod{Type: "googlepay", Name: "Google Pay", Brands: cardBrands, Configuration: map[string]string{
			"merchantId": googlePayMerchantID, "gatewayMerchantId": s.opts.MerchantAccount,
		}}, channels: []string{"Web", "Android"}},
		{method: paymentMethod{Type: "paypal", Name: "PayPal"}, currencies: paypalCurrencies},
		{method: paymentMethod{Type: "ideal", Name: "iDEAL", Issuers: idealIssuers}, countries: []string{"NL"}, currencies: []string{"EUR"}},
		{method: paymentMethod{Type: "sepadirectdebit", Name: "SEPA Direct Debit"}, countries: sepaCountries, currencies: []string{"EUR"}},
	}
}

// available says whether o can be offered for the request: Adyen filters
// by the shopper's country, the amount's currency and the channel; a
// field the request leaves out does not filter.
func (o offered) available(req paymentMethodsRequest) bool {
	ok := func(list []string, v string) bool { return v == "" || len(list) == 0 || slices.Contains(list, v) }
	currency := ""
	if req.Amount != nil {
		currency = req.Amount.Currency
	}
	return ok(o.countries, req.CountryCode) && ok(o.currencies, currency) && ok(o.channels, req.Channel)
}

// permitted applies allowedPaymentMethods and blockedPaymentMethods to a type.
func (req paymentMethodsRequest) permitted(methodType string) bool {
	if len(req.AllowedPaymentMethods) > 0 && !slices.Contains(req.AllowedPaymentMethods, methodType) {
		return false
	}
	return !slices.Contains(req.BlockedPaymentMethods, methodType)
}

// paymentMethods handles POST /paymentMethods: the methods available for
// the amount, country and channel, and the shopper's stored cards.
func (s *Sandbox) paymentMethods(body []byte) answer {
	var req paymentMethodsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiError(http.StatusBadRequest, "702", "validation", "malformed JSON")
	}
	switch {
	case req.MerchantAccount != s.opts.MerchantAccount:
		return apiError(http.StatusForbidden, "901", "security", "Invalid Merchant Account")
	case req.Amount != nil && (len(req.Amount.Currency) != 3 || req.Amount.Value < 0):
		return apiError(http.StatusUnprocessableEntity, "137", "validation", "Invalid amount specified")
	}
	methods := []paymentMethod{}
	for _, o := range s.offeredMethods() {
		if o.available(req) && req.permitted(o.method.Type) {
			methods = append(methods, o.method)
		}
	}
	resp := map[string]any{"paymentMethods": methods}
	if stored := s.storedMethods(req); len(stored) > 0 {
		resp["storedPaymentMethods"] = stored
	}
	return jsonAnswer(http.StatusOK, resp)
}

// storedMethods lists the shopper's stored cards, oldest first, when the
// request names a shopper and cards are permitted.
func (s *Sandbox) storedMethods(req paymentMethodsRequest) []storedPaymentMethod {
	if req.ShopperReference == "" || !req.permitted("scheme") {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var tokens []*storedToken
	for _, t := range s.tokens {
		if t.ShopperReference == req.ShopperReference && t.Method == methodScheme {
			tokens = append(tokens, t)
		}
	}
	sort.Slice(tokens, func(i, j int) bool { return tokens[i].seq < tokens[j].seq })
	out := make([]storedPaymentMethod, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, storedPaymentMethod{
			ID:                                 t.ID,
			Type:                               "scheme",
			Name:                               brandNames[t.Card.Brand],
			Brand:                              t.Card.Brand,
			LastFour:                           t.Card.summary(),
			ExpiryMonth:                        t.Card.ExpiryMonth,
			ExpiryYear:                         lastTwo(t.Card.ExpiryYear),
			HolderName:                         t.Card.HolderName,
			SupportedShopperInteractions:       []string{"Ecommerce", "ContAuth"},
			SupportedRecurringProcessingModels: []string{"CardOnFile", "Subscription", "UnscheduledCardOnFile"},
		})
	}
	return out
}

// brandNames are the display names Adyen gives stored cards.
var brandNames = map[string]string{"visa": "VISA", "mc": "MasterCard", "amex": "American Express"}

// lastTwo is a stored method's expiryYear: CheckoutService-v71.json says
// "the last two digits of the year" (its example: "30").
func lastTwo(year string) string {
	if len(year) <= 2 {
		return year
	}
	return year[len(year)-2:]
}
