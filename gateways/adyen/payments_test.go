package adyen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/money"
)

// request is what a server received: enough to tell two requests apart.
type request struct {
	method, uri string
	header      http.Header
	body        []byte
}

// Pay encodes the /payments body itself (paymentBody) and sends it through
// the library's client: the request must be the one the library's
// PaymentsApi.Payments sends for the same PaymentRequest, byte for byte,
// headers included, and its answer decoded the same way.
func TestPay_SendsTheRequestTheLibrarySends(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"resultCode":"Authorised","pspReference":"PSP0001","merchantReference":"order-1",`+
			`"amount":{"currency":"EUR","value":1000},"paymentMethod":{"brand":"visa","type":"scheme"}}`)
	}))
	defer srv.Close()
	g, err := New(Config{APIKey: "test-key", MerchantAccount: "TestMerchant", CheckoutURL: srv.URL + "/v71", ReturnURL: "https://shop.example/return"})
	if err != nil {
		t.Fatal(err)
	}
	amount, err := money.New("10.00", "EUR")
	if err != nil {
		t.Fatal(err)
	}
	card := json.RawMessage(`{"type":"scheme","number":"4111111111111111","expiryMonth":"03","expiryYear":"2030","cvc":"737","holderName":"Jane Smith"}`)
	for name, req := range map[string]gateways.PayRequest{
		"renewal": {IdempotencyKey: "charge.sub-1.2026-01-01", Reference: "order-1", Amount: amount, ShopperReference: "customer-123",
			Token: "8415718415172204", Metadata: map[string]string{"customerId": "123", "subscriptionId": "456", "orderId": "order-1"}},
		"first payment, authorised only": {IdempotencyKey: "initial.order-2", Reference: "order-2", Amount: amount, ShopperReference: "customer-123",
			PaymentMethod: card, StoreToken: true, AuthoriseOnly: true, Shopper: gateways.Shopper{ShopperIP: "192.0.2.1", Origin: "https://shop.example",
				BrowserInfo:    json.RawMessage(`{"userAgent":"Mozilla/5.0","acceptHeader":"text/html","language":"en-US","colorDepth":24,"screenHeight":800,"screenWidth":1200,"timeZoneOffset":0,"javaEnabled":false}`),
				BillingAddress: json.RawMessage(`{"street":"Main St","houseNumberOrName":"1","postalCode":"10115","city":"Berlin","country":"DE"}`)}},
	} {
		t.Run(name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			key, err := idempotencyKey(req.IdempotencyKey)
			if err != nil {
				t.Fatal(err)
			}
			preq, err := g.paymentRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := g.api.PaymentsApi.Payments(context.Background(), g.api.PaymentsApi.PaymentsInput().IdempotencyKey(key).PaymentRequest(preq))
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := g.payments(context.Background(), key, mustBody(t, g, req))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answer decoded as %+v, the library decodes %+v", got, want)
			}
			if res, err := g.Pay(context.Background(), req); err != nil || res.PaymentReference != "PSP0001" {
				t.Errorf("Pay = %+v, %v; want PSP0001's result", res, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 3 {
				t.Fatalf("%d requests, want 3", len(seen))
			}
			lib := seen[0]
			if lib.method != http.MethodPost || lib.uri != "/v71/payments" || lib.header.Get("Idempotency-Key") != key || !strings.Contains(string(lib.body), `"reference":"`+req.Reference+`"`) {
				t.Fatalf("the library sent %s %s, key %q: %s", lib.method, lib.uri, lib.header.Get("Idempotency-Key"), lib.body)
			}
			for _, r := range seen[1:] {
				if r.method != lib.method || r.uri != lib.uri || !reflect.DeepEqual(r.header, lib.header) || !bytes.Equal(r.body, lib.body) {
					t.Errorf("sent %s %s %v\n%s\nthe library sends %s %s %v\n%s", r.method, r.uri, r.header, r.body, lib.method, lib.uri, lib.header, lib.body)
				}
			}
		})
	}
}

func mustBody(t *testing.T, g *Gateway, req gateways.PayRequest) []byte {
	t.Helper()
	body, err := g.paymentBody(req)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// panicky's encoding panics, as a model's MarshalJSON might.
type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("broken model") }

// A panic while encoding on the goroutine aside is the caller's error, not
// the process's end: on the caller's goroutine the worker runtime would
// have turned it into the handler's error.
func TestEncodeAside_PanicIsAnError(t *testing.T) {
	if _, err := encodeAside(panicky{}); err == nil || !strings.Contains(err.Error(), "broken model") {
		t.Fatalf("err = %v, want the panic's", err)
	}
	body, err := encodeAside(map[string]int{"value": 1000})
	if err != nil || string(body) != "{\"value\":1000}\n" {
		t.Fatalf("encoded %q, %v", body, err)
	}
}
