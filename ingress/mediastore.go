package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	"github.com/cleeng-connector/connector/internal/messages"
)

// mediaStorePrefix is where Cleeng's MediaStore SDK calls its hosted Adyen
// connector: a reverse proxy routes it here and the rest of the MediaStore
// API to Cleeng, and the broadcaster's checkout runs unchanged.
const mediaStorePrefix = "/connectors/adyen/"

// MediaStoreConfig is what the Adyen endpoints of Cleeng's MediaStore SDK
// tell Drop-in besides the payment methods.
type MediaStoreConfig struct {
	// ClientKey is Adyen's client key for the front-end (ADYEN_CLIENT_KEY).
	ClientKey string
	// Region is Adyen's front-end environment (ADYEN_CLIENT_REGION).
	Region string
	// ShopperStatement is the merchant name wallets show (Apple Pay, Google Pay).
	ShopperStatement string
}

// clientRegions are Adyen Web's environments.
var clientRegions = []string{"test", "live", "live-us", "live-au", "live-apse", "live-in"}

var clientKeyPattern = regexp.MustCompile(`^(test|live)_[A-Za-z0-9]{8,64}$`)

// Check says what is wrong with a configuration that sets the client key or
// the region: both are needed, the key must look like Adyen's, and a test
// key goes with the test region only. Neither set is allowed: the
// payment-methods call then answers an error naming the variables.
func (m MediaStoreConfig) Check() error {
	switch {
	case m.ClientKey == "" && m.Region == "":
		return nil
	case !clientKeyPattern.MatchString(m.ClientKey):
		return errors.New("ADYEN_CLIENT_KEY: want Adyen's client key, test_… or live_… (Customer Area, API credentials)")
	case !slices.Contains(clientRegions, m.Region):
		return errors.New("ADYEN_CLIENT_REGION: want one of " + strings.Join(clientRegions, ", "))
	case strings.HasPrefix(m.ClientKey, "test_") != (m.Region == "test"):
		return errors.New("ADYEN_CLIENT_REGION: a test_ client key goes with the test region, a live_ key with a live one")
	}
	return nil
}

// mountMediaStore registers the five calls of the SDK's Adyen checkout.
// Each is a /v1 call seen through the SDK's envelope: the same commands,
// operation keys and sync wait, so an order paid here and through
// /v1/checkout/payments is one operation and one charge.
func (c *checkout) mountMediaStore() {
	c.s.Handle("POST "+mediaStorePrefix+"payment-methods", c.mediaStore(asResponseData, c.sdkPaymentMethods))
	c.s.Handle("POST "+mediaStorePrefix+"initial-payment", c.mediaStore(paymentAnswer, c.sdkInitialPayment))
	c.s.Handle("POST "+mediaStorePrefix+"initial-payment/finalize", c.mediaStore(paymentAnswer, c.sdkFinalizePayment))
	c.s.Handle("POST "+mediaStorePrefix+"payment-details", c.mediaStore(detailsAnswer, c.sdkPaymentDetails))
	c.s.Handle("POST "+mediaStorePrefix+"payment-details/finalize", c.mediaStore(detailsAnswer, c.sdkFinalizeDetails))
}

// sdkAnswer is the SDK's envelope: responseData on success; on failure a
// non-2xx status, errors[0] a message the SDK shows, and a stable code.
// errors is always a list: the SDK reads its length.
type sdkAnswer struct {
	ResponseData any      `json:"responseData"`
	Errors       []string `json:"errors"`
	Code         string   `json:"code,omitempty"`
}

func sdkData(data any) sdkAnswer { return sdkAnswer{ResponseData: data} }

func sdkError(code, message string) sdkAnswer {
	return sdkAnswer{Errors: []string{message}, Code: code}
}

// translation turns a /v1 answer (2xx) into the SDK's.
type translation func(status int, body []byte) (int, sdkAnswer)

// mediaStore runs a handler that answers as /v1 does and answers its
// result in the SDK's envelope. Refusals before anything is stored (401,
// 400, 429, …) keep their status, code and message.
func (c *checkout) mediaStore(translate translation, handle http.HandlerFunc) http.Handler {
	return c.cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &capturedAnswer{header: http.Header{}, status: http.StatusOK}
		handle(rec, r)
		for _, h := range []string{"Retry-After", "WWW-Authenticate", "Location"} {
			if v := rec.header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		status, answer := rec.status, sdkAnswer{}
		if status >= http.StatusBadRequest {
			var e apiError
			_ = json.Unmarshal(rec.body.Bytes(), &e) // every error answer is an apiError
			answer = sdkError(e.Code, e.Error)
		} else {
			status, answer = translate(status, rec.body.Bytes())
		}
		if answer.Errors == nil {
			answer.Errors = []string{}
		}
		if answer.ResponseData == nil {
			answer.ResponseData = struct{}{}
		}
		writeJSON(w, status, answer)
	}))
}

