package flows_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/gateways"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// The Adyen calls of Cleeng's MediaStore SDK (../shared/mediastore-sdk-contract.md),
// sent with exactly the SDK's bodies and Drop-in's state.data, a customer
// JWT from the Cleeng sandbox, through the ingress, the workers and both
// sandboxes.

// sdkEnvelope is the SDK's answer envelope.
type sdkEnvelope struct {
	ResponseData json.RawMessage `json:"responseData"`
	Errors       []string        `json:"errors"`
	Code         string          `json:"code"`
}

// sdkPayment is what the SDK reads of initial-payment and its finalize.
type sdkPayment struct {
	Action  json.RawMessage `json:"action"`
	Payment *cleeng.Payment `json:"payment"`
}

func (e *e2e) sdk(path string, body any) (int, sdkEnvelope, string) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := e.do(http.MethodPost, "/connectors/adyen/"+path, b)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env sdkEnvelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Errors == nil || env.ResponseData == nil {
		e.t.Fatalf("POST %s: %d %s: not the SDK's envelope", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, env, string(raw)
}

// sdkPay sends initial-payment (or its finalize) and decodes the payment answer.
func (e *e2e) sdkPay(path string, body any) (int, sdkEnvelope, sdkPayment) {
	e.t.Helper()
	code, env, _ := e.sdk(path, body)
	var p sdkPayment
	_ = json.Unmarshal(env.ResponseData, &p)
	return code, env, p
}

// dropInState is Drop-in's state.data for paymentMethod, with the fields
// Drop-in adds, as submitPayment sends it for order.
func (e *e2e) dropInState(order cleeng.ID, method json.RawMessage, redirect3DS bool) map[string]any {
	var pm map[string]any
	_ = json.Unmarshal(method, &pm)
	pm["checkoutAttemptId"] = "do-not-track"
	if pm["type"] == "scheme" {
		pm["brand"] = "visa"
	}
	return map[string]any{
		"orderId":       json.Number(order),
		"paymentMethod": pm,
		"browserInfo": map[string]any{"acceptHeader": "*/*", "colorDepth": 24, "language": "en-US", "javaEnabled": false,
			"screenHeight": 900, "screenWidth": 1440, "timeZoneOffset": -60,
			"userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		"billingAddress": map[string]string{"street": "Simon Carmiggeltstraat", "houseNumberOrName": "6-50",
			"postalCode": "1011DJ", "city": "Amsterdam", "country": "NL"},
		"origin":                e.dev.IngressURL,
		"returnUrl":             e.dev.IngressURL + "/checkout?orderId=" + order.String(),
		"enable3DSRedirectFlow": redirect3DS,
		"captchaValue":          "",
	}
}

// assertCapturedOnce checks both sandboxes: one Adyen payment of the
// order, captured, and the Cleeng payment the answer named, captured with
// the same externalPaymentId.
func (e *e2e) assertCapturedOnce(order cleeng.ID, p *cleeng.Payment) {
	e.t.Helper()
	if p == nil {
		e.t.Fatal("no payment in the answer")
	}
	charges := e.dev.Adyen.PaymentsFor(order.String())
	if len(charges) != 1 || charges[0].Status != adyensandbox.StatusCaptured || charges[0].PSPReference != p.ExternalPaymentID {
		e.t.Fatalf("Adyen holds %+v for order %s, want one captured payment %s", charges, order, p.ExternalPaymentID)
	}
	got, ok := e.dev.Cleeng.State().Payment(p.ID)
	if !ok || got.Status != cleeng.StatusCaptured || got.ExternalPaymentID != p.ExternalPaymentID || got.OrderID != order {
		e.t.Fatalf("Cleeng payment %+v, want captured for order %s as answered %+v", got, order, p)
	}
}

func TestMediaStore_CheckoutAsTheSDKCallsIt(t *testing.T) {
	t.Parallel()
	e := newE2E(t)

	t.Run("payment methods for the order: Drop-in's configuration", func(t *testing.T) {
		o := e.order("NL", stack.DemoOffer.ID)
		code, env, raw := e.sdk("payment-methods", map[string]any{"orderId": json.Number(o.ID)})
		var got struct {
			Amount                         gateways.MinorAmount
			CountryCode, ClientKey, Region string
			ShopperStatement               string
			PaymentMethods                 []gateways.PaymentMethod
		}
		if err := json.Unmarshal(env.ResponseData, &got); code != http.StatusOK || err != nil || len(env.Errors) != 0 {
			t.Fatalf("payment-methods: %d %s", code, raw)
		}
		var types []string
		for _, m := range got.PaymentMethods {
			types = append(types, m.Type)
		}
		if got.Amount != (gateways.MinorAmount{Value: 999, Currency: "EUR"}) || got.CountryCode != "NL" ||
			got.ClientKey != stack.DevAdyenClientKey || got.Region != "test" || got.ShopperStatement == "" ||
			!slices.Equal(types, []string{"scheme", "applepay", "googlepay", "paypal", "ideal", "sepadirectdebit"}) {
			t.Fatalf("Drop-in configuration %+v (types %v), want 999 EUR in NL, the dev client key, test region, every method (the cards' paymentMethodId names no types)", got, types)
		}
		if strings.Contains(raw, "storedPaymentMethods") {
			t.Errorf("stored methods (tokens) in the answer: %s", raw)
		}
	})

	t.Run("payment methods in My Account: the card check's zero amount", func(t *testing.T) {
		code, env, raw := e.sdk("payment-methods", map[string]any{})
		var got struct{ Amount gateways.MinorAmount }
		if err := json.Unmarshal(env.ResponseData, &got); code != http.StatusOK || err != nil || got.Amount != (gateways.MinorAmount{Value: 0, Currency: "EUR"}) {
			t.Fatalf("payment-methods {}: %d %s, want a zero EUR amount", code, raw)
		}
	})

	t.Run("payment methods of another customer's order: not found", func(t *testing.T) {
		o := e.order("NL", stack.DemoOffer.ID)
		saved := e.token
		e.token = e.tokenOf(mallory)
		code, env, _ := e.sdk("payment-methods", map[string]any{"orderId": json.Number(o.ID)})
		e.token = saved
		if code != http.StatusNotFound || len(env.Errors) != 1 || env.Code != "order_not_found" {
			t.Fatalf("another's order: %d %+v, want 404 order_not_found", code, env)
		}
	})

	t.Run("card: paid at once", func(t *testing.T) {
		o := e.order("DE", stack.DemoOffer.ID)
		code, env, p := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"), false))
		if code != http.StatusOK || len(env.Errors) != 0 || p.Payment == nil || p.Payment.Status != cleeng.StatusCaptured {
			t.Fatalf("initial-payment: %d %+v", code, env)
		}
		e.assertCapturedOnce(o.ID, p.Payment)
		// The SDK again, and the /v1 API, for the same order: one charge.
		if code, _, again := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardMastercard, "Matthew Brown"), false)); code != http.StatusOK || again.Payment == nil || again.Payment.ID != p.Payment.ID {
			t.Fatalf("initial-payment again: %d %+v, want the first payment", code, again)
		}
		if v1 := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardAmex, "Matthew Brown")); v1.PaymentID != p.Payment.ID {
			t.Fatalf("/v1/checkout/payments for the same order: %+v, want the SDK's payment %s", v1, p.Payment.ID)
		}
		e.assertCapturedOnce(o.ID, p.Payment)
	})

	t.Run("paid through /v1 first, then the SDK: one charge", func(t *testing.T) {
		o := e.order("DE", stack.DemoOffer.ID)
		v1 := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
		code, _, p := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"), false))
		if code != http.StatusOK || p.Payment == nil || p.Payment.ID != v1.PaymentID {
			t.Fatalf("SDK after /v1: %d %+v, want /v1's payment %s", code, p, v1.PaymentID)
		}
		e.assertCapturedOnce(o.ID, p.Payment)
	})

	t.Run("3-D Secure in the page: action, then finalize", func(t *testing.T) {
		o := e.order("DE", stack.DemoOffer.ID)
		code, _, first := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa3DS, "Matthew Brown"), false))
		var action struct{ Type string }
		if err := json.Unmarshal(first.Action, &action); code != http.StatusOK || err != nil || action.Type != "threeDS2" {
			t.Fatalf("initial-payment: %d %+v, want a threeDS2 action", code, first)
		}
		details, err := adyensandbox.ThreeDSResult(first.Action, true)
		if err != nil {
			t.Fatal(err)
		}
		code, env, done := e.sdkPay("initial-payment/finalize", map[string]any{"orderId": json.Number(o.ID), "details": details})
		if code != http.StatusOK || len(env.Errors) != 0 || done.Payment == nil {
			t.Fatalf("finalize: %d %+v", code, env)
		}
		e.assertCapturedOnce(o.ID, done.Payment)
	})

	for _, c := range []struct {
		name, country string
		method        json.RawMessage
		redirect3DS   bool
	}{
		{"3-D Secure on the issuer's page (enable3DSRedirectFlow)", "DE", adyensandbox.EncryptedCardMethod(adyensandbox.CardMC3DS, "Matthew Brown"), true},
		{"iDEAL, a redirect method", "NL", adyensandbox.IdealMethod("1121"), false},
	} {
		t.Run(c.name+": redirect, back through finalize with redirectResult", func(t *testing.T) {
			o := e.order(c.country, stack.DemoOffer.ID)
			code, _, first := e.sdkPay("initial-payment", e.dropInState(o.ID, c.method, c.redirect3DS))
			var action struct{ Type, URL string }
			if err := json.Unmarshal(first.Action, &action); code != http.StatusOK || err != nil || action.Type != "redirect" || action.URL == "" {
				t.Fatalf("initial-payment: %d %+v, want a redirect action", code, first)
			}
			details, err := adyensandbox.RedirectResult(first.Action, true)
			if err != nil {
				t.Fatal(err)
			}
			code, env, done := e.sdkPay("initial-payment/finalize", map[string]any{"orderId": json.Number(o.ID), "details": details})
			if code != http.StatusOK || done.Payment == nil {
				t.Fatalf("finalize: %d %+v", code, env)
			}
			e.assertCapturedOnce(o.ID, done.Payment)
		})
	}

	t.Run("refused: a message the shopper can act on, Cleeng rejected", func(t *testing.T) {
		o := e.order("DE", stack.DemoOffer.ID)
		code, env, _ := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, adyensandbox.HolderNotEnoughBalance), false))
		if code != http.StatusUnprocessableEntity || env.Code != "refused" || len(env.Errors) != 1 || env.Errors[0] != "The card has insufficient funds. Use another card." {
			t.Fatalf("refused: %d %+v", code, env)
		}
		var rejected int
		for _, p := range e.dev.Cleeng.State().Payments {
			if p.OrderID == o.ID && p.Status == cleeng.StatusRejected {
				rejected++
			}
		}
		if rejected != 1 {
			t.Fatalf("%d rejected Cleeng payments of order %s, want 1", rejected, o.ID)
		}
	})

	t.Run("pending until the notification: pending, then the payment", func(t *testing.T) {
		o := e.order("DE", stack.DemoOffer.ID)
		code, _, first := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, adyensandbox.HolderPending), false))
		if (code != http.StatusOK && code != http.StatusAccepted) || first.Payment == nil {
			t.Fatalf("initial-payment: %d %+v", code, first)
		}
		settled := e.settled(o.ID)
		if settled.Status != "captured" {
			t.Fatalf("settled %+v", settled)
		}
		code, _, again := e.sdkPay("initial-payment", e.dropInState(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, adyensandbox.HolderPending), false))
		if code != http.StatusOK || again.Payment == nil {
			t.Fatalf("initial-payment once settled: %d %+v, want the payment", code, again)
		}
		e.assertCapturedOnce(o.ID, again.Payment)
	})
}

