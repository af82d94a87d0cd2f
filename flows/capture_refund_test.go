package flows_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// A capture's report to Cleeng lands but its answer is lost; before the
// retry reaches Cleeng the payment is refunded (Cleeng asked, the gateway
// refunded). The retry finds the payment refunded, not authorised: the
// report landed, so the capture is done, not dead-lettered for an operator
// to check a payment that is right (found by make chaos).
func TestCapture_ReportAnswerLostThenRefundedIsDone(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	retry := faultinject.NewGate()
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPatch, PathPrefix: "/3.1/payments/", DropResponse: true, Count: 1})
	e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPatch, PathPrefix: "/3.1/payments/", Hold: retry, Count: 1})

	// The capture's first report is applied and its answer dropped: Cleeng
	// holds the renewal captured, and the dunning cycle sees it renewed.
	res, err := e.dev.Cleeng.RunDunning(context.Background(), sub.SubscriptionID, cleengsandbox.DunningOptions{AuthorizedFirst: true, Attempts: 1, NoTermination: true})
	if err != nil || !res.Renewed {
		t.Fatalf("dunning %+v, %v: want renewed", res, err)
	}
	renewal := e.payments(sub.SubscriptionID)[1]
	testkit.Eventually(t, time.Minute, "the capture's retry held before Cleeng", func() bool { return retry.Arrived() > 0 })

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: renewal.ID, Reason: "goodwill"})
	testkit.Eventually(t, time.Minute, "the renewal refunded in Cleeng", func() bool {
		p, _ := e.dev.Cleeng.State().Payment(renewal.ID)
		return p.Status == cleeng.StatusRefunded
	})
	retry.Open()
	testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
	if n := testkit.StreamMsgs(t, e.dev.Broker.JS, broker.DLQStream); n != 0 {
		t.Fatalf("%d dead letters, want none: the capture's report had landed", n)
	}
	if p, _ := e.dev.Cleeng.State().Payment(renewal.ID); p.Status != cleeng.StatusRefunded {
		t.Errorf("renewal %+v, want it refunded still", p)
	}
}

// A card update's deactivation of the old payment details arrives while the
// capture of a dunning attempt authorised on them is at Adyen. The capture
// claimed the authorisation first: the deactivation leaves it to the
// capture, which captures it and reports it captured (found by make chaos:
// the deactivation cancelled in Cleeng the payment Adyen then captured, and
// the capture's report was dead-lettered).
func TestCapture_DeactivationDuringTheCaptureLeavesTheAuthorisationToIt(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	sub := e.subscribe("DE")
	details := e.detailsOf(sub)
	authorised := e.authorisedRenewal(sub)
	atAdyen := faultinject.NewGate()
	e.dev.Adyen.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/v71/payments/" + authorised.ExternalPaymentID + "/captures", Hold: atAdyen, Count: 1})
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: "2026-12-04T00:00:00Z"})
	testkit.Eventually(t, time.Minute, "the capture held at Adyen", func() bool { return atAdyen.Arrived() > 0 })

	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentDetailsDeactivated), PaymentDetailsID: details.ID})
	store := ops.NewStore(e.dev.Broker.Ops)
	testkit.Eventually(t, time.Minute, "the deactivation done", func() bool {
		rec, err := ops.Get[json.RawMessage](context.Background(), store, ops.Key("deactivate-details", details.ID.String()))
		return err == nil && rec.Status == ops.StatusDone
	})
	atAdyen.Open()
	testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
	if n := testkit.StreamMsgs(t, e.dev.Broker.JS, broker.DLQStream); n != 0 {
		t.Errorf("%d dead letters, want none: %s", n, e.waitDeadLetter("capture"))
	}
	if p, _ := e.dev.Cleeng.State().Payment(authorised.ID); p.Status != cleeng.StatusCaptured {
		t.Errorf("renewal %s in Cleeng, want captured", p.Status)
	}
	if a, _ := e.dev.Adyen.Payment(authorised.ExternalPaymentID); a.Status != adyensandbox.StatusCaptured {
		t.Errorf("renewal %s at Adyen, want captured", a.Status)
	}
}
