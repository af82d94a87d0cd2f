package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestInitialPurchase_CapturesAndStoresTheCardInCleeng(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.EncryptedCardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	if out.Status != "captured" || out.ExternalPaymentID == "" {
		t.Fatalf("outcome %+v, want captured with an externalPaymentId", out)
	}
	st := e.dev.Cleeng.State()
	p, _ := st.Payment(out.PaymentID)
	if p.Status != cleeng.StatusCaptured || p.PaymentOperation != cleeng.OperationInitialPayment || p.Amount.String() != "9.99" || p.Currency != "EUR" {
		t.Errorf("Cleeng payment %+v, want captured initial-payment of 9.99 EUR", p)
	}
	var details *cleengsandbox.PaymentDetails
	for i := range st.PaymentDetails {
		if st.PaymentDetails[i].ID == p.PaymentDetailsID {
			details = &st.PaymentDetails[i]
		}
	}
	if details == nil || details.Token == "" || !details.Active {
		t.Fatalf("payment details %+v, want active with the recurring token", details)
	}
	var card map[string]string
	_ = json.Unmarshal(details.PaymentMethodSpecificParams, &card)
	if card["lastCardFourDigits"] != "1111" || card["variant"] != "visa" || card["holderName"] != "Matthew Brown" || card["cardExpirationDate"] != "03/2030" {
		t.Errorf("paymentMethodSpecificParams %v", card)
	}
	charge, ok := e.dev.Adyen.Payment(out.ExternalPaymentID)
	if !ok || charge.Amount != 999 || charge.Currency != "EUR" || charge.Status != adyensandbox.StatusCaptured {
		t.Errorf("Adyen payment %+v, want 999 EUR captured", charge)
	}
	if tokens := e.dev.Adyen.Tokens(string(stack.DemoCustomer.ID)); len(tokens) != 1 || tokens[0] != details.Token {
		t.Errorf("Adyen tokens %v, Cleeng token %q", tokens, details.Token)
	}
}

func TestInitialPurchase_SameOrderTwiceChargesOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	method := adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown")
	first := e.pay(o.ID, method)
	second := e.pay(o.ID, method)
	if first.PaymentID != second.PaymentID || first.ExternalPaymentID != second.ExternalPaymentID || first.Status != "captured" || second.Status != "captured" {
		t.Fatalf("first %+v, second %+v: want the same captured outcome", first, second)
	}
	if n := len(e.dev.Adyen.PaymentsFor(o.ID.String())); n != 1 {
		t.Fatalf("%d Adyen payments for order %s, want 1", n, o.ID)
	}
}

func TestInitialPurchase_RefusedCardRecordsRejectedPayment(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderNotEnoughBalance))
	if out.Status != "rejected" || out.RejectedReason == "" {
		t.Fatalf("outcome %+v, want rejected with a reason", out)
	}
	p, _ := e.dev.Cleeng.State().Payment(out.PaymentID)
	if p.Status != cleeng.StatusRejected || p.RejectedReason != out.RejectedReason {
		t.Errorf("Cleeng payment %+v, want rejected %q", p, out.RejectedReason)
	}
}

func TestInitialPurchase_ThreeDSecureCompletedThroughDetails(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa3DS, "Matthew Brown"))
	if out.Status != "action_required" || len(out.Action) == 0 {
		t.Fatalf("outcome %+v, want action_required with the action", out)
	}
	if n := len(e.dev.Cleeng.State().Payments); n != 0 {
		t.Fatalf("%d Cleeng payments before the shopper acted, want 0", n)
	}
	details, err := adyensandbox.ThreeDSResult(out.Action, true)
	if err != nil {
		t.Fatal(err)
	}
	code, done := e.post("/v1/checkout/payments/details", map[string]any{"orderId": json.Number(o.ID), "details": details})
	if code != http.StatusOK || done.Status != "captured" {
		t.Fatalf("details: %d %+v, want captured", code, done)
	}
	p, _ := e.dev.Cleeng.State().Payment(done.PaymentID)
	if p.Status != cleeng.StatusCaptured || p.ExternalPaymentID != done.ExternalPaymentID {
		t.Errorf("Cleeng payment %+v", p)
	}
	resp, err := e.do(http.MethodGet, "/v1/checkout/payments/"+o.ID.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var status outcome
	_ = json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if status.Status != "captured" || status.PaymentID != done.PaymentID {
		t.Errorf("GET status %+v", status)
	}
}