func TestMediaStore_CardUpdateInMyAccount(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	update := map[string]any{
		"paymentMethod":   json.RawMessage(adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa3DS, "Matthew Brown")),
		"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen),
		"browserInfo":     map[string]any{"acceptHeader": "*/*", "colorDepth": 24, "language": "en-US", "javaEnabled": false, "screenHeight": 900, "screenWidth": 1440, "timeZoneOffset": -60, "userAgent": "Mozilla/5.0"},
		"billingAddress":  map[string]string{"street": "Simon Carmiggeltstraat", "houseNumberOrName": "6-50", "postalCode": "1011DJ", "city": "Amsterdam", "country": "NL"},
		"origin":          e.dev.IngressURL,
		"returnUrl":       e.dev.IngressURL + "/my-account?paymentMethodId=" + stack.DevPaymentMethodAdyen,
	}
	code, env, raw := e.sdk("payment-details", update)
	var first struct{ Action json.RawMessage }
	if err := json.Unmarshal(env.ResponseData, &first); code != http.StatusOK || err != nil || len(first.Action) == 0 {
		t.Fatalf("payment-details: %d %s, want an action", code, raw)
	}
	details, err := adyensandbox.ThreeDSResult(first.Action, true)
	if err != nil {
		t.Fatal(err)
	}
	code, env, raw = e.sdk("payment-details/finalize", map[string]any{"details": details, "paymentMethodId": json.Number(stack.DevPaymentMethodAdyen)})
	var fresh struct {
		ID     cleeng.ID
		Active bool
	}
	if err := json.Unmarshal(env.ResponseData, &fresh); code != http.StatusOK || err != nil || fresh.ID == "" || !fresh.Active {
		t.Fatalf("payment-details/finalize: %d %s, want the new details", code, raw)
	}
	if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.PaymentDetailsID != fresh.ID {
		t.Errorf("subscription on details %s, want the new %s", s.PaymentDetailsID, fresh.ID)
	}
	// Nothing waits any more: a second finalize finds no update.
	if code, env, _ := e.sdk("payment-details/finalize", map[string]any{"details": details}); code != http.StatusOK && code != http.StatusNotFound {
		t.Errorf("finalize again: %d %+v", code, env)
	}
}