// capturedAnswer keeps a handler's answer for its translation.
type capturedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *capturedAnswer) Header() http.Header         { return a.header }
func (a *capturedAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *capturedAnswer) WriteHeader(status int)      { a.status = status }

func asResponseData(status int, body []byte) (int, sdkAnswer) {
	return status, sdkData(json.RawMessage(body))
}

// paymentAnswer: the SDK hands {action} to Drop-in and passes {payment} (a
// Cleeng payment) on as its purchase event.
func paymentAnswer(status int, body []byte) (int, sdkAnswer) {
	if code, answer, ok := unsettled(status, body, map[string]any{"payment": map[string]string{"status": "pending"}}); ok {
		return code, answer
	}
	var out messages.CheckoutOutcome
	_ = json.Unmarshal(body, &out) // a 2xx answer is an outcome
	return http.StatusOK, sdkData(map[string]*cleeng.Payment{"payment": out.Payment})
}

// detailsAnswer: {action}, or the new payment details.
func detailsAnswer(status int, body []byte) (int, sdkAnswer) {
	if code, answer, ok := unsettled(status, body, map[string]string{"status": "pending"}); ok {
		return code, answer
	}
	var out messages.DetailsOutcome
	_ = json.Unmarshal(body, &out) // a 2xx answer is an outcome
	return http.StatusOK, sdkData(map[string]any{
		"id": out.PaymentDetailsID, "paymentMethodId": out.PaymentMethodID,
		"paymentMethodSpecificParams": out.PaymentMethodSpecificParams, "active": true,
	})
}

// unsettled answers what a purchase and a card update share: still
// running (202: the same call again answers the settled outcome, pending
// is what the SDK reads then), a shopper action, a refusal, a failure. ok
// is false for a success, which each call answers in its own shape.
func unsettled(status int, body []byte, pending any) (int, sdkAnswer, bool) {
	var out struct {
		Status, Code, RejectedReason string
		Action                       json.RawMessage
	}
	_ = json.Unmarshal(body, &out) // a 2xx answer is an outcome
	switch {
	case status == http.StatusAccepted:
		return http.StatusAccepted, sdkData(pending), true
	case out.Status == messages.StatusActionRequired:
		return http.StatusOK, sdkData(map[string]json.RawMessage{"action": out.Action}), true
	case out.Status == string(cleeng.StatusRejected):
		return http.StatusUnprocessableEntity, sdkError("refused", adyen.ShopperMessage(out.RejectedReason)), true
	case out.Status == messages.StatusFailed:
		code, answer := failedAnswer(out.Code)
		return code, answer, true
	}
	return 0, sdkAnswer{}, false
}

func failedAnswer(code string) (int, sdkAnswer) {
	switch code {
	case messages.OutcomeOrderNotFound:
		return http.StatusNotFound, sdkError(code, "no order of yours with this id")
	case messages.OutcomeMethodMismatch:
		return http.StatusUnprocessableEntity, sdkError(code, "this payment method does not pay for this order's paymentMethodId")
	}
	return http.StatusBadGateway, sdkError(messages.StatusFailed, "the payment could not be completed; contact support")
}

// sdkInitialPayment is the body of initial-payment: Drop-in's state.data
// with the order, and two fields of the SDK's own. captchaValue is taken
// and not checked: Cleeng's hosted connector checks it with its captcha
// service, which a broadcaster who wants one puts in front of the ingress.
type sdkInitialPayment struct {
	messages.PaymentCommand
	Enable3DSRedirectFlow bool   `json:"enable3DSRedirectFlow"`
	CaptchaValue          string `json:"captchaValue"`
}

func (c *checkout) sdkInitialPayment(w http.ResponseWriter, r *http.Request) {
	var body sdkInitialPayment
	if c.read(w, r, &body, &body.CustomerID) {
		body.RedirectThreeDS = body.RedirectThreeDS || body.Enable3DSRedirectFlow
		c.pay(w, r, body.PaymentCommand)
	}
}

func (c *checkout) sdkFinalizePayment(w http.ResponseWriter, r *http.Request) {
	var cmd messages.DetailsCommand
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.completePayment(w, r, cmd)
	}
}

func (c *checkout) sdkPaymentDetails(w http.ResponseWriter, r *http.Request) {
	var cmd messages.PaymentDetailsCommand
	if c.read(w, r, &cmd, &cmd.CustomerID) {
		c.updateDetails(w, r, cmd)
	}
}

