package ingress_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// sdkAnswer decodes the MediaStore SDK's envelope of an answer.
func sdkAnswer(t *testing.T, resp *http.Response) (errors []string, code string) {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		ResponseData json.RawMessage `json:"responseData"`
		Errors       []string        `json:"errors"`
		Code         string          `json:"code"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.ResponseData == nil || env.Errors == nil {
		t.Fatalf("%d %s: not the SDK's envelope", resp.StatusCode, raw)
	}
	return env.Errors, env.Code
}

// Refusals before anything is stored keep their status and code, in the
// SDK's envelope, and store nothing.
func TestMediaStore_RefusalsAnsweredInTheSDKsEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, path, body, token string
		status                  int
		code                    string
	}{
		{"no token", "initial-payment", `{"orderId":1}`, "", http.StatusUnauthorized, "unauthenticated"},
		{"orderId not a number", "initial-payment", `{"orderId":"x","paymentMethod":{"type":"scheme"}}`, e.token, http.StatusBadRequest, "invalid_request"},
		{"a stored card named", "initial-payment", `{"orderId":1,"paymentMethod":{"type":"scheme","storedPaymentMethodId":"8415"}}`, e.token, http.StatusBadRequest, "invalid_request"},
		{"returnUrl elsewhere", "initial-payment", `{"orderId":1,"paymentMethod":{"type":"scheme"},"returnUrl":"https://evil.example/"}`, e.token, http.StatusBadRequest, "invalid_request"},
		{"finalize without details", "initial-payment/finalize", `{"orderId":1}`, e.token, http.StatusBadRequest, "invalid_request"},
		{"finalize of nothing", "initial-payment/finalize", `{"orderId":1,"details":{"redirectResult":"x"}}`, e.token, http.StatusNotFound, "not_found"},
		{"card update finalize of nothing", "payment-details/finalize", `{"details":{"threeDSResult":"x"}}`, e.token, http.StatusNotFound, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/connectors/adyen/"+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			errs, code := sdkAnswer(t, resp)
			if resp.StatusCode != c.status || code != c.code || len(errs) != 1 || errs[0] == "" {
				t.Fatalf("%d %q %v, want %d %q with a message", resp.StatusCode, code, errs, c.status, c.code)
			}
		})
	}
	if n := e.stored(); n != 0 {
		t.Fatalf("%d messages stored by refused calls, want 0", n)
	}
}

func TestMediaStore_PaymentMethodsWithoutClientKeyNamesTheVariable(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no MediaStoreConfig
	resp, err := e.do(http.MethodPost, "/connectors/adyen/payment-methods", `{"orderId":1}`)
	if err != nil {
		t.Fatal(err)
	}
	errs, _ := sdkAnswer(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || len(errs) != 1 || !strings.Contains(errs[0], "ADYEN_CLIENT_KEY") {
		t.Fatalf("%d %v, want 503 naming ADYEN_CLIENT_KEY", resp.StatusCode, errs)
	}
}

// A payment-methods call that finds no worker yet (one starting, a
// rolling restart) asks again within its wait, and is answered by the
// worker that subscribes meanwhile.
func TestMediaStore_PaymentMethodsWaitForAWorkerToAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *ingress.CheckoutConfig) {
		c.SyncWait = time.Minute
		c.MediaStore = ingress.MediaStoreConfig{ClientKey: "test_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", Region: "test"}
	})
	asked := e.broker.Conn.Stats().OutMsgs
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := e.do(http.MethodPost, "/connectors/adyen/payment-methods", `{}`)
		if err != nil {
			t.Error(err)
		}
		answered <- resp
	}()
	// The ingress asked and found no worker; then one starts.
	testkit.Eventually(t, 30*time.Second, "the ingress asked the workers", func() bool {
		return e.broker.Conn.Stats().OutMsgs > asked
	})
	worker, err := e.broker.Conn.QueueSubscribe(messages.SubjectQueryPaymentMethods, messages.QueryWorkers, func(m *nats.Msg) {
		_ = m.Respond([]byte(`{"amount":{"value":0,"currency":"EUR"},"paymentMethods":[{"type":"scheme","name":"Cards"}]}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Unsubscribe()
	resp := <-answered
	if resp == nil {
		return
	}
	errs, _ := sdkAnswer(t, resp)
	if resp.StatusCode != http.StatusOK || len(errs) != 0 {
		t.Fatalf("%d %v, want the worker's answer", resp.StatusCode, errs)
	}
}

func TestMediaStoreConfig_CheckNamesTheVariable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  ingress.MediaStoreConfig
		want string // the variable the error names; "" for none
	}{
		{"neither: the call answers why", ingress.MediaStoreConfig{}, ""},
		{"test key, test region", ingress.MediaStoreConfig{ClientKey: "test_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", Region: "test"}, ""},
		{"live key, US region", ingress.MediaStoreConfig{ClientKey: "live_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", Region: "live-us"}, ""},
		{"key without region", ingress.MediaStoreConfig{ClientKey: "test_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW"}, "ADYEN_CLIENT_REGION"},
		{"region without key", ingress.MediaStoreConfig{Region: "test"}, "ADYEN_CLIENT_KEY"},
		{"an API key instead", ingress.MediaStoreConfig{ClientKey: "AQEyhmfxK4", Region: "test"}, "ADYEN_CLIENT_KEY"},
		{"unknown region", ingress.MediaStoreConfig{ClientKey: "test_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", Region: "eu"}, "ADYEN_CLIENT_REGION"},
		{"test key, live region", ingress.MediaStoreConfig{ClientKey: "test_L6HTEOAXQBCZJHKNU4NLN6EI7IE6VRRW", Region: "live"}, "ADYEN_CLIENT_REGION"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Check()
			if (err == nil) != (c.want == "") || err != nil && !strings.HasPrefix(err.Error(), c.want+": ") {
				t.Fatalf("Check() = %v, want an error naming %q", err, c.want)
			}
		})
	}
}