func TestInitialPurchase_PendingSettledByTheAuthorisationNotification(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	code, out := e.post("/v1/checkout/payments", map[string]any{"orderId": json.Number(o.ID),
		"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderPending), "returnUrl": e.dev.IngressURL + "/return"})
	if code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("checkout: %d %+v", code, out)
	}
	settled := e.settled(o.ID)
	if settled.Status != "captured" {
		t.Fatalf("settled %+v, want captured", settled)
	}
	p, _ := e.dev.Cleeng.State().Payment(settled.PaymentID)
	if p.Status != cleeng.StatusCaptured || p.PaymentDetailsID == "" || p.ExternalPaymentID == "" {
		t.Errorf("Cleeng payment %+v, want captured with the token as payment details", p)
	}
	if n := len(e.dev.Adyen.PaymentsFor(o.ID.String())); n != 1 {
		t.Errorf("%d Adyen payments, want 1", n)
	}
}

func TestFreeTrial_ZeroAuthorisationStoresTokenAndRecordsZeroPayment(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	trial := cleengsandbox.Offer{ID: "S000000001_DE", Title: "Trial", Prices: map[string]cleengsandbox.Price{
		"DE": {Amount: cleeng.MustDecimal("0"), Currency: "EUR", TaxRate: cleeng.MustDecimal("0")}}}
	if err := e.dev.Cleeng.SeedOffer(trial); err != nil {
		t.Fatal(err)
	}
	o := e.order("DE", trial.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"))
	if out.Status != "captured" {
		t.Fatalf("outcome %+v", out)
	}
	p, _ := e.dev.Cleeng.State().Payment(out.PaymentID)
	if p.PaymentOperation != cleeng.OperationInitialFreeTrial || !p.Amount.IsZero() || p.PaymentDetailsID == "" {
		t.Errorf("Cleeng payment %+v, want a zero initial-free-transaction with payment details", p)
	}
	charge, _ := e.dev.Adyen.Payment(out.ExternalPaymentID)
	if charge.Amount != 0 || charge.Token == "" {
		t.Errorf("Adyen payment %+v, want a zero-amount authorisation storing a token", charge)
	}
}

func TestRenewal_AuthoriseThenCaptureRenewsTheSubscription(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	res, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID, cleengsandbox.DunningOptions{AuthorizedFirst: true, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Renewed {
		t.Fatalf("dunning %+v, want renewed", res)
	}
	charges := e.renewalCharges()
	if len(charges) != 1 || charges[0].Status != adyensandbox.StatusCaptured || !charges[0].ManualCapture || charges[0].Amount != 999 {
		t.Fatalf("Adyen renewal charges %+v, want one manual-capture payment of 999 captured", charges)
	}
	renewal := e.payments(sub.SubscriptionID)[1]
	if renewal.Status != cleeng.StatusCaptured || renewal.ExternalPaymentID != charges[0].PSPReference || renewal.PaymentOperation != cleeng.OperationRecurringPayment {
		t.Errorf("Cleeng renewal %+v, want captured recurring-payment with externalPaymentId %s", renewal, charges[0].PSPReference)
	}
}

func TestRenewal_CaptureOnlyChargesTheStoredToken(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	res, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID, cleengsandbox.DunningOptions{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Renewed {
		t.Fatalf("dunning %+v, want renewed", res)
	}
	charges := e.renewalCharges()
	if len(charges) != 1 || charges[0].ManualCapture || charges[0].Status != adyensandbox.StatusCaptured {
		t.Fatalf("Adyen renewal charges %+v, want one direct charge", charges)
	}
	if p := e.payments(sub.SubscriptionID)[1]; p.Status != cleeng.StatusCaptured || p.ExternalPaymentID != charges[0].PSPReference {
		t.Errorf("Cleeng renewal %+v", p)
	}
}

func TestRenewal_AmountsInMinorUnitsForEURJPYKWD(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	want := map[string]struct {
		currency string
		minor    int64
	}{"DE": {"EUR", 999}, "JP": {"JPY", 1200}, "KW": {"KWD", 3125}}
	for country, w := range want {
		sub := e.subscribe(country)
		before := len(e.renewalCharges())
		if _, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID, cleengsandbox.DunningOptions{AuthorizedFirst: true, Attempts: 1}); err != nil {
			t.Fatal(err)
		}
		charges := e.renewalCharges()
		if len(charges) != before+1 {
			t.Fatalf("%s: %d renewal charges, want %d", country, len(charges), before+1)
		}
		if c := charges[len(charges)-1]; c.Currency != w.currency || c.Amount != w.minor || c.Captured != w.minor {
			t.Errorf("%s: charged %d %s (captured %d), want %d %s", country, c.Amount, c.Currency, c.Captured, w.minor, w.currency)
		}
	}
}

func TestRenewal_RefusedEveryAttemptThenTerminated(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	details := e.detailsOf(sub)
	if !e.dev.Adyen.RefuseToken(details.Token, adyensandbox.HolderNotEnoughBalance) {
		t.Fatal("cannot make the token refuse")
	}
	res, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID, cleengsandbox.DunningOptions{AuthorizedFirst: true, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Renewed || !res.Terminated {
		t.Fatalf("dunning %+v, want two rejected attempts then terminated", res)
	}
	if len(e.renewalCharges()) != 2 {
		t.Errorf("%d renewal charges, want 2 (one per attempt)", len(e.renewalCharges()))
	}
	for _, p := range e.payments(sub.SubscriptionID)[1:] {
		if p.Status != cleeng.StatusRejected || p.RejectedReason == "" {
			t.Errorf("renewal payment %+v, want rejected with a reason", p)
		}
	}
	if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.Status != cleeng.SubscriptionTerminated {
		t.Errorf("subscription %s, want terminated", s.Status)
	}
}

func (e *e2e) detailsOf(sub cleengsandbox.Subscription) cleengsandbox.PaymentDetails {
	e.t.Helper()
	return e.details(sub.PaymentDetailsID)
}

// details are the payment details Cleeng holds under id.
func (e *e2e) details(id cleeng.ID) cleengsandbox.PaymentDetails {
	e.t.Helper()
	for _, d := range e.dev.Cleeng.State().PaymentDetails {
		if d.ID == id {
			return d
		}
	}
	e.t.Fatalf("no payment details %s in Cleeng", id)
	return cleengsandbox.PaymentDetails{}
}

// postCardUpdate asks the connector to pay for new card details of the
// demo customer (a Mastercard).
func (e *e2e) postCardUpdate() (int, outcome) {
	e.t.Helper()
	return e.post("/v1/payment-details", map[string]any{"customerId": json.Number(stack.DemoCustomer.ID),
		"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen), "paymentMethod": adyensandbox.CardMethod(adyensandbox.CardMastercard, "Matthew Brown")})
}

// assertOnNewCard checks that a card update answered with new details
// that Cleeng holds active, with a new token, and that sub is on them.
func (e *e2e) assertOnNewCard(sub cleengsandbox.Subscription, old cleengsandbox.PaymentDetails, code int, out outcome) {
	e.t.Helper()
	if code != http.StatusOK || out.Status != "active" || out.PaymentDetailsID == "" {
		e.t.Fatalf("card update: %d %+v, want the new details active", code, out)
	}
	fresh := e.details(out.PaymentDetailsID)
	if !fresh.Active || fresh.Token == "" || fresh.Token == old.Token {
		e.t.Errorf("new details %+v, want active with the new card's token", fresh)
	}
	if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.PaymentDetailsID != fresh.ID {
		e.t.Errorf("subscription on details %s, want %s", s.PaymentDetailsID, fresh.ID)
	}
}

func TestTermination_TerminatesTheSubscription(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: sub.SubscriptionID, Copies: 3})
	testkit.Eventually(t, time.Minute, "subscription terminated", func() bool {
		s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID)
		return s.Status == cleeng.SubscriptionTerminated
	})
}

func TestRefund_RefundedAtAdyenThenInCleengOnConfirmation(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	initial := e.payments(sub.SubscriptionID)[0]
	release := e.holdAdyenNotifications()
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked", Copies: 3})
	testkit.Eventually(t, time.Minute, "the refund sent to Adyen and its webhook handled", func() bool {
		return len(e.adyenNotifications("REFUND", initial.ExternalPaymentID)) == 1 && e.inboxEmpty()
	})
	if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); charge.Refunded != 999 {
		t.Fatalf("Adyen refunded %d before its confirmation, want 999", charge.Refunded)
	}
	if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.Status != cleeng.StatusCaptured {
		t.Fatalf("Cleeng payment %s before Adyen confirmed the refund, want still captured", p.Status)
	}
	release()
	testkit.Eventually(t, time.Minute, "Cleeng payment refunded on Adyen's REFUND notification", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(initial.ID)
		return p.Status == cleeng.StatusRefunded
	})
	if p, _ := e.dev.Cleeng.State().Payment(initial.ID); p.RefundedAmount == nil || p.RefundedAmount.String() != "9.99" {
		t.Errorf("Cleeng refund %+v, want 9.99", p)
	}
	if n := len(e.adyenNotifications("REFUND", initial.ExternalPaymentID)); n != 1 {
		t.Errorf("%d refunds made at Adyen, want 1", n)
	}
}

func TestRefund_FailedAtGatewayIsDeadLetteredWithReason(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderRefundFailed))
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: out.PaymentID})
	letter := e.waitDeadLetter("gateway-events")
	if !strings.Contains(letter, "refund") {
		t.Errorf("dead letter reason %q does not say the refund failed", letter)
	}
	if p, _ := e.dev.Cleeng.State().Payment(out.PaymentID); p.Status != cleeng.StatusCaptured {
		t.Errorf("Cleeng payment %s after a failed refund, want still captured", p.Status)
	}
}

