package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/ingress"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// e2e is the whole connector on loopback: embedded JetStream, the ingress,
// the workers and both sandboxes over real HTTP (stack.StartDev).
type e2e struct {
	t      *testing.T
	dev    *stack.Dev
	cleeng *cleeng.Client // the front-end's and the test's view of the Cleeng sandbox
	// token is the demo customer's JWT, from the Cleeng sandbox as a login
	// gives it: every front-end call carries it.
	token string
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
	token, err := dev.Cleeng.CustomerToken(stack.DemoCustomer.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, dev: dev, cleeng: client, token: token}
}

// do sends a front-end call to the ingress as the demo customer: a JSON
// body (nil for none) and the customer JWT.
func (e *e2e) do(method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, e.dev.IngressURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	return http.DefaultClient.Do(req)
}

// initialKey is the operation key of the demo customer's purchase of order.
func (e *e2e) initialKey(order cleeng.ID) string {
	customer, _ := strconv.ParseInt(stack.DemoCustomer.ID.String(), 10, 64)
	id, err := strconv.ParseInt(order.String(), 10, 64)
	if err != nil {
		e.t.Fatalf("order id %q: %v", order, err)
	}
	return messages.InitialKey(customer, id)
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
	// PaymentMethodSpecificParams summarise an updated card.
	PaymentMethodSpecificParams json.RawMessage `json:"paymentMethodSpecificParams"`
	// Code is an error's, or a failed outcome's, stable code.
	Code  string `json:"code"`
	Error string `json:"error"`
	Field string `json:"field"`
}

// post sends a JSON body to the ingress and decodes the answer.
func (e *e2e) post(path string, body any) (int, outcome) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := e.do(http.MethodPost, path, b)
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

// pay pays an order through the connector with a test card and returns
// the outcome: the checkout's answer, or, when the connector answered
// "pending" because the flow outlasted its wait (a busy machine), the
// status URL's once it is settled.
func (e *e2e) pay(orderID cleeng.ID, method json.RawMessage) outcome {
	e.t.Helper()
	code, out := e.post("/v1/checkout/payments", map[string]any{"orderId": json.Number(orderID), "paymentMethod": method,
		"returnUrl": e.dev.IngressURL + "/return"})
	switch {
	case code == http.StatusAccepted && out.Status == "pending":
		return e.settled(orderID)
	case code != http.StatusOK:
		e.t.Fatalf("checkout: %d %+v", code, out)
	}
	return out
}

// checkoutStatus asks the ingress for an order's current checkout outcome
// (GET /v1/checkout/payments/{orderId}); ok is false without an answer.
func (e *e2e) checkoutStatus(orderID cleeng.ID) (out outcome, ok bool) {
	resp, err := e.do(http.MethodGet, "/v1/checkout/payments/"+orderID.String(), nil)
	if err != nil {
		return out, false
	}
	defer resp.Body.Close()
	return out, json.NewDecoder(resp.Body).Decode(&out) == nil
}

