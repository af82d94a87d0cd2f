package flows_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// shopperStep is what the shopper does after the first answer: nothing
// (the method authorises at once), or act on the action and send its
// result through /v1/checkout/payments/details.
type shopperStep func(action json.RawMessage) (json.RawMessage, error)

func redirectApproved(action json.RawMessage) (json.RawMessage, error) {
	return adyensandbox.RedirectResult(action, true)
}

// TestPaymentMethods_PurchaseRenewalAndRefundThroughAdyen: each payment
// method Adyen takes beyond cards is its own Cleeng paymentMethodId; its
// Drop-in state.data pays the first order (with the shopper's redirect
// or PayPal approval completed through the details call), stores a token
// that Cleeng's dunning webhook later charges under the stored method's
// type (ContAuth, Subscription), and the payment is refunded. Cleeng keeps
// what a shopper recognises the method by. The harness fails on any
// request or answer outside Adyen's OpenAPI document.
func TestPaymentMethods_PurchaseRenewalAndRefundThroughAdyen(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	for _, c := range []struct {
		name     string
		methodID string
		method   json.RawMessage
		shopper  shopperStep
		// paid is the sandbox's paymentMethod of the first payment;
		// renewedAs the type the stored token is charged under.
		paid, renewedAs string
		params          map[string]string // Cleeng's paymentMethodSpecificParams
	}{
		{"Apple Pay", stack.DevPaymentMethodApplePay, adyensandbox.WalletMethod("applepay", adyensandbox.CardVisa, "Matthew Brown"), nil,
			"applepay", "scheme", map[string]string{"wallet": "applepay", "lastCardFourDigits": "1111", "variant": "visa", "cardExpirationDate": "03/2030"}},
		{"Google Pay", stack.DevPaymentMethodGooglePay, adyensandbox.WalletMethod("googlepay", adyensandbox.CardMastercard, "Matthew Brown"), nil,
			"googlepay", "scheme", map[string]string{"wallet": "googlepay", "lastCardFourDigits": "1111", "variant": "mc"}},
		{"PayPal in the page", stack.DevPaymentMethodPayPal, adyensandbox.PayPalMethod("sdk"), adyensandbox.PayPalApproval,
			"paypal", "paypal", map[string]string{"paymentMethod": "paypal", "payerEmail": adyensandbox.PayPalPayer, "payerId": adyensandbox.PayPalPayerID}},
		{"PayPal by redirect", stack.DevPaymentMethodPayPal, adyensandbox.PayPalMethod("redirect"), redirectApproved,
			"paypal", "paypal", map[string]string{"paymentMethod": "paypal", "payerEmail": adyensandbox.PayPalPayer}},
		{"SEPA Direct Debit", stack.DevPaymentMethodSEPA, adyensandbox.SEPAMethod("A. Schneider", "NL13 TEST 0123 4567 89"), nil,
			"sepadirectdebit", "sepadirectdebit", map[string]string{"paymentMethod": "sepadirectdebit", "holderName": "A. Schneider", "iban": "NL** **** 6789"}},
		{"iDEAL", stack.DevPaymentMethodIdeal, adyensandbox.IdealMethod("1121"), redirectApproved,
			"ideal", "sepadirectdebit", map[string]string{"paymentMethod": "ideal", "iban": "NL** **** 6789"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &methodRun{e: e, t: t}
			initial := m.purchase(c.methodID, c.method, c.shopper)

			// The first payment, in Cleeng and at Adyen.
			st := e.dev.Cleeng.State()
			details, ok := paymentDetails(st, initial.PaymentDetailsID)
			if !ok || details.PaymentMethodID.String() != c.methodID || details.Token == "" || !details.Active {
				t.Fatalf("Cleeng payment details %+v, want active ones of paymentMethodId %s with the token", details, c.methodID)
			}
			var params map[string]string
			_ = json.Unmarshal(details.PaymentMethodSpecificParams, &params)
			for k, want := range c.params {
				if params[k] != want {
					t.Errorf("paymentMethodSpecificParams[%s] = %q, want %q (all: %v)", k, params[k], want, params)
				}
			}
			first, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID)
			if first.Method != c.paid || first.Status != adyensandbox.StatusCaptured || first.Amount != 999 {
				t.Errorf("Adyen payment %+v, want %s captured 999", first, c.paid)
			}

			// A renewal charges the stored token under its type.
			sub := initial.SubscriptionID
			res, err := e.dev.Cleeng.RunDunning(context.Background(), sub, cleengsandbox.DunningOptions{Attempts: 1})
			if err != nil || !res.Renewed {
				t.Fatalf("dunning %+v, %v: want renewed", res, err)
			}
			payments := e.payments(sub)
			if len(payments) != 2 || payments[1].Status != cleeng.StatusCaptured || payments[1].PaymentOperation != cleeng.OperationRecurringPayment {
				t.Fatalf("Cleeng payments of the subscription %+v, want the renewal captured", payments)
			}
			renewal, _ := e.dev.Adyen.Payment(payments[1].ExternalPaymentID)
			if !renewal.Recurring || renewal.Method != c.renewedAs || renewal.Status != adyensandbox.StatusCaptured || renewal.Token != first.Token ||
				renewal.ShopperInteraction != "ContAuth" || renewal.RecurringProcessingModel != "Subscription" {
				t.Errorf("Adyen renewal %+v, want the first payment's token charged as %s, ContAuth, Subscription", renewal, c.renewedAs)
			}

			// The first payment refunded at Adyen, then in Cleeng.
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
			testkit.Eventually(t, time.Minute, "the Cleeng payment refunded", func() bool {
				p, _ := e.dev.Cleeng.State().Payment(initial.ID)
				return p.Status == cleeng.StatusRefunded
			})
			if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); charge.Refunded != 999 {
				t.Errorf("Adyen refunded %d, want 999", charge.Refunded)
			}
		})
	}
}

