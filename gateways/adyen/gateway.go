package adyen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	adyenapi "github.com/adyen/adyen-go-api-library/v9/src/adyen"
	"github.com/adyen/adyen-go-api-library/v9/src/checkout"
	"github.com/adyen/adyen-go-api-library/v9/src/common"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
)

// Name is the gateway's name in configuration, events and subjects.
const Name = "adyen"

// Gateway is the Adyen implementation of gateways.Gateway. It is safe for
// concurrent use.
type Gateway struct {
	cfg Config
	api *checkout.APIClient
}

var _ gateways.Gateway = (*Gateway)(nil)

// New validates cfg and builds the gateway.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	env := common.TestEnv
	if cfg.Environment == "live" {
		env = common.LiveEnv
	}
	client := adyenapi.NewClient(&common.Config{
		ApiKey:                cfg.APIKey,
		Environment:           env,
		LiveEndpointURLPrefix: cfg.LivePrefix,
		HTTPClient:            cfg.HTTPClient,
		Debug:                 false, // Debug logs whole bodies, card data included.
	})
	if cfg.CheckoutURL != "" {
		// NewClient overwrites CheckoutEndpoint: set it afterwards.
		client.GetConfig().CheckoutEndpoint = strings.TrimSuffix(cfg.CheckoutURL, "/")
	}
	return &Gateway{cfg: cfg, api: client.Checkout()}, nil
}

// Name returns "adyen".
func (g *Gateway) Name() string { return Name }

// Capabilities: Adyen does everything the flows ask for.
func (g *Gateway) Capabilities() gateways.Capabilities {
	return gateways.Capabilities{
		SeparateCapture: true,
		ZeroAmountAuth:  true,
		Refund:          true,
		Cancel:          true,
		DeleteToken:     true,
		ShopperActions:  true,
		IdempotencyKeys: true,
	}
}

// Pay sends /payments: a first payment (front-end data in PaymentMethod,
// Ecommerce) or a merchant-initiated renewal with the stored token (ContAuth).
// Both use the Subscription recurring model when a token is stored or used.
func (g *Gateway) Pay(ctx context.Context, req gateways.PayRequest) (gateways.Result, error) {
	key, err := idempotencyKey(req.IdempotencyKey)
	if err != nil {
		return gateways.Result{}, err
	}
	body, err := g.paymentBody(req)
	if err != nil {
		return gateways.Result{}, err
	}
	resp, err := send(ctx, g, "adyen payment "+req.Reference, func(ctx context.Context) (checkout.PaymentResponse, *http.Response, error) {
		return g.payments(ctx, key, body)
	})
	if err != nil {
		return gateways.Result{}, err
	}
	return paymentResult(response{
		resultCode:     resp.GetResultCode(),
		pspReference:   resp.GetPspReference(),
		refusalReason:  resp.GetRefusalReason(),
		additionalData: resp.GetAdditionalData(),
		method:         resp.GetPaymentMethod(),
		action:         resp.Action,
		amount:         resp.Amount,
	}, settle{authoriseOnly: req.AuthoriseOnly, merchantInitiated: req.Token != ""})
}

// paymentBody is the JSON body of a /payments call, encoded as the
// library encodes it (json.Encoder) but on a goroutine of its own
// (encodeAside): the library's models encode through a map per nested
// object and json.Marshal again for each (ToMap), copying the 928-byte
// PaymentRequest three times on the way, about 8.5 KB of stack for a
// renewal's request. Pay runs 7 KB deep in a worker's handler, and a
// handler whose stack once went past 16 KB keeps 32 KB for as long as it
// works without a pause: the collector halves a stack only when less than
// a quarter is in use, and a handler waiting on the gateway's answer
// uses 12 KB. Encoded aside, that depth is a short-lived goroutine's, and
// a handler in flight holds 16 KB (DESIGN section 10).
func (g *Gateway) paymentBody(req gateways.PayRequest) ([]byte, error) {
	preq, err := g.paymentRequest(req)
	if err != nil {
		return nil, err
	}
	body, err := encodeAside(&preq)
	if err != nil {
		return nil, failure.Permanent(fmt.Errorf("adyen payment %s: encoding the request: %w", req.Reference, err))
	}
	return body, nil
}

// encodeAside encodes v with a json.Encoder, as the library's requests
// are, on a goroutine that ends with the encoding, so the stack the
// encoding takes is that goroutine's, not the caller's. A panic in a
// model's MarshalJSON is returned as an error, as the worker runtime would
// have made it on the caller's goroutine.
func encodeAside(v any) ([]byte, error) {
	type encoded struct {
		body []byte
		err  error
	}
	done := make(chan encoded, 1)
	go func() {
		var e encoded
		defer func() {
			if p := recover(); p != nil {
				e.err = fmt.Errorf("panic: %v", p)
			}
			done <- e
		}()
		var buf bytes.Buffer
		e.err = json.NewEncoder(&buf).Encode(v)
		e.body = buf.Bytes()
	}()
	e := <-done
	return e.body, e.err
}

