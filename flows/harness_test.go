package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/stack"
	"github.com/cleeng-connector/connector/workers"
)

// e2e is the whole connector on loopback: embedded JetStream, the ingress,
// the workers and both sandboxes over real HTTP (stack.StartDev).
type e2e struct {
	t      *testing.T
	dev    *stack.Dev
	cleeng *cleeng.Client // the front-end's and the test's view of the Cleeng sandbox
}

// testSchedule redelivers quickly so retries finish within a test.
var testSchedule = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

func newE2E(t *testing.T, tweak ...func(*stack.DevOptions)) *e2e {
	t.Helper()
	contract, err := adyensandbox.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	opts := stack.DevOptions{
		Sandboxes:   func(s *stack.SandboxSettings) { s.AdyenContract = contract },
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0",
		SandboxAddr: "127.0.0.1:0",
		SyncWait:    10 * time.Second,
		Runtime:     workers.Config{Schedule: testSchedule, AckWait: 2 * time.Second, DrainTimeout: time.Second},
	}
	for _, f := range tweak {
		f(&opts)
	}
	dev, err := stack.StartDev(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dev.Close()
		// Every request the connector sent to Adyen, and every notification
		// the sandbox sent back, conforms to Adyen's OpenAPI documents.
		for _, v := range dev.Adyen.Violations() {
			t.Errorf("Adyen contract violation: %s", v)
		}
	})
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		t.Fatal(err)
	}
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: dev.CleengAPIURL(), PublisherToken: stack.DevPublisherToken})
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, dev: dev, cleeng: client}
}

// order creates an order as the front-end does, in the country's currency.
func (e *e2e) order(country, offerID string) cleeng.Order {
	e.t.Helper()
	price := stack.DemoOffer.Prices[country]
	o, err := e.cleeng.CreateOrder(context.Background(), cleeng.CreateOrderRequest{
		CustomerID: stack.DemoCustomer.ID, OfferID: offerID, Currency: price.Currency, Country: country,
		PaymentMethodID: stack.DevPaymentMethodAdyen,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// outcome is the checkout endpoints' answer.
type outcome struct {
	Status            string          `json:"status"`
	OrderID           cleeng.ID       `json:"orderId"`
	PaymentID         cleeng.ID       `json:"paymentId"`
	ExternalPaymentID string          `json:"externalPaymentId"`
	RejectedReason    string          `json:"rejectedReason"`
	Action            json.RawMessage `json:"action"`
	PaymentDetailsID  cleeng.ID       `json:"paymentDetailsId"`
	Error             string          `json:"error"`
}

// post sends a JSON body to the ingress and decodes the answer.
func (e *e2e) post(path string, body any) (int, outcome) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.dev.IngressURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out outcome
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// pay pays an order through the connector with a test card.
func (e *e2e) pay(orderID cleeng.ID, method json.RawMessage) outcome {
	e.t.Helper()
	code, out := e.post("/v1/checkout/payments", map[string]any{"orderId": json.Number(orderID), "paymentMethod": method,
		"returnUrl": "https://shop.example/return"})
	if code != http.StatusOK {
		e.t.Fatalf("checkout: %d %+v", code, out)
	}
	return out
}

// checkoutStatus asks the ingress for an order's current checkout outcome
// (GET /v1/checkout/payments/{orderId}); ok is false without an answer.
func (e *e2e) checkoutStatus(orderID cleeng.ID) (out outcome, ok bool) {
	resp, err := http.Get(e.dev.IngressURL + "/v1/checkout/payments/" + orderID.String())
	if err != nil {
		return out, false
	}
	defer resp.Body.Close()
	return out, json.NewDecoder(resp.Body).Decode(&out) == nil
}

// subscribe buys the demo offer in country with a good card and returns
// the subscription it created.
func (e *e2e) subscribe(country string) cleengsandbox.Subscription {
	e.t.Helper()
	o := e.order(country, stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	if out.Status != "captured" {
		e.t.Fatalf("initial purchase: %+v", out)
	}
	p, ok := e.dev.Cleeng.State().Payment(out.PaymentID)
	if !ok || p.SubscriptionID == "" {
		e.t.Fatalf("initial payment %s made no subscription: %+v", out.PaymentID, p)
	}
	sub, _ := e.dev.Cleeng.State().Subscription(p.SubscriptionID)
	return sub
}

// emit sends one Cleeng webhook through the sandbox to the ingress.
func (e *e2e) emit(req cleengsandbox.EmitRequest) {
	e.t.Helper()
	deliveries, err := e.dev.Cleeng.Emit(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range deliveries {
		if d.Status != http.StatusOK {
			e.t.Fatalf("webhook %s answered %d: %s", d.Topic, d.Status, d.Error)
		}
	}
}

// payments returns the Cleeng payments of a subscription (renewals and the initial one).
func (e *e2e) payments(sub cleeng.ID) []cleeng.Payment {
	var out []cleeng.Payment
	for _, p := range e.dev.Cleeng.State().Payments {
		if p.SubscriptionID == sub {
			out = append(out, p)
		}
	}
	return out
}

// charges returns the Adyen payments made with the shopper's stored token (renewals).
func (e *e2e) renewalCharges() []adyensandbox.Payment {
	var out []adyensandbox.Payment
	for _, p := range e.dev.Adyen.Payments() {
		if p.Recurring {
			out = append(out, p)
		}
	}
	return out
}

// assertOnePaymentPerExternalID is DESIGN section 4's invariant on the Cleeng side.
func (e *e2e) assertOnePaymentPerExternalID() {
	e.t.Helper()
	seen := map[string]cleeng.ID{}
	for _, p := range e.dev.Cleeng.State().Payments {
		if p.ExternalPaymentID == "" {
			continue
		}
		if other, dup := seen[p.ExternalPaymentID]; dup {
			e.t.Errorf("externalPaymentId %s is on Cleeng payments %s and %s", p.ExternalPaymentID, other, p.ID)
		}
		seen[p.ExternalPaymentID] = p.ID
	}
}

// waitDeadLetter waits for a message on dlq.<flow> and returns its reason.
func (e *e2e) waitDeadLetter(flow string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	stream, err := e.dev.Broker.JS.Stream(ctx, broker.DLQStream)
	if err != nil {
		e.t.Fatal(err)
	}
	for {
		msg, err := stream.GetLastMsgForSubject(ctx, broker.SubjectDLQ+"."+flow)
		if err == nil {
			return msg.Header.Get(workers.HeaderError)
		}
		if ctx.Err() != nil {
			e.t.Fatalf("no dead letter on dlq.%s: %v", flow, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
