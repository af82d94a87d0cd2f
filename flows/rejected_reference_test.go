package flows_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// TestRenewal_RejectionWithoutGatewayReferenceIsOneCleengPaymentDespiteLostAnswer:
// Cleeng has no idempotency key; what stops a re-sent POST /payments from
// creating a second payment is Cleeng's 409 for an externalPaymentId it
// already holds. A rejection the gateway gave no reference for (a
// Cleverbridge refusal in interactive mode creates no purchase; a payment
// still pending at the timeout) must be guarded the same way when the answer
// to its POST /payments is lost.
func TestRenewal_RejectionWithoutGatewayReferenceIsOneCleengPaymentDespiteLostAnswer(t *testing.T) {
	tests := []struct {
		name         string
		subscription string // the Cleverbridge sandbox's scenario
		tweak        func(*stack.DevOptions)
		settings     func(*roles.WorkerSettings)
	}{
		{
			name:         "refused without a purchase (interactive mode)",
			subscription: cbsandbox.SubscriptionCustomerActionNeeded,
			settings: func(s *roles.WorkerSettings) {
				c := *s.Cleverbridge
				c.Mode = cleverbridge.ModeInteractive
				s.Cleverbridge = &c
			},
		},
		{
			name:         "offline payment still pending at the timeout",
			subscription: cbsandbox.SubscriptionWaitingForOffline,
			tweak:        func(o *stack.DevOptions) { o.Flows.NotificationTimeout = time.Second },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tweaks []func(*stack.DevOptions)
			if tt.tweak != nil {
				tweaks = append(tweaks, tt.tweak)
			}
			e := newE2E(t, tweaks...)
			if tt.settings != nil {
				if err := e.dev.RestartWorkers(1, tt.settings); err != nil {
					t.Fatal(err)
				}
			}
			sub := e.cleverbridgeSubscription(tt.subscription)
			faults := e.dev.Cleeng.Faults()
			faults.Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments", DropResponse: true, Count: 1})
			date := "2026-12-01T00:00:00Z"
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: date})

			key := ops.Key("charge", sub.SubscriptionID.String(), date)
			store := ops.NewStore(e.dev.Broker.Ops)
			testkit.Eventually(t, 20*time.Second, "renewal "+key+" finished", func() bool {
				rec, err := ops.Get[struct{}](context.Background(), store, key)
				return err == nil && rec.Status != ops.StatusInProgress
			})
			if len(faults.List()) != 0 {
				t.Fatalf("the answer of POST /payments was never dropped: %+v", faults.List())
			}
			if rec, _ := ops.Get[struct{}](context.Background(), store, key); rec.Status != ops.StatusDone {
				t.Fatalf("renewal %s: %s (%s), want done", key, rec.Status, rec.Error)
			}
			payments := e.payments(sub.SubscriptionID)
			if len(payments) != 1 || payments[0].Status != cleeng.StatusRejected {
				t.Fatalf("Cleeng payments %+v, want one rejected", payments)
			}
			if payments[0].ExternalPaymentID == "" {
				t.Errorf("Cleeng payment %s has no externalPaymentId", payments[0].ID)
			}
			e.assertOnePaymentPerExternalID(1) // the dropped answer
		})
	}
}
