package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/messages"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.RemoveBinaries() // the connector built for the crash tests
	os.Exit(code)
}

// crashAckWait is the worker processes' AckWait: short, so a crashed
// worker's message comes back within the test.
const crashAckWait = 3 * time.Second

// resumeWithin is how long after a fresh worker starts the operation a
// killed worker left must be finished: AckWait plus 10 s (issue 10).
const resumeWithin = crashAckWait + 10*time.Second

// The dunning attempts of the renewals the crash tests interrupt.
const (
	authoriseDate = "2026-12-01T00:00:00Z"
	captureDate   = "2026-12-04T00:00:00Z"
)

// boundary is a call whose answer the sandbox holds, after applying it,
// while the worker that made it is killed.
type boundary struct {
	sandbox string // "adyen" or "cleeng"
	method  string
	path    string // relative to the sandbox's mount, as faultinject matches it
}

var (
	atAdyenPayment = boundary{"adyen", http.MethodPost, "/v71/payments"}
	// captures and refunds: /payments/{pspReference}/captures|refunds
	atAdyenModification     = boundary{"adyen", http.MethodPost, "/v71/payments/"}
	atCleengOrder           = boundary{"cleeng", http.MethodPost, "/3.1/orders"}
	atCleengPayment         = boundary{"cleeng", http.MethodPost, "/3.1/payments"}
	atCleengUpdate          = boundary{"cleeng", http.MethodPatch, "/3.1/payments/"}
	atCleengTermination     = boundary{"cleeng", http.MethodPatch, "/3.1/subscriptions/"}
	atAdyenTokenDeletion    = boundary{"adyen", http.MethodDelete, "/v71/storedPaymentMethods/"}
	atCleengDetailsDeletion = boundary{"cleeng", http.MethodDelete, "/3.1/payment_details/"}
)

// crashOperation is one business operation the harness interrupts.
type crashOperation struct {
	// start sends the event that starts it.
	start func()
	// records are the keys of its operation records.
	records []string
	// reported tells whether its outcome reached Cleeng.
	reported func() bool
	// oneEffect checks the gateway made its effect exactly once.
	oneEffect func(t *testing.T)
}

// crashFlow prepares an operation of one flow, using the first worker for
// what must exist before it (a subscription, an authorisation).
type crashFlow struct {
	name  string
	setUp func(e *e2e) crashOperation
	// env configures the worker processes beyond workerEnv.
	env []string
}

// crashInitialBy is an initial purchase paid by a card of holder.
func crashInitialBy(name, holder string) crashFlow {
	return crashFlow{name: name, setUp: func(e *e2e) crashOperation {
		o := e.order("DE", stack.DemoOffer.ID)
		body, _ := json.Marshal(map[string]any{"orderId": json.Number(o.ID),
			"paymentMethod": adyensandbox.CardMethod(adyensandbox.CardVisa, holder), "returnUrl": e.dev.IngressURL + "/return"})
		return crashOperation{
			start: func() {
				// The front-end's call waits while the worker is held and
				// is answered 202 pending: the outcome is checked in Cleeng.
				go func() {
					if resp, err := e.do(http.MethodPost, "/v1/checkout/payments", body); err == nil {
						resp.Body.Close()
					}
				}()
			},
			records: []string{e.initialKey(o.ID)},
			reported: func() bool {
				p, ok := e.paymentOfOrder(o.ID)
				return ok && p.Status == cleeng.StatusCaptured
			},
			oneEffect: func(t *testing.T) {
				if n := len(e.dev.Adyen.PaymentsFor(o.ID.String())); n != 1 {
					t.Errorf("%d Adyen payments for order %s, want 1", n, o.ID)
				}
			},
		}
	}}
}