// methodRun drives one method's purchase through the ingress.
type methodRun struct {
	e *e2e
	t *testing.T
}

// purchase orders the demo offer in Germany with paymentMethodId and pays
// it with method, completing the shopper's step when there is one; it
// returns the captured Cleeng payment.
func (m *methodRun) purchase(methodID string, method json.RawMessage, shopper shopperStep) cleeng.Payment {
	m.t.Helper()
	e := m.e
	o := e.orderFor(methodID)
	out := e.pay(o.ID, method)
	if shopper != nil {
		if out.Status != "action_required" {
			m.t.Fatalf("first answer %+v, want action_required", out)
		}
		details, err := shopper(out.Action)
		if err != nil {
			m.t.Fatal(err)
		}
		var code int
		code, out = e.post("/v1/checkout/payments/details", map[string]any{"orderId": json.Number(o.ID), "details": details})
		if code == http.StatusAccepted && out.Status == "pending" {
			out = e.settled(o.ID)
		} else if code != http.StatusOK {
			m.t.Fatalf("details: %d %+v", code, out)
		}
	}
	if out.Status != "captured" {
		m.t.Fatalf("purchase %+v, want captured", out)
	}
	p, ok := e.dev.Cleeng.State().Payment(out.PaymentID)
	if !ok || p.SubscriptionID == "" || p.PaymentDetailsID == "" {
		m.t.Fatalf("Cleeng payment %+v, want one with a subscription and payment details", p)
	}
	return p
}

// orderFor creates an order of the demo offer in Germany with paymentMethodId.
func (e *e2e) orderFor(methodID string) cleeng.Order {
	e.t.Helper()
	price := stack.DemoOffer.Prices["DE"]
	o, err := e.cleeng.CreateOrder(context.Background(), cleeng.CreateOrderRequest{
		CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID, Currency: price.Currency, Country: "DE",
		PaymentMethodID: cleeng.ID(methodID),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// paymentDetails finds Cleeng's payment details of id.
func paymentDetails(st cleengsandbox.State, id cleeng.ID) (cleengsandbox.PaymentDetails, bool) {
	for _, d := range st.PaymentDetails {
		if d.ID == id {
			return d, true
		}
	}
	return cleengsandbox.PaymentDetails{}, false
}

// TestPaymentMethods_AnOrderIsPaidOnlyWithItsIdsMethod: an order of a
// paymentMethodId with types (PAYMENT_METHOD_TYPES) is offered only those
// in Drop-in, and a payment of another type is refused before anything is
// charged or recorded, so Cleeng never files a card payment under Apple Pay.
func TestPaymentMethods_AnOrderIsPaidOnlyWithItsIdsMethod(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.orderFor(stack.DevPaymentMethodApplePay)

	code, env, raw := e.sdk("payment-methods", map[string]any{"orderId": json.Number(o.ID)})
	var offered struct{ PaymentMethods []struct{ Type string } }
	if err := json.Unmarshal(env.ResponseData, &offered); code != http.StatusOK || err != nil ||
		len(offered.PaymentMethods) != 1 || offered.PaymentMethods[0].Type != "applepay" {
		t.Fatalf("payment-methods of an Apple Pay order: %d %s, want Apple Pay alone", code, raw)
	}

	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	if out.Status != "failed" || out.Code != "payment_method_mismatch" || !strings.Contains(out.RejectedReason, "applepay") {
		t.Fatalf("a card paying an Apple Pay order: %+v, want failed payment_method_mismatch naming applepay", out)
	}
	if charges := e.dev.Adyen.PaymentsFor(o.ID.String()); len(charges) != 0 {
		t.Errorf("Adyen payments %+v, want none", charges)
	}
	if n := len(e.dev.Cleeng.State().Payments); n != 0 {
		t.Errorf("%d Cleeng payments, want none", n)
	}

	// A card is not stored as new Apple Pay payment details either.
	code, update := e.post("/v1/payment-details", map[string]any{"paymentMethodId": json.Number(stack.DevPaymentMethodApplePay),
		"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"), "returnUrl": e.dev.IngressURL + "/return"})
	if code != http.StatusOK || update.Status != "failed" || update.Code != "payment_method_mismatch" {
		t.Fatalf("a card as Apple Pay payment details: %d %+v, want failed payment_method_mismatch", code, update)
	}
	if n := len(e.dev.Adyen.Payments()); n != 0 || len(e.dev.Cleeng.State().PaymentDetails) != 0 {
		t.Errorf("%d Adyen payments, Cleeng details %+v: want none", n, e.dev.Cleeng.State().PaymentDetails)
	}
}