// sdkFinalizeDetails completes the customer's card update that waits for
// the shopper: the SDK sends the action's result without naming the update
// (paymentMethodId, when sent, must be the update's).
func (c *checkout) sdkFinalizeDetails(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Details         json.RawMessage `json:"details"`
		PaymentMethodID int64           `json:"paymentMethodId"`
	}
	var customer int64
	if !c.read(w, r, &body, &customer) {
		return
	}
	if c.cfg.Outcomes == nil {
		writeError(w, http.StatusNotFound, "no card update of yours waits for these details", "")
		return
	}
	_, out, found, err := c.cfg.Outcomes.AwaitingShopper(r.Context(), messages.PaymentDetailsPrefix(customer))
	var update messages.DetailsOutcome
	_ = json.Unmarshal(out, &update) // a found outcome is an update's
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "cannot read the update now; retry", "")
		return
	case !found || body.PaymentMethodID != 0 && update.PaymentMethodID.String() != strconv.FormatInt(body.PaymentMethodID, 10):
		writeError(w, http.StatusNotFound, "no card update of yours waits for these details", "")
		return
	}
	c.completeUpdate(w, r, messages.PaymentDetailsActionCommand{CustomerID: customer, RequestID: update.RequestID, Details: body.Details})
}

// sdkPaymentMethods answers Drop-in's configuration: the payment methods
// the workers list for the customer's order ({orderId}) or for new payment
// details ({}), with the client key, region and statement.
func (c *checkout) sdkPaymentMethods(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OrderID int64 `json:"orderId"`
	}
	var customer int64
	if !c.read(w, r, &body, &customer) || !valid(w, rule{body.OrderID >= 0, "orderId", "a positive integer (none: for new payment details)"}) {
		return
	}
	dropIn := c.cfg.MediaStore
	if dropIn.ClientKey == "" {
		writeError(w, http.StatusServiceUnavailable, "Drop-in is not configured here: set ADYEN_CLIENT_KEY and ADYEN_CLIENT_REGION", "")
		return
	}
	release, ok := c.admit(w)
	if !ok {
		return
	}
	defer release()
	answer, err := c.askPaymentMethods(r.Context(), messages.PaymentMethodsQuery{Gateway: adyen.Name, CustomerID: customer, OrderID: body.OrderID})
	switch {
	case err != nil:
		c.s.cfg.Logger.Warn().Err(err).Msg("payment methods: no worker answered")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "payment methods cannot be listed now; retry", "")
	case answer.Code == messages.OutcomeOrderNotFound:
		writeCodedError(w, http.StatusNotFound, answer.Code, answer.Error)
	case answer.Code == messages.QueryNotPossible:
		writeCodedError(w, http.StatusUnprocessableEntity, answer.Code, answer.Error)
	case answer.Code != "":
		writeError(w, http.StatusServiceUnavailable, answer.Error, "")
	default:
		writeJSON(w, http.StatusOK, dropInConfig{Amount: answer.Amount, CountryCode: answer.CountryCode, PaymentMethods: answer.PaymentMethods,
			ClientKey: dropIn.ClientKey, Region: dropIn.Region, ShopperStatement: dropIn.ShopperStatement})
	}
}

// dropInConfig is the payment-methods answer the SDK builds Drop-in from.
type dropInConfig struct {
	Amount           *gateways.MinorAmount    `json:"amount"`
	CountryCode      string                   `json:"countryCode,omitempty"`
	ClientKey        string                   `json:"clientKey"`
	PaymentMethods   []gateways.PaymentMethod `json:"paymentMethods"`
	Region           string                   `json:"region"`
	ShopperStatement string                   `json:"shopperStatement,omitempty"`
}

// queryWait bounds a query when the checkout has no sync wait.
const queryWait = 5 * time.Second

// askPaymentMethods asks a worker (NATS request-reply) within the sync wait.
func (c *checkout) askPaymentMethods(ctx context.Context, q messages.PaymentMethodsQuery) (messages.PaymentMethodsAnswer, error) {
	wait := c.cfg.SyncWait
	if wait <= 0 {
		wait = queryWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	request, err := json.Marshal(q)
	if err != nil {
		return messages.PaymentMethodsAnswer{}, err
	}
	// No worker subscribed yet (one starting, a rolling restart): ask
	// again within the wait rather than answer 503 at once.
	retry := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithInitialInterval(10*time.Millisecond),
		backoff.WithMaxInterval(250*time.Millisecond), backoff.WithMaxElapsedTime(0)), ctx)
	reply, err := backoff.RetryWithData(func() (*nats.Msg, error) {
		reply, err := c.s.js.Conn().RequestMsgWithContext(ctx, &nats.Msg{Subject: messages.SubjectQueryPaymentMethods, Data: request})
		if err != nil && !errors.Is(err, nats.ErrNoResponders) {
			return nil, backoff.Permanent(err)
		}
		return reply, err
	}, retry)
	if err != nil {
		return messages.PaymentMethodsAnswer{}, err
	}
	var answer messages.PaymentMethodsAnswer
	return answer, json.Unmarshal(reply.Data, &answer)
}
