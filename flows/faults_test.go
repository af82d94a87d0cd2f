package flows_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestRenewal_LostResponsesChargeOnce drops the answer of each gateway and
// Cleeng call on the renewal path after the call was applied. The invariant
// of DESIGN section 4 must hold: one gateway charge per dunning attempt and
// one Cleeng payment per externalPaymentId.
func TestRenewal_LostResponsesChargeOnce(t *testing.T) {
	t.Parallel()
	type target struct {
		sandbox string // "cleeng" or "adyen"
		method  string
		path    string
	}
	tests := []struct {
		name            string
		authorizedFirst bool
		drop            target
	}{
		{"Cleeng POST /orders (authorise)", true, target{"cleeng", http.MethodPost, "/3.1/orders"}},
		{"Adyen POST /payments (authorise)", true, target{"adyen", http.MethodPost, "/v71/payments"}},
		{"Cleeng POST /payments (authorise)", true, target{"cleeng", http.MethodPost, "/3.1/payments"}},
		{"Cleeng GET authorised_payments (capture)", true, target{"cleeng", http.MethodGet, "/3.1/payment_details/"}},
		{"Adyen POST captures (capture)", true, target{"adyen", http.MethodPost, "/v71/payments/"}},
		{"Cleeng PATCH /payments (capture)", true, target{"cleeng", http.MethodPatch, "/3.1/payments/"}},
		{"Cleeng POST /orders (capture-only)", false, target{"cleeng", http.MethodPost, "/3.1/orders"}},
		{"Adyen POST /payments (capture-only)", false, target{"adyen", http.MethodPost, "/v71/payments"}},
		{"Cleeng POST /payments (capture-only)", false, target{"cleeng", http.MethodPost, "/3.1/payments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t)
			sub := e.subscribe("DE")
			fault := faultinject.Fault{Method: tt.drop.method, PathPrefix: tt.drop.path, DropResponse: true, Count: 1}
			faults := e.dev.Cleeng.Faults()
			if tt.drop.sandbox == "adyen" {
				faults = e.dev.Adyen.Faults()
			}
			faults.Add(fault)
			res, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID,
				cleengsandbox.DunningOptions{AuthorizedFirst: tt.authorizedFirst, Attempts: 1, NoTermination: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(faults.List()) != 0 {
				t.Fatalf("the fault was never triggered: %+v", faults.List())
			}
			if !res.Renewed {
				t.Fatalf("dunning %+v, want renewed despite the lost answer", res)
			}
			if n := len(e.renewalCharges()); n != 1 {
				t.Errorf("%d renewal charges at Adyen, want 1", n)
			}
			renewals := e.payments(sub.SubscriptionID)[1:]
			if len(renewals) != 1 || renewals[0].Status != cleeng.StatusCaptured {
				t.Errorf("Cleeng renewal payments %+v, want one captured", renewals)
			}
			testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
			lostPaymentAnswers := 0
			if tt.drop == (target{"cleeng", http.MethodPost, "/3.1/payments"}) {
				lostPaymentAnswers = 1
			}
			e.assertOnePaymentPerExternalID(lostPaymentAnswers)
		})
	}
}

// TestRenewal_WorkerStoppedBetweenGatewayAndCleengResumesWithoutCharging
// stops every worker while the authorisation is charged but not yet
// reported to Cleeng; the redelivered webhook finishes the operation on a
// fresh worker without a second charge.
func TestRenewal_WorkerStoppedBetweenGatewayAndCleengResumesWithoutCharging(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	// Cleeng holds the payment report: the worker is caught after the charge.
	report := faultinject.NewGate()
	t.Cleanup(report.Open)
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments", Hold: report, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID})
	testkit.Eventually(t, time.Minute, "the worker reporting the renewal to Cleeng", func() bool { return report.Arrived() == 1 })
	if n := len(e.renewalCharges()); n != 1 {
		t.Fatalf("%d renewal charges at Adyen before the report, want 1", n)
	}
	e.dev.StopWorkers()
	if n := len(e.payments(sub.SubscriptionID)); n != 1 {
		t.Fatalf("%d Cleeng payments while the worker was stopped, want only the initial one", n)
	}
	if err := e.dev.StartWorkers(1); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, time.Minute, "renewal reported to Cleeng by the new worker", func() bool {
		ps := e.payments(sub.SubscriptionID)
		return len(ps) == 2 && ps[1].Status == cleeng.StatusAuthorized && e.inboxEmpty()
	})
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges at Adyen, want 1", n)
	}
	// The held report was given up with the stopped worker, never applied.
	e.assertOnePaymentPerExternalID(0)
}

// TestRouting_UnknownPaymentMethodIsDeadLetteredWithWhatToConfigure.
func TestRouting_UnknownPaymentMethodIsDeadLetteredWithWhatToConfigure(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	data := []byte(`{"subscriptionId": ` + sub.SubscriptionID.String() + `, "offerId": "S619117184_US", "customerId": 927751142,
		"paymentDetailsId": ` + sub.PaymentDetailsID.String() + `, "active": true, "dunningAttemptDate": "2026-12-01T00:00:00Z",
		"dunningStatus": "authorize", "currency": "EUR", "paymentCountry": "DE", "paymentMethodId": 999, "token": "tok"}`)
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), Data: data})
	reason := e.waitDeadLetter("authorise")
	if want := "add 999=<gateway> to PAYMENT_METHODS"; !strings.Contains(reason, want) {
		t.Errorf("dead-letter reason %q does not say %q", reason, want)
	}
	if n := len(e.renewalCharges()); n != 0 {
		t.Errorf("%d charges for an unroutable method", n)
	}
}
