package flows_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// orderPayments returns the Cleeng payments of an order.
func (e *e2e) orderPayments(orderID cleeng.ID) []cleeng.Payment {
	var out []cleeng.Payment
	for _, p := range e.dev.Cleeng.State().Payments {
		if p.OrderID == orderID {
			out = append(out, p)
		}
	}
	return out
}

// waitCheckout waits until the order's checkout outcome has status.
func (e *e2e) waitCheckout(orderID cleeng.ID, status string) outcome {
	e.t.Helper()
	var out outcome
	testkit.Eventually(e.t, 15*time.Second, "checkout of order "+orderID.String()+" "+status, func() bool {
		var ok bool
		out, ok = e.checkoutStatus(orderID)
		return ok && out.Status == status
	})
	return out
}

// assertOneCharge checks the order has one payment at Adyen and one Cleeng
// payment, captured, as outcome says.
func (e *e2e) assertOneCharge(orderID cleeng.ID, settled outcome) {
	e.t.Helper()
	charges := e.dev.Adyen.PaymentsFor(orderID.String())
	if len(charges) != 1 || charges[0].Status != adyensandbox.StatusCaptured {
		e.t.Fatalf("Adyen payments of order %s %+v, want one captured", orderID, charges)
	}
	paid := e.orderPayments(orderID)
	if len(paid) != 1 || paid[0].ID != settled.PaymentID || paid[0].ExternalPaymentID != charges[0].PSPReference || paid[0].Status != cleeng.StatusCaptured {
		e.t.Fatalf("Cleeng payments of order %s %+v, want one captured: %s with %s", orderID, paid, settled.PaymentID, charges[0].PSPReference)
	}
	e.assertOnePaymentPerExternalID(0)
}

// assertAnswered checks the latest call was answered 200 with settled.
func (c *frontEndCall) assertAnswered(settled outcome) {
	c.e.t.Helper()
	a := c.last()
	if a.code != http.StatusOK || a.out.Status != settled.Status || a.out.PaymentID != settled.PaymentID ||
		a.out.ExternalPaymentID != settled.ExternalPaymentID || a.out.PaymentDetailsID != settled.PaymentDetailsID {
		c.e.t.Fatalf("POST %s after it finished answered %d %+v, want 200 with the stored outcome %+v", c.path, a.code, a.out, settled)
	}
}

// detailsOutcome is the part of a payment-details update's record the test
// reads: its answer.
type detailsOutcome struct {
	Outcome *outcome `json:"outcome"`
}

// waitDetailsUpdate waits until the payment-details update key has an
// outcome with status, and returns it.
func (e *e2e) waitDetailsUpdate(key, status string) outcome {
	e.t.Helper()
	store := ops.NewStore(e.dev.Broker.Ops)
	var out outcome
	testkit.Eventually(e.t, 15*time.Second, "payment-details update "+key+" "+status, func() bool {
		rec, err := ops.Get[detailsOutcome](context.Background(), store, key)
		if err != nil || rec.State.Outcome == nil {
			return false
		}
		out = *rec.State.Outcome
		return out.Status == status
	})
	return out
}

// assertNewDetails checks Cleeng holds exactly one more set of payment
// details than before, the one of out, and Adyen one zero-amount
// authorisation for the update ref.
func (e *e2e) assertNewDetails(before int, out outcome, ref string) {
	e.t.Helper()
	st := e.dev.Cleeng.State()
	var created bool
	for _, d := range st.PaymentDetails {
		created = created || d.ID == out.PaymentDetailsID
	}
	if len(st.PaymentDetails) != before+1 || !created {
		e.t.Fatalf("%d Cleeng payment details, want %d with %s", len(st.PaymentDetails), before+1, out.PaymentDetailsID)
	}
	if auths := e.dev.Adyen.PaymentsFor(ref); len(auths) != 1 || auths[0].Amount != 0 || auths[0].Status != adyensandbox.StatusAuthorised {
		e.t.Fatalf("Adyen payments of %s %+v, want one zero-amount authorisation", ref, auths)
	}
}