// TestCapture_FailedCaptureTurnsCleengPaymentRejected: Adyen accepts the
// capture ("received"), so Cleeng is told captured at once; the
// CAPTURE_FAILED notification then turns the payment rejected.
func TestCapture_FailedCaptureTurnsCleengPaymentRejected(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa, adyensandbox.HolderCaptureFailed))
	p, _ := e.dev.Cleeng.State().Payment(out.PaymentID)
	release := e.holdAdyenNotifications()
	res, err := e.dev.Cleeng.RunDunning(context.Background(), p.SubscriptionID, cleengsandbox.DunningOptions{AuthorizedFirst: true, Attempts: 1, NoTermination: true})
	if err != nil {
		t.Fatal(err)
	}
	renewals := e.payments(p.SubscriptionID)[1:]
	if !res.Renewed || len(renewals) != 1 || renewals[0].Status != cleeng.StatusCaptured {
		t.Fatalf("dunning %+v, renewals %+v: want the renewal captured before Adyen's notification", res, renewals)
	}
	if n := len(e.adyenNotifications("CAPTURE_FAILED", renewals[0].ExternalPaymentID)); n != 1 {
		t.Fatalf("%d CAPTURE_FAILED notifications waiting, want 1", n)
	}
	release()
	testkit.Eventually(t, time.Minute, "renewal turned rejected by CAPTURE_FAILED", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(renewals[0].ID)
		return p.Status == cleeng.StatusRejected
	})
	if p, _ := e.dev.Cleeng.State().Payment(renewals[0].ID); !strings.Contains(p.RejectedReason, "capture failed at the gateway") {
		t.Errorf("rejected reason %q does not say the capture failed", p.RejectedReason)
	}
}

