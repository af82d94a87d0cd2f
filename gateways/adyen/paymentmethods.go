package adyen

import (
	"context"
	"net/http"

	"github.com/adyen/adyen-go-api-library/v9/src/checkout"
	"github.com/adyen/adyen-go-api-library/v9/src/common"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

var _ gateways.PaymentMethodLister = (*Gateway)(nil)

// channels are the values Adyen's /paymentMethods takes for channel.
var channels = map[string]bool{"Web": true, "iOS": true, "Android": true}

// PaymentMethods asks Adyen's /paymentMethods which methods the shopper can
// use for the amount (in Adyen's minor units) in the country, and which are
// stored for the shopper. It changes nothing at Adyen, so it carries no
// idempotency key and is retried like any call.
func (g *Gateway) PaymentMethods(ctx context.Context, req gateways.PaymentMethodsRequest) (gateways.PaymentMethods, error) {
	preq, err := paymentMethodsRequest(g.cfg.MerchantAccount, req)
	if err != nil {
		return gateways.PaymentMethods{}, err
	}
	resp, err := send(ctx, g, "adyen payment methods", func(ctx context.Context) (checkout.PaymentMethodsResponse, *http.Response, error) {
		return g.api.PaymentsApi.PaymentMethods(ctx, g.api.PaymentsApi.PaymentMethodsInput().PaymentMethodsRequest(preq))
	})
	if err != nil {
		return gateways.PaymentMethods{}, err
	}
	out := paymentMethodsOf(resp)
	out.Amount = gateways.MinorAmount{Value: preq.Amount.Value, Currency: preq.Amount.Currency}
	return out, nil
}

func paymentMethodsRequest(merchantAccount string, req gateways.PaymentMethodsRequest) (checkout.PaymentMethodsRequest, error) {
	channel := req.Channel
	if channel == "" {
		channel = "Web"
	}
	if !channels[channel] {
		return checkout.PaymentMethodsRequest{}, failure.Permanentf("adyen payment methods: channel %q: want Web, iOS or Android", req.Channel)
	}
	if req.CountryCode != "" && !isCountryCode(req.CountryCode) {
		return checkout.PaymentMethodsRequest{}, failure.Permanentf("adyen payment methods: country code %q: want two capital letters (ISO 3166-1 alpha-2)", req.CountryCode)
	}
	amount, err := minorAmount(req.Amount)
	if err != nil {
		return checkout.PaymentMethodsRequest{}, err
	}
	preq := checkout.PaymentMethodsRequest{
		MerchantAccount:       merchantAccount,
		Amount:                &amount,
		Channel:               common.PtrString(channel),
		AllowedPaymentMethods: req.Allowed,
	}
	if req.CountryCode != "" {
		preq.CountryCode = common.PtrString(req.CountryCode)
	}
	if req.ShopperReference != "" {
		if len(req.ShopperReference) < 3 {
			return preq, failure.Permanentf("adyen payment methods: a shopper reference has at least 3 characters")
		}
		preq.ShopperReference = common.PtrString(req.ShopperReference)
	}
	return preq, nil
}

func isCountryCode(c string) bool {
	return len(c) == 2 && 'A' <= c[0] && c[0] <= 'Z' && 'A' <= c[1] && c[1] <= 'Z'
}

// paymentMethodsOf copies Adyen's answer into the gateway-neutral shape
// (the same JSON for Drop-in).
func paymentMethodsOf(resp checkout.PaymentMethodsResponse) gateways.PaymentMethods {
	out := gateways.PaymentMethods{Methods: make([]gateways.PaymentMethod, 0, len(resp.PaymentMethods))}
	for _, m := range resp.PaymentMethods {
		pm := gateways.PaymentMethod{Type: m.GetType(), Name: m.GetName(), Brands: m.Brands}
		if m.Configuration != nil {
			pm.Configuration = *m.Configuration
		}
		for _, is := range m.Issuers {
			pm.Issuers = append(pm.Issuers, gateways.Issuer{ID: is.Id, Name: is.Name, Disabled: is.GetDisabled()})
		}
		out.Methods = append(out.Methods, pm)
	}
	for _, s := range resp.StoredPaymentMethods {
		out.Stored = append(out.Stored, gateways.StoredPaymentMethod{
			ID: s.GetId(), Type: s.GetType(), Name: s.GetName(), Brand: s.GetBrand(), LastFour: s.GetLastFour(),
			ExpiryMonth: s.GetExpiryMonth(), ExpiryYear: s.GetExpiryYear(), HolderName: s.GetHolderName(),
			SupportedShopperInteractions: s.SupportedShopperInteractions,
		})
	}
	return out
}
