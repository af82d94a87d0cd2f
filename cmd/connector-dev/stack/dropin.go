package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/cleeng-connector/connector/cleeng"
)

// DropInPath is the dev page that shows what Drop-in would receive.
const DropInPath = "/dropin"

// dropInPage serves what Cleeng's MediaStore SDK would hand Adyen's
// Drop-in at checkout: the connector's /connectors/adyen/payment-methods
// answer for an order of the demo offer in the Netherlands (seeded once, on
// the first view), asked through the ingress with the demo customer's JWT,
// as the SDK asks it.
func (d *Dev) dropInPage() http.Handler {
	var seed sync.Mutex
	var order cleeng.ID
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seed.Lock()
		if order == "" {
			o, err := d.seedDropInOrder(r.Context())
			if err != nil {
				seed.Unlock()
				http.Error(w, "seeding the order: "+err.Error(), http.StatusBadGateway)
				return
			}
			order = o
		}
		seed.Unlock()
		status, answer, err := d.askDropIn(r.Context(), order)
		if err != nil {
			http.Error(w, "asking the ingress: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = dropInTemplate.Execute(w, map[string]any{
			"Order": order, "Status": status, "Answer": answer, "Ingress": d.IngressURL,
		})
	})
}

// seedDropInOrder creates the page's order, as a front-end would.
func (d *Dev) seedDropInOrder(ctx context.Context) (cleeng.ID, error) {
	client, err := cleeng.NewClient(cleeng.Config{BaseURL: d.CleengAPIURL(), PublisherToken: DevPublisherToken})
	if err != nil {
		return "", err
	}
	price := DemoOffer.Prices["NL"]
	o, err := client.CreateOrder(ctx, cleeng.CreateOrderRequest{CustomerID: DemoCustomer.ID, OfferID: DemoOffer.ID,
		Currency: price.Currency, Country: "NL", PaymentMethodID: DevPaymentMethodAdyen})
	return o.ID, err
}

// askDropIn asks the ingress for the order's payment methods and returns
// its answer, indented.
func (d *Dev) askDropIn(ctx context.Context, order cleeng.ID) (int, string, error) {
	jwt, err := d.Cleeng.CustomerToken(DemoCustomer.ID)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.IngressURL+"/connectors/adyen/payment-methods",
		strings.NewReader(fmt.Sprintf(`{"orderId":%s}`, order)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var indented bytes.Buffer
	if json.Indent(&indented, raw, "", "  ") != nil {
		return resp.StatusCode, string(raw), nil
	}
	return resp.StatusCode, indented.String(), nil
}

var dropInTemplate = template.Must(template.New("dropin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What Drop-in receives</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head><body>
<h1>What Drop-in receives</h1>
<p>Cleeng's MediaStore SDK asks <code>POST /connectors/adyen/payment-methods</code> with <code>{"orderId": …}</code> and the
customer's JWT, and builds Adyen's Drop-in from <code>responseData</code>. This is the connector's answer
(HTTP {{.Status}}) for order <strong>{{.Order}}</strong> of the demo customer, in the Netherlands, in euros,
asked through the ingress at {{.Ingress}}:</p>
<pre>{{.Answer}}</pre>
<p>In production, a reverse proxy in front of the MediaStore API routes <code>/connectors/adyen/*</code> to the
connector's ingress and everything else to Cleeng; the checkout runs unchanged (README, "Cleeng's MediaStore SDK").</p>
</body></html>
`))