// TestDuplicates_FrontEndCallsPastTheWindowChargeOnce: a front-end sends a
// checkout call again (a double click, a retry after a timeout), also after
// the inbox's duplicate window. Concurrent copies charge once; a copy after
// the operation finished is answered with the stored outcome and charges
// nothing.
func TestDuplicates_FrontEndCallsPastTheWindowChargeOnce(t *testing.T) {
	// A short wait for the outcome: the copies are sent while no worker runs.
	shared := newDupE2E(t, func(o *stack.DevOptions) { o.SyncWait = 100 * time.Millisecond })
	customer := json.Number(stack.DemoCustomer.ID)
	customerID, _ := customer.Int64()
	method := json.Number(stack.DevPaymentMethodAdyen)

	// purchase pays a new order with card: the call's copies, or the 3-D
	// Secure details' when the card asks for them.
	purchase := func(t *testing.T, card string) {
		e := shared.in(t)
		o := e.order("DE", stack.DemoOffer.ID)
		call := e.frontEndCall("/v1/checkout/payments", messages.SubjectCheckoutPayment, map[string]any{"orderId": json.Number(o.ID),
			"paymentMethod": adyensandbox.CardMethod(card, "Matthew Brown"), "returnUrl": e.dev.IngressURL + "/return"})
		if card == adyensandbox.CardVisa3DS {
			call.send()
			result, err := adyensandbox.ThreeDSResult(e.waitCheckout(o.ID, "action_required").Action, true)
			if err != nil {
				t.Fatal(err)
			}
			call = e.frontEndCall("/v1/checkout/payments/details", messages.SubjectCheckoutDetails, map[string]any{"orderId": json.Number(o.ID), "details": result})
		}
		var settled *outcome
		e.actsOnce(call, 0, func() {
			if settled != nil {
				call.assertAnswered(*settled) // the copy after it finished
			} else {
				s := e.waitCheckout(o.ID, "captured")
				settled = &s
			}
			e.assertOneCharge(o.ID, *settled)
		})
	}
	t.Run("payment of the same order", func(t *testing.T) { purchase(t, adyensandbox.CardVisa) })
	t.Run("3-D Secure details of the same order", func(t *testing.T) { purchase(t, adyensandbox.CardVisa3DS) })

	// update replaces the shopper's card under requestID: the call's copies,
	// or the 3-D Secure details' when the card asks for them.
	update := func(t *testing.T, card, requestID string) {
		e := shared.in(t)
		before := len(e.dev.Cleeng.State().PaymentDetails)
		call := e.frontEndCall("/v1/payment-details", messages.SubjectCheckoutPaymentDetails, map[string]any{"customerId": customer,
			"paymentMethodId": method, "requestId": requestID, "paymentMethod": adyensandbox.CardMethod(card, "Matthew Brown")})
		key := messages.PaymentDetailsKey(customerID, requestID)
		if card == adyensandbox.CardMC3DS {
			call.send()
			result, err := adyensandbox.ThreeDSResult(e.waitDetailsUpdate(key, "action_required").Action, true)
			if err != nil {
				t.Fatal(err)
			}
			call = e.frontEndCall("/v1/payment-details/details", messages.SubjectCheckoutPaymentDetailsAction, map[string]any{"customerId": customer,
				"requestId": requestID, "details": result})
		}
		var active *outcome
		e.actsOnce(call, 0, func() {
			if active != nil {
				call.assertAnswered(*active) // the copy after it finished
			} else {
				a := e.waitDetailsUpdate(key, "active")
				active = &a
			}
			e.assertNewDetails(before, *active, "details-"+customer.String()+"-"+requestID)
		})
	}
	t.Run("payment-details update with the same requestId", func(t *testing.T) { update(t, adyensandbox.CardMastercard, "card-update-dup") })
	t.Run("3-D Secure details of the same payment-details update", func(t *testing.T) { update(t, adyensandbox.CardMC3DS, "card-update-3ds-dup") })
}