func TestUpdatePaymentDetails_NewCardBecomesCleengPaymentDetails(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	old := e.detailsOf(sub)
	code, out := e.postCardUpdate()
	e.assertOnNewCard(sub, old, code, out)
}

func TestUpdatePaymentDetails_ThreeDSecureCompletedThroughDetails(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	code, out := e.post("/v1/payment-details", map[string]any{"customerId": json.Number(stack.DemoCustomer.ID),
		"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen), "requestId": "card-update-1",
		"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa3DS, "Matthew Brown")})
	if code != http.StatusOK || out.Status != "action_required" || len(out.Action) == 0 {
		t.Fatalf("update: %d %+v, want action_required", code, out)
	}
	details, err := adyensandbox.ThreeDSResult(out.Action, true)
	if err != nil {
		t.Fatal(err)
	}
	code, done := e.post("/v1/payment-details/details", map[string]any{"customerId": json.Number(stack.DemoCustomer.ID),
		"requestId": "card-update-1", "details": details})
	if code != http.StatusOK || done.Status != "active" || done.PaymentDetailsID == "" {
		t.Fatalf("details: %d %+v, want the new details active", code, done)
	}
	if s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID); s.PaymentDetailsID != done.PaymentDetailsID {
		t.Errorf("subscription on details %s, want %s", s.PaymentDetailsID, done.PaymentDetailsID)
	}
}

func TestDeactivateDetails_CancelsOpenAuthorisations(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	details := e.detailsOf(sub)
	// An authorisation that will never be captured: the card is replaced first.
	authorised := e.authorisedRenewal(sub)
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentDetailsDeactivated), PaymentDetailsID: details.ID, Copies: 2})
	testkit.Eventually(t, time.Minute, "authorisation cancelled in Cleeng", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(authorised.ID)
		return p.Status == cleeng.StatusCancelled
	})
	testkit.Eventually(t, time.Minute, "authorisation cancelled at Adyen", func() bool {
		c, _ := e.dev.Adyen.Payment(authorised.ExternalPaymentID)
		return c.Status == adyensandbox.StatusCancelled
	})
}

