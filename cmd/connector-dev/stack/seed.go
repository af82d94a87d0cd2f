package stack

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
)

// DemoOffer is a monthly pass priced in four currencies of three exponents.
var DemoOffer = cleengsandbox.Offer{
	ID:    "S619117184_US",
	Title: "Monthly pass",
	Prices: map[string]cleengsandbox.Price{
		"US": {Amount: cleeng.MustDecimal("9.99"), Currency: "USD", TaxRate: cleeng.MustDecimal("0")},
		"DE": {Amount: cleeng.MustDecimal("9.99"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0.19")},
		"NL": {Amount: cleeng.MustDecimal("9.99"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0.21")},
		"JP": {Amount: cleeng.MustDecimal("1200"), Currency: "JPY", TaxRate: cleeng.MustDecimal("0.10")},
		"KW": {Amount: cleeng.MustDecimal("3.125"), Currency: "KWD", TaxRate: cleeng.MustDecimal("0")},
	},
}

// DemoCustomer is the customer the banner offers for trying purchases by
// hand (the demo seeds a customer of its own on each run).
var DemoCustomer = cleengsandbox.Customer{ID: "927751142", Email: "matthew.brown@example.com", Country: "DE"}

// SeedDemo seeds the demo offer and customer.
func SeedDemo(sb *Sandboxes) error {
	if err := sb.Cleeng.SeedOffer(DemoOffer); err != nil {
		return err
	}
	return sb.Cleeng.SeedCustomer(DemoCustomer)
}

// Instructions print what to try against a running dev stack.
func Instructions(d *Dev) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
Cleeng payments connector (dev): ingress %[1]s, sandboxes %[2]s
  Cleeng sandbox API  %[3]s   (X-Publisher-Token: %[4]s)
  Adyen sandbox       %[5]s   (X-API-Key: %[6]s)
  Seeded: offer %[7]s (9.99 EUR in DE and NL, 9.99 USD in US, 1200 JPY in JP, 3.125 KWD in KW), customer %[8]s,
          paymentMethodId %[9]s routed to adyen, %[13]s routed to cleverbridge (Process Cart renewals:
          payment-details token S1000001 pays, S-PAY_DEC declines; see gateways/cleverbridge/sandbox).
          Adyen beyond cards, one paymentMethodId each: %[18]s.

Try an initial purchase:
  1. log the customer in, as Cleeng's checkout does, for the customer JWT every front-end call carries:
     JWT=$(curl -s -X POST %[2]s/cleeng/auths -H 'Content-Type: application/json' \
       -d '{"email":"%[14]s","password":"any","publisherId":"%[15]s"}' | sed 's/.*"jwt":"\([^"]*\)".*/\1/')
  2. create the order in Cleeng, as a front-end would:
     curl -s -X POST %[3]s/orders -H 'X-Publisher-Token: %[4]s' -H 'Content-Type: application/json' \
       -d '{"customerId":%[8]s,"offerId":"%[7]s","currency":"EUR","country":"DE","paymentMethodId":%[9]s}'
  3. pay it through the connector with a test card (use the order id from step 2):
     curl -s -X POST %[1]s/v1/checkout/payments -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' \
       -d '{"orderId":<id>,"paymentMethod":%[10]s}'
  Test cards: %[11]s authorises; %[12]s asks for 3-D Secure;
  holder names DECLINED, NOT_ENOUGH_BALANCE, CARD_EXPIRED, CVC_DECLINED refuse.
  State: %[2]s/cleeng/sandbox/state, %[2]s/adyen/sandbox/state, %[2]s/cleverbridge/sandbox/state
  What Cleeng's MediaStore SDK hands Adyen's Drop-in for an order (/connectors/adyen/payment-methods): %[2]s%[17]s
  'make demo' walks a whole subscription through renewals, a refusal, a refund, a card update and a termination.

Operator commands (make build) reach this stack's NATS at NATS_URL=%[16]s:
  NATS_URL=%[16]s bin/connector ops list
  NATS_URL=%[16]s bin/connector dlq list
`, d.IngressURL, d.SandboxURL, d.CleengAPIURL(), DevPublisherToken, d.AdyenCheckoutURL(), DevAdyenAPIKey,
		DemoOffer.ID, DemoCustomer.ID, DevPaymentMethodAdyen,
		adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"), adyensandbox.CardVisa, adyensandbox.CardVisa3DS, DevPaymentMethodCleverbridge,
		DemoCustomer.Email, DevPublisherID, d.Broker.URL, DropInPath, devMethodList())
	if d.ConsoleURL != "" {
		fmt.Fprintf(&b, "Operator console: %s   (user %s, password %s)\n", d.ConsoleURL, DevConsoleUser, DevConsolePassword)
	}
	return b.String()
}

// devMethodList names the dev paymentMethodIds with types, e.g. "123876433 applepay".
func devMethodList() string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(DevPaymentMethodTypes)) {
		out = append(out, id+" "+strings.Join(DevPaymentMethodTypes[id], "|"))
	}
	return strings.Join(out, ", ")
}

// DemoTarget is the demo's view of a dev stack at these URLs.
func DemoTarget(ingressURL, sandboxURL string) demo.Target {
	return demo.Target{IngressURL: ingressURL, SandboxURL: sandboxURL, PublisherToken: DevPublisherToken,
		PublisherID: DevPublisherID, OfferID: DemoOffer.ID, PaymentMethodID: DevPaymentMethodAdyen, Country: "DE"}
}
