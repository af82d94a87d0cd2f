package flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/cmd/connector/roles"
	"github.com/cleeng-connector/connector/gateways/adyen"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// unroutedMethod is a paymentMethodId Cleeng uses but PAYMENT_METHODS lacks.
const unroutedMethod = "777"

// unroutedReason is what a flow says about unroutedMethod.
const unroutedReason = "add " + unroutedMethod + "=<gateway> to PAYMENT_METHODS"

// renewalAttempt is the dunning attempt the replay tests renew.
const renewalAttempt = "2026-12-01T00:00:00Z"

// unroutedSubscription is a subscription paying with the demo customer's
// stored Adyen card under unroutedMethod.
func (e *e2e) unroutedSubscription() cleengsandbox.Subscription {
	e.t.Helper()
	token := e.detailsOf(e.subscribe("DE")).Token
	sub, err := e.dev.Cleeng.SeedSubscription(cleengsandbox.SubscriptionSeed{
		CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID, Country: "DE",
		PaymentDetails: &cleengsandbox.PaymentDetailsSeed{PaymentMethodID: unroutedMethod, Token: token},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

// routeUnroutedMethod restarts the workers with unroutedMethod=adyen added
// to PAYMENT_METHODS: the operator's fix.
func (e *e2e) routeUnroutedMethod() {
	e.t.Helper()
	if err := e.dev.RestartWorkers(1, func(s *roles.WorkerSettings) { s.Methods[unroutedMethod] = adyen.Name }); err != nil {
		e.t.Fatal(err)
	}
}

// authoriseRenewal sends sub's authorisation webhook for renewalAttempt
// and returns the key of its operation.
func (e *e2e) authoriseRenewal(sub cleengsandbox.Subscription) string {
	e.t.Helper()
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID,
		DunningAttemptDate: renewalAttempt})
	return ops.Key("authorise", sub.SubscriptionID.String(), renewalAttempt)
}

// letterSaying waits for the one letter of flow, and checks its reason.
func (e *e2e) letterSaying(flow, reason string) deadletter.Letter {
	e.t.Helper()
	if got := e.waitDeadLetter(flow); !strings.Contains(got, reason) {
		e.t.Fatalf("dead-letter reason %q does not say %q", got, reason)
	}
	letters, err := deadletter.List(context.Background(), e.dev.Broker.JS, flow)
	if err != nil || len(letters) != 1 {
		e.t.Fatalf("letters of %s: %d, %v; want 1", flow, len(letters), err)
	}
	return letters[0]
}

// record reads an operation record, its state left undecoded.
func (e *e2e) record(key string) *ops.Record[json.RawMessage] {
	e.t.Helper()
	rec, err := ops.Get[json.RawMessage](context.Background(), ops.NewStore(e.dev.Broker.Ops), key)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// waitFinished waits until the operation under key is no longer in progress and
// returns its record: the flow reports to Cleeng before it records the
// outcome, so a payment visible in Cleeng does not mean the record is final.
func (e *e2e) waitFinished(key string) *ops.Record[json.RawMessage] {
	e.t.Helper()
	var rec *ops.Record[json.RawMessage]
	testkit.Eventually(e.t, 10*time.Second, "operation "+key+" finished", func() bool {
		rec = e.record(key)
		return rec.Status != ops.StatusInProgress
	})
	return rec
}

func (e *e2e) replay(l deadletter.Letter) deadletter.Replayed {
	e.t.Helper()
	r, err := deadletter.Replay(context.Background(), e.dev.Broker.JS, l.Seq)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// waitRenewed waits for sub's one renewal payment, authorised in Cleeng.
func (e *e2e) waitRenewed(sub cleengsandbox.Subscription) {
	e.t.Helper()
	testkit.Eventually(e.t, 15*time.Second, "the renewal reported to Cleeng", func() bool {
		ps := e.payments(sub.SubscriptionID)
		return len(ps) == 1 && ps[0].Status == cleeng.StatusAuthorized
	})
}

// assertNoDeadLetters checks the dead-letter stream is empty.
func (e *e2e) assertNoDeadLetters() {
	e.t.Helper()
	if left, err := deadletter.List(context.Background(), e.dev.Broker.JS, ""); err != nil || len(left) != 0 {
		e.t.Errorf("dead letters: %+v, %v; want none", left, err)
	}
}

// pastAttempt is a failed attempt as a test expects it in History: where
// it stopped, part of its error, and the letter whose replay re-opened it.
type pastAttempt struct {
	step, error string
	letter      deadletter.Letter
}

// assertReopened checks the operation finished at attempt len(failed)+1
// after the failed attempts given.
func (e *e2e) assertReopened(key string, failed ...pastAttempt) {
	e.t.Helper()
	rec := e.waitFinished(key)
	if rec.Status != ops.StatusDone || rec.Attempt() != len(failed)+1 || len(rec.History) != len(failed) {
		e.t.Fatalf("operation %s: %s at attempt %d, history %+v; want done at attempt %d", key, rec.Status, rec.Attempt(), rec.History, len(failed)+1)
	}
	for i, want := range failed {
		got := rec.History[i]
		if got.Step != want.step || !strings.Contains(got.Error, want.error) || got.ReopenedBy != deadletter.ReplayMarker(want.letter) {
			e.t.Errorf("attempt %d: %+v; want stopped at %q with %q, re-opened by %q", i+1, got, want.step, want.error, deadletter.ReplayMarker(want.letter))
		}
	}
}

func TestReplay_FailedRenewalResumesAsASecondAttemptAndChargesOnce(t *testing.T) {
	tests := []struct {
		name string
		// fails sets up the renewal to fail permanently and returns its subscription.
		fails func(e *e2e) cleengsandbox.Subscription
		// fix is the operator's fix before the replay.
		fix func(e *e2e)
		// failedAt and reason are where and why the first attempt stopped.
		failedAt, reason string
	}{
		{
			name:     "paymentMethodId missing from PAYMENT_METHODS, then added",
			fails:    (*e2e).unroutedSubscription,
			fix:      (*e2e).routeUnroutedMethod,
			failedAt: "start", reason: unroutedReason,
		},
		{
			// The first attempt charged at Adyen: resuming at its recorded
			// step reports that charge and never makes a second one.
			name: "Cleeng refused the payment report after the charge, then accepts it",
			fails: func(e *e2e) cleengsandbox.Subscription {
				sub := e.subscribe("DE")
				e.dev.Cleeng.Faults().Add(faultinject.Fault{Method: http.MethodPost, PathPrefix: "/3.1/payments",
					ErrorRate: 1, ErrorStatus: http.StatusUnprocessableEntity, Count: 1})
				return sub
			},
			fix:      func(*e2e) {}, // the refusal was one-off
			failedAt: "gateway", reason: "422",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newE2E(t)
			sub := tt.fails(e)
			before := len(e.payments(sub.SubscriptionID))
			key := e.authoriseRenewal(sub)
			letter := e.letterSaying("authorise", tt.reason)
			if rec := e.record(key); rec.Status != ops.StatusFailed {
				t.Fatalf("operation %s is %s before the replay, want failed", key, rec.Status)
			}
			tt.fix(e)

			e.replay(letter)
			testkit.Eventually(t, 15*time.Second, "the replayed renewal reported to Cleeng", func() bool {
				ps := e.payments(sub.SubscriptionID)
				return len(ps) == before+1 && ps[len(ps)-1].Status == cleeng.StatusAuthorized
			})
			e.assertReopened(key, pastAttempt{tt.failedAt, tt.reason, letter})
			if n := len(e.renewalCharges()); n != 1 {
				t.Errorf("%d renewal charges at Adyen, want 1", n)
			}
			e.assertNoDeadLetters()
			e.assertOnePaymentPerExternalID(0)
		})
	}
}

func TestReplay_InitialPurchaseWithAnUnroutedMethodIsCapturedAfterTheFix(t *testing.T) {
	e := newE2E(t)
	price := stack.DemoOffer.Prices["DE"]
	o, err := e.cleeng.CreateOrder(context.Background(), cleeng.CreateOrderRequest{
		CustomerID: stack.DemoCustomer.ID, OfferID: stack.DemoOffer.ID, Currency: price.Currency, Country: "DE",
		PaymentMethodID: unroutedMethod,
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out := e.post("/v1/checkout/payments", map[string]any{"orderId": json.Number(o.ID),
		"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, "Matthew Brown"), "returnUrl": e.dev.IngressURL + "/return"})
	if code != http.StatusOK || out.Status != "failed" {
		t.Fatalf("checkout: %d %+v, want failed", code, out)
	}
	letter := e.letterSaying("initial-purchase", unroutedReason)
	e.routeUnroutedMethod()

	e.replay(letter)
	var settled outcome
	testkit.Eventually(t, 15*time.Second, "the shopper's order captured", func() bool {
		var ok bool
		settled, ok = e.checkoutStatus(o.ID)
		return ok && settled.Status == "captured"
	})
	if p, _ := e.dev.Cleeng.State().Payment(settled.PaymentID); p.Status != cleeng.StatusCaptured || p.OrderID != o.ID {
		t.Errorf("Cleeng payment %+v, want the order captured", p)
	}
	if n := len(e.dev.Adyen.PaymentsFor(o.ID.String())); n != 1 {
		t.Errorf("%d Adyen payments for the order, want 1", n)
	}
	e.assertReopened(e.initialKey(o.ID), pastAttempt{"start", unroutedReason, letter})
	e.assertNoDeadLetters()
}

func TestReplay_ConcurrentReplaysOfOneLetterReopenOnce(t *testing.T) {
	e := newE2E(t)
	sub := e.unroutedSubscription()
	key := e.authoriseRenewal(sub)
	letter := e.letterSaying("authorise", unroutedReason)
	e.routeUnroutedMethod()

	const n = 4
	var wg sync.WaitGroup
	stored := make(chan deadletter.Replayed, n)
	for range n {
		wg.Go(func() {
			r, err := deadletter.Replay(context.Background(), e.dev.Broker.JS, letter.Seq)
			switch {
			case errors.Is(err, deadletter.ErrNotFound): // replayed and deleted by another
			case err != nil:
				t.Error(err)
			case !r.Duplicate:
				stored <- r
			}
		})
	}
	wg.Wait()
	close(stored)
	if len(stored) != 1 {
		t.Fatalf("%d replays stored in the inbox, want 1", len(stored))
	}
	e.waitRenewed(sub)
	e.assertReopened(key, pastAttempt{"start", unroutedReason, letter})
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges at Adyen, want 1", n)
	}
}

// TestReplay_SameLetterAgainPastTheDuplicateWindowStartsNoThirdAttempt:
// a replay whose letter was not deleted (the process died after the
// inbox's ack) is replayed again once the inbox's duplicate window has
// passed, so the inbox stores it twice. The attempt the first replay
// started has failed again meanwhile: the second copy must not start
// another; the new letter of that attempt is what replays it.
func TestReplay_SameLetterAgainPastTheDuplicateWindowStartsNoThirdAttempt(t *testing.T) {
	logs := &testkit.Logs{}
	e := newE2E(t, func(o *stack.DevOptions) {
		o.Broker.DuplicateWindow = 200 * time.Millisecond
		o.Logger = zerolog.New(logs)
	})
	sub := e.unroutedSubscription()
	key := e.authoriseRenewal(sub)
	first := e.letterSaying("authorise", unroutedReason)

	// Replayed before the fix: the second attempt fails as the first did.
	// The workers are stopped while the replay is stored, to keep a copy
	// of the very message the replay published.
	e.dev.StopWorkers()
	r := e.replay(first)
	inbox, err := e.dev.Broker.JS.Stream(context.Background(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := inbox.GetMsg(context.Background(), r.InboxSeq)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dev.StartWorkers(1); err != nil {
		t.Fatal(err)
	}
	second := e.letterSaying("authorise", unroutedReason)

	again := &nats.Msg{Subject: stored.Subject, Data: stored.Data, Header: stored.Header}
	testkit.Eventually(t, 10*time.Second, "the same replay stored again past the duplicate window", func() bool {
		ack, err := e.dev.Broker.JS.PublishMsg(context.Background(), again, jetstream.WithMsgID(stored.Header.Get(jetstream.MsgIDHeader)))
		return err == nil && !ack.Duplicate
	})
	testkit.Eventually(t, 10*time.Second, "the repeated replay reported as changing nothing", func() bool {
		_, ok := logs.Line(`"op":"`+key+`"`, "replay changed nothing", deadletter.ReplayMarker(first))
		return ok
	})
	if rec := e.record(key); rec.Status != ops.StatusFailed || rec.Attempt() != 2 {
		t.Fatalf("operation %s after the repeated replay: %s at attempt %d, want failed at attempt 2", key, rec.Status, rec.Attempt())
	}

	e.routeUnroutedMethod()
	e.replay(second)
	e.waitRenewed(sub)
	e.assertReopened(key, pastAttempt{"start", unroutedReason, first}, pastAttempt{"start", unroutedReason, second})
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges at Adyen, want 1", n)
	}
}

// TestReplay_LetterOfADoneOperationChangesNothingAndSaysSo: a second letter
// of an operation (the same webhook dead-lettered twice) is replayed after
// the first one's replay finished the operation.
func TestReplay_LetterOfADoneOperationChangesNothingAndSaysSo(t *testing.T) {
	logs := &testkit.Logs{}
	e := newE2E(t, func(o *stack.DevOptions) { o.Logger = zerolog.New(logs) })
	sub := e.unroutedSubscription()
	key := e.authoriseRenewal(sub)
	first := e.letterSaying("authorise", unroutedReason)
	e.routeUnroutedMethod()
	e.replay(first)
	e.waitRenewed(sub)
	done := e.waitFinished(key)

	// The letter as the runtime stores a second delivery of the webhook:
	// the same payload and headers, but its own id in the dead-letter stream.
	header := maps.Clone(first.Header)
	header.Del(jetstream.MsgIDHeader)
	ack, err := e.dev.Broker.JS.PublishMsg(context.Background(),
		&nats.Msg{Subject: broker.SubjectDLQ + ".authorise", Data: first.Data, Header: header})
	if err != nil {
		t.Fatal(err)
	}
	second, err := deadletter.Show(context.Background(), e.dev.Broker.JS, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if second.Flow != "authorise" || second.Header.Get(workers.HeaderOriginalSubject) == "" {
		t.Fatalf("second letter %+v", second)
	}
	e.replay(second)
	testkit.Eventually(t, 10*time.Second, "the replay reported as changing nothing", func() bool {
		_, ok := logs.Line(`"op":"`+key+`"`, "replay changed nothing", "already done", deadletter.ReplayMarker(second))
		return ok
	})
	if rec := e.record(key); rec.Revision() != done.Revision() || rec.Status != ops.StatusDone || rec.Attempt() != 2 {
		t.Errorf("operation %s changed by the replay: %s at attempt %d, revision %d (was %d)", key, rec.Status, rec.Attempt(), rec.Revision(), done.Revision())
	}
	if n, ps := len(e.renewalCharges()), e.payments(sub.SubscriptionID); n != 1 || len(ps) != 1 {
		t.Errorf("%d renewal charges, %d Cleeng payments; want 1 and 1", n, len(ps))
	}
	e.assertNoDeadLetters()
}