var (
	crashInitial = crashInitialBy("initial purchase", "Matthew Brown")
	// Adyen answers it pending: its AUTHORISATION notification resumes it
	// and reports it to Cleeng, so the redelivered notification must finish it.
	crashInitialPending = crashInitialBy("initial purchase settled by notification", adyensandbox.HolderPending)
	crashAuthorise      = crashFlow{name: "renewal authorise", setUp: func(e *e2e) crashOperation {
		sub := e.subscribe("DE").SubscriptionID
		return crashOperation{
			start: func() {
				e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub, DunningAttemptDate: authoriseDate})
			},
			records:   []string{ops.Key("authorise", sub.String(), authoriseDate)},
			reported:  func() bool { return e.renewalReported(sub, cleeng.StatusAuthorized) },
			oneEffect: func(t *testing.T) { e.assertOneRenewalCharge(t) },
		}
	}}
	crashCaptureOnly = crashFlow{name: "renewal capture-only", setUp: func(e *e2e) crashOperation {
		sub := e.subscribe("DE").SubscriptionID
		return crashOperation{
			start: func() {
				e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub, DunningAttemptDate: captureDate})
			},
			records:   []string{ops.Key("charge", sub.String(), captureDate)},
			reported:  func() bool { return e.renewalReported(sub, cleeng.StatusCaptured) },
			oneEffect: func(t *testing.T) { e.assertOneRenewalCharge(t) },
		}
	}}
	crashCapture = crashFlow{name: "renewal capture", setUp: func(e *e2e) crashOperation {
		sub := e.subscribe("DE").SubscriptionID
		e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub, DunningAttemptDate: authoriseDate})
		testkit.Eventually(e.t, 15*time.Second, "renewal authorised", func() bool { return e.renewalReported(sub, cleeng.StatusAuthorized) })
		return crashOperation{
			start: func() {
				e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub, DunningAttemptDate: captureDate})
			},
			records:  []string{ops.Key("capture", sub.String(), captureDate)},
			reported: func() bool { return e.renewalReported(sub, cleeng.StatusCaptured) },
			oneEffect: func(t *testing.T) {
				psp := e.payments(sub)[1].ExternalPaymentID
				charge, _ := e.dev.Adyen.Payment(psp)
				captures := len(e.adyenNotifications("CAPTURE", psp))
				if captures != 1 || charge.Captured != charge.Amount {
					t.Errorf("%d captures of %s, %d of %d captured; want one capture of the whole amount", captures, psp, charge.Captured, charge.Amount)
				}
			},
		}
	}}
)

// crashCaptureFailed turns a captured renewal rejected on Adyen's
// CAPTURE_FAILED, held until the capture finished.
var crashCaptureFailed = crashFlow{name: "failed capture", setUp: func(e *e2e) crashOperation {
	sub := e.subscribeWith(adyensandbox.CardAmex, adyensandbox.HolderCaptureFailed)
	renewal := e.authorisedRenewal(sub)
	release := e.holdAdyenNotifications()
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentCapture), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: captureDate})
	e.waitStep(ops.Key("capture", sub.SubscriptionID.String(), captureDate), "done")
	return crashOperation{
		start:   release,
		records: []string{ops.Key("capture-failed", "adyen", renewal.ExternalPaymentID)},
		reported: func() bool {
			p, _ := e.dev.Cleeng.State().Payment(renewal.ID)
			return p.Status == cleeng.StatusRejected
		},
		oneEffect: func(t *testing.T) {
			if n := len(e.adyenNotifications("CAPTURE_FAILED", renewal.ExternalPaymentID)); n != 1 {
				t.Errorf("%d failed captures of %s, want 1", n, renewal.ExternalPaymentID)
			}
		},
	}
}}

var crashRefund = crashFlow{name: "refund", setUp: func(e *e2e) crashOperation {
	initial := e.payments(e.subscribe("DE").SubscriptionID)[0]
	return crashOperation{
		start: func() {
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicRefundPayment), PaymentID: initial.ID, Reason: "customer asked"})
		},
		records: []string{ops.Key("refund", initial.ID.String())},
		reported: func() bool {
			p, _ := e.dev.Cleeng.State().Payment(initial.ID)
			return p.Status == cleeng.StatusRefunded
		},
		oneEffect: func(t *testing.T) {
			refunds := len(e.adyenNotifications("REFUND", initial.ExternalPaymentID))
			if charge, _ := e.dev.Adyen.Payment(initial.ExternalPaymentID); refunds != 1 || charge.Refunded != charge.Amount {
				t.Errorf("%d refunds of %s, %d of %d refunded; want one refund of the whole amount", refunds, initial.ExternalPaymentID, charge.Refunded, charge.Amount)
			}
		},
	}
}}

