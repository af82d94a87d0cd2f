package containertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestConnectorImage_ServesHealthAndStoresWebhooks runs the connector image
// as an ingress and a worker, and the sandbox image, against the cluster, as
// docker-compose.yml does: the ingress is healthy and ready, a purchase is
// captured, every Adyen call and notification conforms to Adyen's OpenAPI
// documents (the sandbox checks them), and the Adyen notifications it
// caused were stored by the ingress (it answers only after JetStream has
// them).
// composeDunningMaxAhead is docker-compose.yml's CLEENG_DUNNING_MAX_AHEAD.
const composeDunningMaxAhead = "720h"

func TestConnectorImage_ServesHealthAndStoresWebhooks(t *testing.T) {
	ctx := setup(t)
	cl := StartCluster(ctx, t)
	sandbox := cl.RunConnector(ctx, t, Connector{
		Image: SandboxImage, Command: []string{"sandbox"}, Alias: "sandbox", Ports: []string{SandboxPort},
		Env:   map[string]string{"SANDBOX_INGRESS_URL": "http://ingress:8080", "SANDBOX_ADYEN_CONTRACT": "true"},
		Ready: wait.ForHTTP("/cleeng/sandbox/state").WithPort(SandboxPort),
	})
	ingress := cl.RunConnector(ctx, t, Connector{
		Command: []string{"ingress"}, Alias: "ingress", Ports: []string{IngressPort},
		Env: map[string]string{
			"INGRESS_ADDR": ":8080", "CLEENG_PUBLISHER_ID": stack.DevPublisherID, "CLEENG_WEBHOOK_SECRET": string(stack.DevWebhookSecret),
			"CLEENG_JWKS_URL": "http://sandbox:8090/cleeng/.well-known/jwks.json",
			"ADYEN_HMAC_KEYS": stack.DevHMACKey, "ADYEN_WEBHOOK_USERNAME": stack.DevWebhookUser, "ADYEN_WEBHOOK_PASSWORD": stack.DevWebhookPassword,
			"PAYMENT_METHODS": stack.DevPaymentMethodAdyen + "=adyen",
			// As docker-compose.yml: the sandbox dates dunning attempts on
			// due dates weeks ahead.
			"CLEENG_DUNNING_MAX_AHEAD": composeDunningMaxAhead,
		},
		Ready: wait.ForHTTP("/readyz").WithPort(IngressPort),
	})
	cl.RunConnector(ctx, t, Connector{
		Command: []string{"worker"}, Alias: "worker",
		Env: map[string]string{
			"CLEENG_API_URL": "http://sandbox:8090/cleeng/3.1", "CLEENG_PUBLISHER_TOKEN": stack.DevPublisherToken,
			"ADYEN_API_KEY": stack.DevAdyenAPIKey, "ADYEN_MERCHANT_ACCOUNT": stack.DevMerchantAccount,
			"ADYEN_CHECKOUT_URL": "http://sandbox:8090/adyen/v71", "ADYEN_RETURN_URL": "http://ingress:8080/return",
			"PAYMENT_METHODS": stack.DevPaymentMethodAdyen + "=adyen",
		},
		Ready: wait.ForLog("worker running"),
	})
	ingressURL := endpoint(ctx, t, ingress, IngressPort)
	sandboxURL := endpoint(ctx, t, sandbox, SandboxPort)
	probe := contractViolation(ctx, t, sandboxURL)

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := call(ctx, t, http.MethodGet, ingressURL+path, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}

	client, err := cleeng.NewClient(cleeng.Config{BaseURL: sandboxURL + "/cleeng/3.1", PublisherToken: stack.DevPublisherToken})
	if err != nil {
		t.Fatal(err)
	}
	order, err := client.CreateOrder(ctx, cleeng.CreateOrderRequest{
		CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID, Currency: "EUR", Country: "DE",
		PaymentMethodID: stack.DevPaymentMethodAdyen,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The shopper logs in at the Cleeng sandbox, as Cleeng's checkout does,
	// and pays with the customer JWT.
	login, _ := json.Marshal(cleengsandbox.Login{Email: stack.DemoCustomer.Email, Password: "any", PublisherID: stack.DevPublisherID})
	code, body := call(ctx, t, http.MethodPost, sandboxURL+"/cleeng/auths", login)
	var session struct {
		ResponseData cleengsandbox.LoginResult `json:"responseData"`
	}
	if err := json.Unmarshal(body, &session); code != http.StatusOK || err != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	customerToken := session.ResponseData.JWT
	pay, _ := json.Marshal(map[string]any{"orderId": json.Number(order.ID),
		"paymentMethod": adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown")})
	code, body = callAs(ctx, t, http.MethodPost, ingressURL+"/v1/checkout/payments", pay, customerToken)
	if code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("checkout: %d %s", code, body)
	}
	var out struct {
		Status    string    `json:"status"`
		PaymentID cleeng.ID `json:"paymentId"`
	}
	eventually(ctx, t, "purchase captured", func(ctx context.Context) error {
		if err := json.Unmarshal(body, &out); err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		if out.Status != "captured" {
			_, body = callAs(ctx, t, http.MethodGet, ingressURL+"/v1/checkout/payments/"+string(order.ID), nil, customerToken)
			return fmt.Errorf("outcome %s", body)
		}
		return nil
	})

	var cleengState cleengsandbox.State
	getJSON(ctx, t, sandboxURL+"/cleeng/sandbox/state", &cleengState)
	if p, ok := cleengState.Payment(out.PaymentID); !ok || p.Status != cleeng.StatusCaptured {
		t.Errorf("Cleeng payment %s: %+v, want captured", out.PaymentID, p)
	}
	// A renewal through the production ingress: the sandbox's dunning
	// webhook, dated on the subscription's due date, is taken and charged.
	var renewed cleengsandbox.DunningResult
	for _, sub := range cleengState.Subscriptions {
		if sub.CustomerID != stack.DemoCustomer.ID || sub.OfferID != stack.DemoOffer.ID {
			continue
		}
		dunning, _ := json.Marshal(cleengsandbox.DunningOptions{Attempts: 1, NoTermination: true})
		code, body := call(ctx, t, http.MethodPost, sandboxURL+"/cleeng/sandbox/subscriptions/"+sub.SubscriptionID.String()+"/dunning", dunning)
		if err := json.Unmarshal(body, &renewed); code != http.StatusOK || err != nil {
			t.Fatalf("dunning: %d %s", code, body)
		}
	}
	if !renewed.Renewed {
		t.Errorf("dunning %+v, want the subscription renewed through the production ingress", renewed)
	}
	eventually(ctx, t, "Adyen notifications stored by the ingress", func(ctx context.Context) error {
		var st adyensandbox.State
		getJSON(ctx, t, sandboxURL+"/adyen/sandbox/state", &st)
		if !slices.Equal(st.Violations, probe) {
			t.Fatalf("Adyen sandbox violations: %q, want only the probe's %q", st.Violations, probe)
		}
		if st.Notifications == 0 || st.NotificationsDelivered != st.Notifications {
			return fmt.Errorf("%d of %d notifications delivered", st.NotificationsDelivered, st.Notifications)
		}
		return nil
	})
}

// contractViolation sends the Adyen sandbox a payment with a field
// CheckoutService-v71.json does not have, checks that it was refused for it
// (so the sandbox validates what the connector sends), and returns the
// violations it recorded.
func contractViolation(ctx context.Context, t *testing.T, sandboxURL string) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"amount": map[string]any{"currency": "EUR", "value": 999}, "merchantAccount": stack.DevMerchantAccount,
		"reference": "containertest-contract-probe", "returnUrl": "https://shop.example/return",
		"paymentMethod":   adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"),
		"favouriteColour": "blue",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sandboxURL+"/adyen/v71/payments", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", stack.DevAdyenAPIKey)
	resp, answer := testkit.Do(t, req)
	if code := resp.StatusCode; code != http.StatusUnprocessableEntity || !bytes.Contains(answer, []byte("CheckoutService-v71.json")) {
		t.Fatalf("a payment with an unknown field: %d %s; want 422 naming CheckoutService-v71.json (SANDBOX_ADYEN_CONTRACT)", resp.StatusCode, answer)
	}
	var st adyensandbox.State
	getJSON(ctx, t, sandboxURL+"/adyen/sandbox/state", &st)
	if len(st.Violations) == 0 {
		t.Fatal("the refused payment left no violation in the Adyen sandbox's state")
	}
	return st.Violations
}

func endpoint(ctx context.Context, t *testing.T, ctr interface {
	PortEndpoint(context.Context, string, string) (string, error)
}, port string) string {
	t.Helper()
	u, err := ctr.PortEndpoint(ctx, port, "http")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// call sends one request and returns the status and body.
func call(ctx context.Context, t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	return callAs(ctx, t, method, url, body, "")
}

// callAs is call with a customer JWT, as front-end calls carry it.
func callAs(ctx context.Context, t *testing.T, method, url string, body []byte, customerToken string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if customerToken != "" {
		req.Header.Set("Authorization", "Bearer "+customerToken)
	}
	resp, answer := testkit.Do(t, req)
	return resp.StatusCode, answer
}

func getJSON(ctx context.Context, t *testing.T, url string, v any) {
	t.Helper()
	code, body := call(ctx, t, http.MethodGet, url, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