// TestRenewal_DuplicateWebhooksConcurrentlyChargeOnce sends each dunning
// webhook three times at once through the ingress (one is stored, the
// duplicate window drops the others) and twice more as copies re-sent past
// that window, to two worker replicas: the operation records alone keep
// the renewal to one charge and one Cleeng payment.
func TestRenewal_DuplicateWebhooksConcurrentlyChargeOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t, func(o *stack.DevOptions) { o.Workers = 2 })
	sub := e.subscribe("DE")
	sendCopies := func(topic cleeng.Topic, date string) {
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				e.emit(cleengsandbox.EmitRequest{Topic: string(topic), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: date})
			})
		}
		wg.Wait()
		e.resendPastDuplicateWindow(topic, 2)
	}
	sendCopies(cleeng.TopicPaymentAuthorisation, "2026-12-01T00:00:00Z")
	testkit.Eventually(t, time.Minute, "renewal authorised and every copy handled", func() bool {
		ps := e.payments(sub.SubscriptionID)
		return len(ps) == 2 && ps[1].Status == cleeng.StatusAuthorized && e.inboxEmpty()
	})
	sendCopies(cleeng.TopicPaymentCapture, "2026-12-04T00:00:00Z")
	testkit.Eventually(t, time.Minute, "renewal captured and every copy handled", func() bool {
		ps := e.payments(sub.SubscriptionID)
		return len(ps) == 2 && ps[1].Status == cleeng.StatusCaptured && e.inboxEmpty()
	})
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges, want 1", n)
	}
	e.assertOnePaymentPerExternalID(0)
}

// TestRefund_UnknownPaymentWithSeveralGatewaysIsDeadLettered: a payment
// the connector has no index for (made before it ran) cannot be routed when
// several gateways are configured; it is dead-lettered, never guessed.
func TestRefund_UnknownPaymentWithSeveralGatewaysIsDeadLettered(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	p, err := e.cleeng.CreatePayment(context.Background(), cleeng.CreatePaymentRequest{OrderID: o.ID, Status: cleeng.StatusCaptured,
		PaymentOperation: cleeng.OperationInitialPayment, ExternalPaymentID: "MADE-BEFORE-THE-CONNECTOR"})
	if err != nil {
		t.Fatal(err)
	}
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: p.ID, Reason: "goodwill"})
	if reason := e.waitDeadLetter("refund"); !strings.Contains(reason, "cannot tell which holds it") {
		t.Errorf("dead-letter reason %q", reason)
	}
	if n := len(e.dev.Adyen.Payments()); n != 0 {
		t.Errorf("%d Adyen calls for an unroutable refund, want 0", n)
	}
}

// TestInitialPurchase_AuthorisationNotifiedWhileAwaitingTheShopperSettlesIt:
// the shopper's 3-D Secure result reached Adyen but its answer was never
// recorded (the worker sending it was killed; a redirect method's shopper
// closed the page at the bank), so Adyen's AUTHORISATION notification is
// the first news of the purchase parked for the shopper: it settles it, and
// the shopper's details arriving after are answered with that outcome.
// (The notification failed the operation as "at a step the flow does not
// have"; chaos found it under kills every half second.)
func TestInitialPurchase_AuthorisationNotifiedWhileAwaitingTheShopperSettlesIt(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	o := e.order("DE", stack.DemoOffer.ID)
	out := e.pay(o.ID, adyensandbox.CardMethod(adyensandbox.CardVisa3DS, "Matthew Brown"))
	if out.Status != "action_required" {
		t.Fatalf("outcome %+v, want action_required", out)
	}
	details, err := adyensandbox.ThreeDSResult(out.Action, true)
	if err != nil {
		t.Fatal(err)
	}
	// The result reaches Adyen as the killed worker sent it: not through the connector.
	body, _ := json.Marshal(map[string]any{"details": details})
	req, _ := http.NewRequest(http.MethodPost, e.dev.AdyenCheckoutURL()+"/payments/details", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", stack.DevAdyenAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/payments/details answered %d", resp.StatusCode)
	}
	testkit.Eventually(t, time.Minute, "the purchase captured in Cleeng from the notification", func() bool {
		p, ok := e.paymentOfOrder(o.ID)
		return ok && p.Status == cleeng.StatusCaptured && e.finished(e.initialKey(o.ID))
	})
	if n := e.deadLetters(); n != 0 {
		t.Errorf("%d messages dead-lettered, want none", n)
	}
	code, done := e.post("/v1/checkout/payments/details", map[string]any{"orderId": json.Number(o.ID), "details": details})
	if p, _ := e.paymentOfOrder(o.ID); code != http.StatusOK || done.Status != "captured" || done.PaymentID != p.ID {
		t.Errorf("the shopper's details after: %d %+v, want captured payment %s", code, done, p.ID)
	}
	if n := len(e.dev.Adyen.PaymentsFor(o.ID.String())); n != 1 {
		t.Errorf("%d Adyen payments for order %s, want 1", n, o.ID)
	}
}