// payments is the library's PaymentsApi.Payments with the body already
// encoded (paymentBody): the same request (path, headers, idempotency
// key), sent, answered and decoded by the library's client.
func (g *Gateway) payments(ctx context.Context, key string, body []byte) (checkout.PaymentResponse, *http.Response, error) {
	var res checkout.PaymentResponse
	api := g.api.PaymentsApi
	headers := map[string]string{}
	common.ParameterAddToHeaderOrQuery(headers, "Idempotency-Key", &key, "")
	httpRes, err := common.SendAPIRequest(ctx, api.Client, body, &res, http.MethodPost, api.BasePath()+"/payments", url.Values{}, headers)
	return res, httpRes, err
}

func (g *Gateway) paymentRequest(req gateways.PayRequest) (checkout.PaymentRequest, error) {
	amount, err := minorAmount(req.Amount)
	if err != nil {
		return checkout.PaymentRequest{}, err
	}
	returnURL := req.ReturnURL
	if returnURL == "" {
		returnURL = g.cfg.ReturnURL
	}
	preq := checkout.PaymentRequest{
		Amount:          amount,
		MerchantAccount: g.cfg.MerchantAccount,
		Reference:       req.Reference,
		ReturnUrl:       returnURL,
	}
	if req.ShopperReference != "" {
		preq.ShopperReference = common.PtrString(req.ShopperReference)
	}
	if req.AuthoriseOnly {
		preq.AdditionalData = &map[string]string{"manualCapture": "true"}
	}
	if len(req.Metadata) > 0 {
		md := make(map[string]string, len(req.Metadata))
		for k, v := range req.Metadata {
			md[k] = v
		}
		preq.Metadata = &md
	}
	if req.Token != "" {
		if len(req.ShopperReference) < 3 {
			return preq, failure.Permanentf("adyen payment %s: a renewal needs a shopper reference of at least 3 characters", req.Reference)
		}
		pm, err := storedMethod(req.Token)
		if err != nil {
			return preq, fmt.Errorf("adyen payment %s: %w", req.Reference, err)
		}
		preq.PaymentMethod = pm
		preq.ShopperInteraction = common.PtrString("ContAuth")
		preq.RecurringProcessingModel = common.PtrString("Subscription")
		return preq, nil
	}
	pm, err := paymentMethod(req.PaymentMethod)
	if err != nil {
		return preq, fmt.Errorf("adyen payment %s: %w", req.Reference, err)
	}
	preq.PaymentMethod = pm
	preq.ShopperInteraction = common.PtrString("Ecommerce")
	if req.StoreToken {
		if len(req.ShopperReference) < 3 {
			return preq, failure.Permanentf("adyen payment %s: storing a token needs a shopper reference of at least 3 characters", req.Reference)
		}
		preq.StorePaymentMethod = common.PtrBool(true)
		preq.RecurringProcessingModel = common.PtrString("Subscription")
	}
	if req.ShopperIP != "" {
		preq.ShopperIP = common.PtrString(req.ShopperIP)
	}
	if req.Origin != "" {
		preq.Origin = common.PtrString(req.Origin)
	}
	if len(req.BrowserInfo) > 0 {
		var bi checkout.BrowserInfo
		if err := json.Unmarshal(req.BrowserInfo, &bi); err != nil {
			return preq, failure.Permanentf("adyen payment %s: browserInfo: %v", req.Reference, err)
		}
		preq.BrowserInfo = &bi
	}
	if len(req.BillingAddress) > 0 {
		var ba checkout.BillingAddress
		if err := json.Unmarshal(req.BillingAddress, &ba); err != nil {
			// The error names the field, never its value (an address).
			return preq, failure.Permanentf("adyen payment %s: billingAddress: not Adyen's address object", req.Reference)
		}
		preq.BillingAddress = &ba
	}
	if !req.RedirectThreeDS {
		// Since Checkout API v69 Adyen redirects to the issuer unless the
		// request prefers the in-page (native) 3-D Secure, which Drop-in
		// handles with its threeDS2 action.
		preq.AuthenticationData = &checkout.AuthenticationData{
			ThreeDSRequestData: &checkout.ThreeDSRequestData{NativeThreeDS: common.PtrString("preferred")},
		}
	}
	return preq, nil
}

// CompleteAction sends /payments/details with the shopper action's result
// (3-D Secure, redirect).
func (g *Gateway) CompleteAction(ctx context.Context, req gateways.ActionRequest) (gateways.Result, error) {
	key, err := idempotencyKey(req.IdempotencyKey)
	if err != nil {
		return gateways.Result{}, err
	}
	var details checkout.PaymentCompletionDetails
	if err := json.Unmarshal(req.Details, &details); err != nil {
		return gateways.Result{}, failure.Permanentf("adyen payment details: malformed details")
	}
	dreq := checkout.PaymentDetailsRequest{Details: details}
	if req.PaymentData != "" {
		dreq.PaymentData = common.PtrString(req.PaymentData)
	}
	resp, err := send(ctx, g, "adyen payment details", func(ctx context.Context) (checkout.PaymentDetailsResponse, *http.Response, error) {
		return g.api.PaymentsApi.PaymentsDetails(ctx,
			g.api.PaymentsApi.PaymentsDetailsInput().IdempotencyKey(key).PaymentDetailsRequest(dreq))
	})
	if err != nil {
		return gateways.Result{}, err
	}
	return paymentResult(response{
		resultCode:     resp.GetResultCode(),
		pspReference:   resp.GetPspReference(),
		refusalReason:  resp.GetRefusalReason(),
		additionalData: resp.GetAdditionalData(),
		method:         resp.GetPaymentMethod(),
		amount:         resp.Amount,
	}, settle{authoriseOnly: req.AuthoriseOnly})
}