// settled waits until the order's checkout outcome is no longer pending.
func (e *e2e) settled(orderID cleeng.ID) outcome {
	e.t.Helper()
	var out outcome
	testkit.Eventually(e.t, time.Minute, "the checkout of order "+orderID.String()+" settled", func() bool {
		var ok bool
		out, ok = e.checkoutStatus(orderID)
		return ok && out.Status != "pending"
	})
	return out
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

// assertOnePaymentPerExternalID is DESIGN section 4's invariant, read from
// what the sandboxes received rather than from what they kept (each refuses
// a second payment itself): at most one Adyen charge per Cleeng order, and
// one POST /payments per externalPaymentId (per order when it has none). A
// POST is sent again only after an answer was lost (lostAnswers of them),
// and Cleeng answers it 409 with the payment it holds. Call it once the
// inbox is empty, so no copy of a message is still to be handled.
func (e *e2e) assertOnePaymentPerExternalID(lostAnswers int) {
	e.t.Helper()
	st := e.dev.Cleeng.State()
	for _, o := range st.Orders {
		if charges := e.dev.Adyen.PaymentsFor(o.ID.String()); len(charges) > 1 {
			e.t.Errorf("order %s charged %d times at Adyen: %+v", o.ID, len(charges), charges)
		}
	}
	sent := map[string]int{}
	resent := 0
	for _, r := range st.PaymentRequests {
		key := "externalPaymentId " + r.ExternalPaymentID
		if r.ExternalPaymentID == "" {
			key = "order " + r.OrderID.String()
		}
		if sent[key]++; sent[key] == 1 {
			continue
		}
		resent++
		if r.Answer != http.StatusConflict {
			e.t.Errorf("POST /payments number %d for %s answered %d, want 409 with the payment Cleeng holds", sent[key], key, r.Answer)
		}
	}
	if resent > lostAnswers {
		e.t.Errorf("POST /payments sent %d times again for a payment Cleeng held, with %d answers lost: %+v", resent, lostAnswers, st.PaymentRequests)
	}
}

// inboxEmpty reports whether every flow has finished with every message
// it was given.
func (e *e2e) inboxEmpty() bool {
	return testkit.StreamMsgs(e.t, e.dev.Broker.JS, broker.InboxStream) == 0
}

// resendPastDuplicateWindow stores copies more of the last Cleeng webhook
// of topic on the inbox, as the ingress would store a copy Cleeng re-sends
// after JetStream's duplicate window: under a new de-duplication id, so
// only the flows' operation records stand between it and a second effect.
func (e *e2e) resendPastDuplicateWindow(topic cleeng.Topic, copies int) {
	e.t.Helper()
	sent := e.dev.Cleeng.State().WebhooksOf(topic)
	if len(sent) == 0 {
		e.t.Fatalf("no %s webhook was sent", topic)
	}
	body := sent[len(sent)-1].Body
	for i := range copies {
		msg := &nats.Msg{Subject: broker.SubjectCleengWebhook + "." + string(topic), Data: body, Header: nats.Header{}}
		msg.Header.Set(ingress.HeaderReceived, time.Now().UTC().Format(time.RFC3339Nano))
		id := fmt.Sprintf("past-window-%d-%s", i, e.t.Name())
		if _, err := e.dev.Broker.JS.PublishMsg(context.Background(), msg, jetstream.WithMsgID(id)); err != nil {
			e.t.Fatal(err)
		}
	}
}

// holdAdyenNotifications keeps the Adyen sandbox's notifications from the
// ingress until the returned func lets them go (at the latest when the test ends).
func (e *e2e) holdAdyenNotifications() (release func()) {
	e.dev.Adyen.SetNotifyTarget("", "", "")
	release = sync.OnceFunc(func() {
		e.dev.Adyen.SetNotifyTarget(e.dev.IngressURL+"/webhooks/adyen", stack.DevWebhookUser, stack.DevWebhookPassword)
	})
	e.t.Cleanup(release)
	return release
}

// adyenNotifications returns the notifications of eventCode about the
// Adyen payment psp, delivered or not.
func (e *e2e) adyenNotifications(eventCode, psp string) []adyensandbox.Notification {
	var out []adyensandbox.Notification
	for _, n := range e.dev.Adyen.Notifications() {
		if n.Item.EventCode == eventCode && n.Item.OriginalReference == psp {
			out = append(out, n)
		}
	}
	return out
}

// waitDeadLetter waits for a message on dlq.<flow> and returns its reason.
func (e *e2e) waitDeadLetter(flow string) string {
	e.t.Helper()
	stream, err := e.dev.Broker.JS.Stream(context.Background(), broker.DLQStream)
	if err != nil {
		e.t.Fatal(err)
	}
	var reason string
	testkit.Eventually(e.t, time.Minute, "a dead letter on dlq."+flow, func() bool {
		msg, err := stream.GetLastMsgForSubject(context.Background(), broker.SubjectDLQ+"."+flow)
		if err != nil {
			return false
		}
		reason = msg.Header.Get(workers.HeaderError)
		return true
	})
	return reason
}
