package sandbox_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cleeng-connector/connector/cleeng"
)

// externalSub creates an externally-managed subscription of the seeded
// customer and offer, paid with method 77.
func (e *env) externalSub(t *testing.T, external string) cleeng.Subscription {
	t.Helper()
	sub, err := e.client.CreateSubscription(bg(t), cleeng.CreateSubscriptionRequest{
		ExternalSubscriptionID: external, PaymentMethodID: "77", OfferID: "S1_US", CustomerID: "1001"})
	must(t, err)
	return sub
}

func externalPayment(sub cleeng.Subscription, status cleeng.PaymentStatus, ext string) cleeng.ExternalPaymentRequest {
	req := cleeng.ExternalPaymentRequest{PaymentMethodID: "77", OfferID: sub.OfferID, CustomerID: sub.CustomerID,
		SubscriptionID: sub.SubscriptionID, Currency: "USD", Country: "US", Amount: cleeng.MustDecimal("8.26"),
		TaxAmount: cleeng.MustDecimal("1.73"), Status: status, ExternalPaymentID: ext}
	if status == cleeng.StatusRejected {
		req.RejectedReason = "Card expired"
	}
	return req
}

// TestSandbox_CreateSubscriptionRules: POST /subscriptions requires each
// field (a 400 naming it), a known customer and offer, runs one offer
// period without expiresAt, and answers a second POST for the external id
// with the subscription it holds (the client returns it).
func TestSandbox_CreateSubscriptionRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, missing := range []string{"externalSubscriptionId", "paymentMethodId", "offerId", "customerId"} {
		body := map[string]string{"externalSubscriptionId": "S-1", "paymentMethodId": "77", "offerId": "S1_US", "customerId": "1001"}
		delete(body, missing)
		var parts []string
		for k, v := range body {
			parts = append(parts, `"`+k+`":"`+v+`"`)
		}
		status, answer := raw(t, http.MethodPost, e.srv.URL+"/3.1/subscriptions", token, "{"+strings.Join(parts, ",")+"}")
		if status != http.StatusBadRequest || !strings.Contains(answer, missing+": required") {
			t.Errorf("without %s: %d %s", missing, status, answer)
		}
	}
	_, err := e.client.CreateSubscription(bg(t), cleeng.CreateSubscriptionRequest{ExternalSubscriptionID: "S-1", PaymentMethodID: "77", OfferID: "nope", CustomerID: "1001"})
	refused(t, err, http.StatusUnprocessableEntity, "offer_not_found")
	_, err = e.client.CreateSubscription(bg(t), cleeng.CreateSubscriptionRequest{ExternalSubscriptionID: "S-1", PaymentMethodID: "77", OfferID: "S1_US", CustomerID: "999"})
	refused(t, err, http.StatusUnprocessableEntity, "customer_not_found")

	sub := e.externalSub(t, "S-1")
	if sub.Status != cleeng.SubscriptionActive || sub.ExpiresAt != "2030-05-31T12:00:00Z" {
		t.Fatalf("created %+v, want active until one 30-day period from now", sub)
	}
	if again := e.externalSub(t, "S-1"); again.SubscriptionID != sub.SubscriptionID {
		t.Fatalf("second POST for S-1 made %s, want the existing %s", again.SubscriptionID, sub.SubscriptionID)
	}
	if n := len(e.sb.State().Subscriptions); n != 2 { // the seeded one and S-1
		t.Fatalf("%d subscriptions, want 2", n)
	}
}