// Capture sends /payments/{psp}/captures; confirmed by CAPTURE or
// CAPTURE_FAILED.
func (g *Gateway) Capture(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	amount, err := minorAmount(req.Amount)
	if err != nil {
		return gateways.Result{}, err
	}
	creq := checkout.PaymentCaptureRequest{Amount: amount, MerchantAccount: g.cfg.MerchantAccount, Reference: optional(req.Reference)}
	return modify(ctx, g, "capture", req, func(ctx context.Context, api *checkout.ModificationsApi, key string) (checkout.PaymentCaptureResponse, *http.Response, error) {
		return api.CaptureAuthorisedPayment(ctx,
			api.CaptureAuthorisedPaymentInput(req.PaymentReference).IdempotencyKey(key).PaymentCaptureRequest(creq))
	})
}

// Refund sends /payments/{psp}/refunds; confirmed by REFUND or REFUND_FAILED.
func (g *Gateway) Refund(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	amount, err := minorAmount(req.Amount)
	if err != nil {
		return gateways.Result{}, err
	}
	rreq := checkout.PaymentRefundRequest{Amount: amount, MerchantAccount: g.cfg.MerchantAccount, Reference: optional(req.Reference)}
	return modify(ctx, g, "refund", req, func(ctx context.Context, api *checkout.ModificationsApi, key string) (checkout.PaymentRefundResponse, *http.Response, error) {
		return api.RefundCapturedPayment(ctx,
			api.RefundCapturedPaymentInput(req.PaymentReference).IdempotencyKey(key).PaymentRefundRequest(rreq))
	})
}

// Cancel sends /payments/{psp}/cancels; confirmed by CANCELLATION.
func (g *Gateway) Cancel(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	creq := checkout.PaymentCancelRequest{MerchantAccount: g.cfg.MerchantAccount, Reference: optional(req.Reference)}
	return modify(ctx, g, "cancel", req, func(ctx context.Context, api *checkout.ModificationsApi, key string) (checkout.PaymentCancelResponse, *http.Response, error) {
		return api.CancelAuthorisedPaymentByPspReference(ctx,
			api.CancelAuthorisedPaymentByPspReferenceInput(req.PaymentReference).IdempotencyKey(key).PaymentCancelRequest(creq))
	})
}

// modificationAnswer is what Adyen's capture, refund and cancel answers have
// in common (their getters have pointer receivers, hence *A).
type modificationAnswer[A any] interface {
	*A
	GetStatus() string
	GetPspReference() string
}

// modify sends one modification of the payment req.PaymentReference with
// op. Adyen answers 201 "received"; the outcome arrives later as a
// notification.
func modify[A any, P modificationAnswer[A]](ctx context.Context, g *Gateway, what string, req gateways.ModifyRequest,
	op func(ctx context.Context, api *checkout.ModificationsApi, key string) (A, *http.Response, error)) (gateways.Result, error) {
	key, err := idempotencyKey(req.IdempotencyKey)
	if err != nil {
		return gateways.Result{}, err
	}
	if req.PaymentReference == "" {
		return gateways.Result{}, failure.Permanentf("adyen %s: payment reference is required", what)
	}
	answer, err := send(ctx, g, "adyen "+what+" "+req.PaymentReference, func(ctx context.Context) (A, *http.Response, error) {
		return op(ctx, g.api.ModificationsApi, key)
	})
	if err != nil {
		return gateways.Result{}, err
	}
	return received(what, P(&answer).GetStatus(), P(&answer).GetPspReference())
}

// DeleteToken deletes a stored payment method. A token that is already gone
// (errorCode 800, "Contract not found") counts as deleted, so a retry after a
// lost answer succeeds.
func (g *Gateway) DeleteToken(ctx context.Context, req gateways.TokenRequest) error {
	if req.Token == "" || req.ShopperReference == "" {
		return failure.Permanentf("adyen delete token: token and shopper reference are required")
	}
	_, id := parseToken(req.Token)
	err := g.call(ctx, "adyen delete token", func(ctx context.Context) (*http.Response, error) {
		api := g.api.RecurringApi
		return api.DeleteTokenForStoredPaymentDetails(ctx,
			api.DeleteTokenForStoredPaymentDetailsInput(id).
				ShopperReference(req.ShopperReference).MerchantAccount(g.cfg.MerchantAccount))
	})
	var apiErr common.APIError
	if err != nil && errors.As(err, &apiErr) && apiErr.Code == "800" {
		return nil
	}
	return err
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