var crashTermination = crashFlow{name: "termination", setUp: func(e *e2e) crashOperation {
	sub := e.subscribe("DE").SubscriptionID
	charges := len(e.renewalCharges())
	return crashOperation{
		start: func() {
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicTermination), SubscriptionID: sub})
		},
		records: []string{ops.Key("terminate", sub.String())},
		reported: func() bool {
			s, _ := e.dev.Cleeng.State().Subscription(sub)
			return s.Status == cleeng.SubscriptionTerminated
		},
		oneEffect: func(t *testing.T) {
			if n := len(e.renewalCharges()); n != charges {
				t.Errorf("%d renewal charges at Adyen after a termination, want %d: a termination calls no gateway", n, charges)
			}
		},
	}
}}

// crashUpdateDetails interrupts a card update. Its Cleeng boundary (POST
// /payment_details) has no row: Cleeng has no idempotency for it, so a
// worker killed while Cleeng holds that answer leaves a second, identical
// set of details (DESIGN section 12, payment-details update: no money
// moves).
var crashUpdateDetails = crashFlow{name: "update payment details", setUp: func(e *e2e) crashOperation {
	sub := e.subscribe("DE")
	customer := stack.DemoCustomer.ID
	const requestID = "crash-card-update"
	before := len(e.dev.Cleeng.State().PaymentDetails)
	body, _ := json.Marshal(map[string]any{"customerId": json.Number(customer), "requestId": requestID,
		"paymentMethodId": json.Number(stack.DevPaymentMethodAdyen), "paymentMethod": adyensandbox.CardMethod(adyensandbox.CardMastercard, "Matthew Brown")})
	key := messages.PaymentDetailsKey(mustInt(e.t, customer.String()), requestID)
	return crashOperation{
		start: func() {
			go func() { // answered when the fresh worker finished it, or pending: checked in Cleeng
				if resp, err := e.do(http.MethodPost, "/v1/payment-details", body); err == nil {
					resp.Body.Close()
				}
			}()
		},
		records: []string{key},
		reported: func() bool {
			s, _ := e.dev.Cleeng.State().Subscription(sub.SubscriptionID)
			return s.PaymentDetailsID != sub.PaymentDetailsID
		},
		oneEffect: func(t *testing.T) {
			ref := "details-" + customer.String() + "-" + requestID
			if auths := e.dev.Adyen.PaymentsFor(ref); len(auths) != 1 || auths[0].Amount != 0 {
				t.Errorf("Adyen payments of %s %+v, want one zero-amount authorisation", ref, auths)
			}
			if n := len(e.dev.Cleeng.State().PaymentDetails); n != before+1 {
				t.Errorf("%d Cleeng payment details, want %d: one created by the update", n, before+1)
			}
		},
	}
}}

var (
	crashDeactivation         = crashDeactivationOf("deactivation of old details", false)
	crashDeactivationDeleting = crashDeactivationOf("deactivation deleting the old details", true)
)

// crashDeactivationOf deactivates details with an open authorisation, and
// with deleting on, deletes the old token and details too.
func crashDeactivationOf(name string, deleting bool) crashFlow {
	fl := crashFlow{name: name, setUp: func(e *e2e) crashOperation {
		return e.deactivation(deleting)
	}}
	if deleting {
		fl.env = []string{"DEACTIVATE_DELETE_DETAILS=true"}
	}
	return fl
}