// TestSandbox_ExternalPaymentRules: the orderless POST /payments requires
// every field (rejectedReason when rejected), only for an externally-managed
// subscription it matches; the first captured payment is covered by the
// creation, each later one extends the subscription by a period, a
// rejected one does not; the payment holds amount + tax, refundable once;
// status active/cancelled is for externally-managed subscriptions only.
func TestSandbox_ExternalPaymentRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.externalSub(t, "S-1")

	status, answer := raw(t, http.MethodPost, e.srv.URL+"/3.1/payments", token,
		`{"paymentMethodId":"77","offerId":"S1_US","customerId":"1001","subscriptionId":"`+string(sub.SubscriptionID)+`","currency":"USD","amount":8.26,"taxAmount":1.73,"status":"captured","externalPaymentId":"P-1"}`)
	if status != http.StatusBadRequest || !strings.Contains(answer, "country: required") {
		t.Fatalf("without country: %d %s", status, answer)
	}
	rejected := externalPayment(sub, cleeng.StatusRejected, "P-0")
	rejected.RejectedReason = ""
	_, err := e.client.CreateExternalPayment(bg(t), rejected)
	refused(t, err, http.StatusBadRequest, "")
	wrongOffer := externalPayment(sub, cleeng.StatusCaptured, "P-1")
	wrongOffer.OfferID = "S2_US"
	_, err = e.client.CreateExternalPayment(bg(t), wrongOffer)
	refused(t, err, http.StatusUnprocessableEntity, "subscription_mismatch")
	seeded := externalPayment(cleeng.Subscription{SubscriptionID: e.sub.SubscriptionID, CustomerID: "1001", OfferID: "S1_US"}, cleeng.StatusCaptured, "P-1")
	_, err = e.client.CreateExternalPayment(bg(t), seeded)
	refused(t, err, http.StatusUnprocessableEntity, "not_externally_managed")

	first, err := e.client.CreateExternalPayment(bg(t), externalPayment(sub, cleeng.StatusCaptured, "P-1"))
	must(t, err)
	if !first.Amount.Equal(cleeng.MustDecimal("9.99").Decimal) || first.Status != cleeng.StatusCaptured {
		t.Fatalf("first payment %+v, want 9.99 captured", first)
	}
	expiry := func() string {
		s, _ := e.sb.State().Subscription(sub.SubscriptionID)
		return s.ExpiresAt
	}
	if got := expiry(); got != sub.ExpiresAt {
		t.Fatalf("the first payment moved the expiry to %s", got)
	}
	_, err = e.client.CreateExternalPayment(bg(t), externalPayment(sub, cleeng.StatusCaptured, "P-2"))
	must(t, err)
	if got := expiry(); got != "2030-06-30T12:00:00Z" {
		t.Fatalf("a renewal: expiry %s, want one period later", got)
	}
	_, err = e.client.CreateExternalPayment(bg(t), externalPayment(sub, cleeng.StatusRejected, "P-3"))
	must(t, err)
	if got := expiry(); got != "2030-06-30T12:00:00Z" {
		t.Fatalf("a rejected renewal moved the expiry to %s", got)
	}
	var conflict *cleeng.ConflictError
	if _, err := e.client.CreateExternalPayment(bg(t), externalPayment(sub, cleeng.StatusCaptured, "P-1")); !errors.As(err, &conflict) || conflict.Existing.ID != first.ID {
		t.Fatalf("a second P-1: %v, want a conflict carrying %s", err, first.ID)
	}
	amount := cleeng.MustDecimal("9.99")
	_, err = e.client.UpdatePayment(bg(t), first.ID, cleeng.UpdatePaymentRequest{Status: cleeng.StatusRefunded, RefundedAmount: &amount})
	must(t, err)

	_, err = e.client.UpdateSubscription(bg(t), sub.SubscriptionID, cleeng.UpdateSubscriptionRequest{Status: cleeng.SubscriptionCancelled})
	must(t, err)
	if s, _ := e.sb.State().Subscription(sub.SubscriptionID); s.Status != cleeng.SubscriptionCancelled {
		t.Fatalf("status %s after cancel", s.Status)
	}
	_, err = e.client.UpdateSubscription(bg(t), e.sub.SubscriptionID, cleeng.UpdateSubscriptionRequest{Status: cleeng.SubscriptionCancelled})
	refused(t, err, http.StatusUnprocessableEntity, "invalid_status")
}
