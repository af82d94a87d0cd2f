package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/telemetry"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestTracing_OneTraceFromTheCheckoutRequestToEveryCall drives one initial
// purchase through the dev stack (the ingress over HTTP, embedded JetStream,
// a worker, the Cleeng and Adyen sandboxes) with spans exported to memory,
// and follows its trace: the ingress's server span (a root of its own,
// linked to the front-end's traceparent), the worker's delivery as its child
// across the queue (the parent read from the stored message's headers), the
// operation attempt under it with its key, flow and last step, and the calls
// to Adyen and Cleeng as the operation's client spans.
func TestTracing_OneTraceFromTheCheckoutRequestToEveryCall(t *testing.T) {
	// Not parallel: the tracer provider is the process's.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	telemetry.Use(tp)
	t.Cleanup(func() {
		telemetry.Use(nil)
		_ = tp.Shutdown(context.Background())
	})
	dev, err := stack.StartDev(t.Context(), stack.DevOptions{
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0",
		SandboxAddr: "127.0.0.1:0",
		SyncWait:    time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dev.Close)
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		t.Fatal(err)
	}
	front, err := cleeng.NewClient(cleeng.Config{BaseURL: dev.CleengAPIURL(), PublisherToken: stack.DevPublisherToken})
	if err != nil {
		t.Fatal(err)
	}
	order, err := front.CreateOrder(t.Context(), cleeng.CreateOrderRequest{CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID,
		Currency: "EUR", Country: "DE", PaymentMethodID: stack.DevPaymentMethodAdyen})
	if err != nil {
		t.Fatal(err)
	}

	const frontEndTrace = "0af7651916cd43dd8448eb211c80319c"
	body, _ := json.Marshal(map[string]any{"orderId": json.Number(order.ID),
		"paymentMethod": adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown")})
	req, _ := http.NewRequest(http.MethodPost, dev.IngressURL+"/v1/checkout/payments", bytes.NewReader(body))
	token, err := dev.Cleeng.CustomerToken(stack.DemoCustomer.ID)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+frontEndTrace+"-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"captured"`) {
		t.Fatalf("checkout: %d %s", resp.StatusCode, answer)
	}

	// The delivery's span ends once the message is acked, after the answer.
	var server, delivery, operation tracetest.SpanStub
	testkit.Eventually(t, 30*time.Second, "the checkout's server and delivery spans ended", func() bool {
		var ok bool
		server, ok = find(spans, func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindServer && s.Name == "POST /v1/checkout/payments"
		})
		if !ok {
			return false
		}
		delivery, ok = find(spans, func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindConsumer && s.Parent.SpanID() == server.SpanContext.SpanID()
		})
		return ok
	})
	traceID := server.SpanContext.TraceID()
	if server.Parent.IsValid() || traceID.String() == frontEndTrace {
		t.Errorf("server span's parent %v: want a trace of the connector's own", server.Parent)
	}
	if len(server.Links) != 1 || server.Links[0].SpanContext.TraceID().String() != frontEndTrace {
		t.Errorf("server span's links %+v: want the front-end's trace", server.Links)
	}
	if !delivery.Parent.IsRemote() || delivery.SpanContext.TraceID() != traceID {
		t.Errorf("delivery span %s: parent %v, want the server span across the queue", delivery.Name, delivery.Parent)
	}
	wantAttrs(t, delivery, map[attribute.Key]string{telemetry.AttrFlow: "initial-purchase",
		"messaging.destination.name": messages.SubjectCheckoutPayment, telemetry.AttrOutcome: "acked"})

	operation, ok := find(spans, func(s tracetest.SpanStub) bool {
		return s.Parent.SpanID() == delivery.SpanContext.SpanID() && s.Name == "operation initial-purchase"
	})
	if !ok {
		t.Fatalf("no operation span under the delivery; spans of the trace:\n%s", describe(spans, traceID))
	}
	wantAttrs(t, operation, map[attribute.Key]string{telemetry.AttrOperationKey: messages.InitialKey(mustInt(t, stack.DemoCustomer.ID), mustInt(t, order.ID)),
		telemetry.AttrFlow: "initial-purchase", telemetry.AttrOperationStatus: "done"})
	if step := attr(operation, telemetry.AttrStep); step == "" || len(operation.Events) == 0 {
		t.Errorf("operation span: step %q, %d events: want the steps it saved", step, len(operation.Events))
	}
	for _, service := range []string{"adyen", "cleeng"} {
		_, ok := find(spans, func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindClient && attr(s, telemetry.AttrPeerService) == service &&
				s.Parent.SpanID() == operation.SpanContext.SpanID() && s.SpanContext.TraceID() == traceID
		})
		if !ok {
			t.Errorf("no %s client span under the operation; spans of the trace:\n%s", service, describe(spans, traceID))
		}
	}
}

func find(spans *tracetest.InMemoryExporter, match func(tracetest.SpanStub) bool) (tracetest.SpanStub, bool) {
	all := spans.GetSpans()
	i := slices.IndexFunc(all, match)
	if i < 0 {
		return tracetest.SpanStub{}, false
	}
	return all[i], true
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[attribute.Key]string) {
	t.Helper()
	for k, v := range want {
		if got := attr(s, k); got != v {
			t.Errorf("span %s: %s = %q, want %q", s.Name, k, got, v)
		}
	}
}

func describe(spans *tracetest.InMemoryExporter, id trace.TraceID) string {
	var b strings.Builder
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID() == id {
			fmt.Fprintf(&b, "  %s %s (%s) parent %s\n", s.SpanContext.SpanID(), s.Name, s.SpanKind, s.Parent.SpanID())
		}
	}
	return b.String()
}

func mustInt(t *testing.T, id cleeng.ID) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id.String(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