func (e *e2e) deactivation(deleting bool) crashOperation {
	sub := e.subscribe("DE")
	old := e.detailsOf(sub)
	e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentAuthorisation), SubscriptionID: sub.SubscriptionID, DunningAttemptDate: authoriseDate})
	testkit.Eventually(e.t, 15*time.Second, "renewal authorised", func() bool { return e.renewalReported(sub.SubscriptionID, cleeng.StatusAuthorized) })
	authorised := e.payments(sub.SubscriptionID)[1]
	return crashOperation{
		start: func() {
			e.emit(cleengsandbox.EmitRequest{Topic: string(cleeng.TopicPaymentDetailsDeactivated), PaymentDetailsID: sub.PaymentDetailsID})
		},
		records: []string{ops.Key("deactivate-details", sub.PaymentDetailsID.String())},
		reported: func() bool {
			p, _ := e.dev.Cleeng.State().Payment(authorised.ID)
			return p.Status == cleeng.StatusCancelled && (!deleting || e.detailsOf(sub).Deleted)
		},
		oneEffect: func(t *testing.T) {
			cancels := len(e.adyenNotifications("CANCELLATION", authorised.ExternalPaymentID))
			if charge, _ := e.dev.Adyen.Payment(authorised.ExternalPaymentID); cancels != 1 || charge.Status != adyensandbox.StatusCancelled {
				t.Errorf("%d cancellations of %s (status %s), want one", cancels, authorised.ExternalPaymentID, charge.Status)
			}
			if kept := slices.Contains(e.dev.Adyen.Tokens(sub.CustomerID.String()), old.Token); kept == deleting {
				t.Errorf("old token kept at Adyen: %v, want %v", kept, !deleting)
			}
		},
	}
}

// mustInt is a Cleeng id as the front-end's number.
func mustInt(t *testing.T, id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCrash_KilledWorkerResumesOnAFreshOne runs each flow on a worker OS
// process, holds the answer of one of its calls after the sandbox applied
// it, SIGKILLs every worker, and starts a fresh one. DESIGN section 4's
// invariant must hold (one gateway effect, one Cleeng payment per
// externalPaymentId), nothing may be dead-lettered, and the operation must
// be finished within AckWait + 10 s of the restart.
func TestCrash_KilledWorkerResumesOnAFreshOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the connector and runs it as OS processes")
	}
	tests := []struct {
		flow crashFlow
		at   boundary
	}{
		{crashAuthorise, atCleengOrder},
		{crashAuthorise, atAdyenPayment},
		{crashAuthorise, atCleengPayment},
		{crashCaptureOnly, atAdyenPayment},
		{crashCaptureOnly, atCleengPayment},
		{crashCapture, atAdyenModification},
		{crashCapture, atCleengUpdate},
		{crashCaptureFailed, atCleengUpdate},
		{crashInitial, atAdyenPayment},
		{crashInitial, atCleengPayment},
		{crashInitialPending, atCleengPayment},
		{crashRefund, atAdyenModification},
		{crashRefund, atCleengUpdate},
		{crashTermination, atCleengTermination},
		{crashUpdateDetails, atAdyenPayment},
		{crashDeactivation, atAdyenModification},
		{crashDeactivation, atCleengUpdate},
		{crashDeactivationDeleting, atAdyenTokenDeletion},
		{crashDeactivationDeleting, atCleengDetailsDeletion},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s at %s %s %s", tt.flow.name, tt.at.sandbox, tt.at.method, tt.at.path), func(t *testing.T) {
			e := newE2E(t, func(o *stack.DevOptions) { o.NoWorkers = true })
			first := startWorkerProcess(t, e, tt.flow.env...)
			op := tt.flow.setUp(e)

			faults := e.faultsOf(tt.at.sandbox)
			faults.Add(faultinject.Fault{Method: tt.at.method, PathPrefix: tt.at.path, HoldResponse: true, Count: 1})
			op.start()
			testkit.Eventually(t, 15*time.Second, "the call applied and its answer held", func() bool { return faults.Held() == 1 })
			first.kill(t)

			startWorkerProcess(t, e, tt.flow.env...)
			testkit.Eventually(t, resumeWithin, "the operation finished by the fresh worker", func() bool {
				return op.reported() && e.finished(op.records...)
			})
			op.oneEffect(t)
			e.assertOnePaymentPerExternalID(1) // the killed worker lost at most the held answer
			if n := e.deadLetters(); n != 0 {
				t.Errorf("%d messages dead-lettered, want none", n)
			}
		})
	}
}

// workerProcess is `connector worker` running as an OS process.
type workerProcess struct {
	cmd  *exec.Cmd
	logs bytes.Buffer
	done chan struct{}
}

// startWorkerProcess starts `connector worker` with every flow, on the test's
// broker and sandboxes. It is killed when the test ends; its logs are
// printed when the test failed.
func startWorkerProcess(t *testing.T, e *e2e, env ...string) *workerProcess {
	t.Helper()
	w := &workerProcess{done: make(chan struct{})}
	w.cmd = exec.Command(testkit.Binary(t, "github.com/cleeng-connector/connector/cmd/connector"), "worker")
	w.cmd.Env = append(workerEnv(e), env...)
	w.cmd.Stdout, w.cmd.Stderr = &w.logs, &w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		w.kill(t)
		if t.Failed() {
			t.Logf("worker %d:\n%s", w.cmd.Process.Pid, w.logs.String())
		}
	})
	return w
}

// kill sends SIGKILL, not a drain, and waits for the process to be gone.
func (w *workerProcess) kill(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
		return
	default:
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker %d: %v", w.cmd.Process.Pid, err)
	}
	<-w.done
}

// workerEnv configures a worker process as stack.StartDev configures its
// in-process workers.
func workerEnv(e *e2e) []string {
	var methods, types []string
	for _, method := range slices.Sorted(maps.Keys(stack.DevPaymentMethods)) {
		methods = append(methods, method+"="+stack.DevPaymentMethods[method])
		if t := stack.DevPaymentMethodTypes[method]; len(t) > 0 {
			types = append(types, method+"="+strings.Join(t, "|"))
		}
	}
	return []string{
		"NATS_URL=" + e.dev.Broker.Server.ClientURL(),
		"WORKER_ADDR=127.0.0.1:0",
		"WORKER_ACK_WAIT=" + crashAckWait.String(),
		"LOG_FORMAT=json",
		"LOG_LEVEL=debug",
		"CLEENG_API_URL=" + e.dev.CleengAPIURL(),
		"CLEENG_PUBLISHER_TOKEN=" + stack.DevPublisherToken,
		"ADYEN_API_KEY=" + stack.DevAdyenAPIKey,
		"ADYEN_MERCHANT_ACCOUNT=" + stack.DevMerchantAccount,
		"ADYEN_CHECKOUT_URL=" + e.dev.AdyenCheckoutURL(),
		"ADYEN_RETURN_URL=" + e.dev.IngressURL + "/return",
		"CLEVERBRIDGE_API_URL=" + e.dev.SandboxURL + "/cleverbridge",
		"CLEVERBRIDGE_USERNAME=" + stack.DevCleverbridgeUser,
		"CLEVERBRIDGE_PASSWORD=" + stack.DevCleverbridgePassword,
		"CLEVERBRIDGE_PRODUCT_ID=" + stack.DevCleverbridgeProduct,
		"PAYMENT_METHODS=" + strings.Join(methods, ","),
		"PAYMENT_METHOD_TYPES=" + strings.Join(types, ","),
	}
}

// faultsOf is the fault injector of the named sandbox.
func (e *e2e) faultsOf(sandbox string) *faultinject.Injector {
	if sandbox == "adyen" {
		return e.dev.Adyen.Faults()
	}
	return e.dev.Cleeng.Faults()
}

// paymentOfOrder is the Cleeng payment of an order.
func (e *e2e) paymentOfOrder(order cleeng.ID) (cleeng.Payment, bool) {
	for _, p := range e.dev.Cleeng.State().Payments {
		if p.OrderID == order {
			return p, true
		}
	}
	return cleeng.Payment{}, false
}

// renewalReported tells whether the subscription's renewal payment reached
// Cleeng with status.
func (e *e2e) renewalReported(sub cleeng.ID, status cleeng.PaymentStatus) bool {
	ps := e.payments(sub)
	return len(ps) == 2 && ps[1].Status == status
}

func (e *e2e) assertOneRenewalCharge(t *testing.T) {
	t.Helper()
	if n := len(e.renewalCharges()); n != 1 {
		t.Errorf("%d renewal charges at Adyen, want 1", n)
	}
}

// finished tells whether every operation record under keys is done.
func (e *e2e) finished(keys ...string) bool {
	store := ops.NewStore(e.dev.Broker.Ops)
	for _, key := range keys {
		rec, err := ops.Get[struct{}](context.Background(), store, key)
		if err != nil || rec.Status != ops.StatusDone {
			return false
		}
	}
	return true
}
