package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// stepStart is the step a failed record names when its attempt failed
// before recording any step.
const stepStart = "start"

// fail ends the operation for good when err is permanent, recording where
// it stopped and why, and returns err so the runtime dead-letters the
// message. Any other error is returned as is: the message is redelivered and
// the operation resumes at its recorded step. It is the operation's meaning
// of "permanent": the runner applies it to what steps return; an event that
// resumes a parked operation returns its own permanent errors as is (they
// dead-letter the event, not the operation) unless it ends the operation on
// purpose (DESIGN section 5). When the failure cannot be recorded, the
// error is transient: dead-lettered, the message would leave its operation
// in progress for good; redelivered, the step fails again and is recorded.
func fail[T any](ctx context.Context, store *ops.Store, rec *ops.Record[T], err error) error {
	if !failure.Is(err, failure.ClassPermanent) {
		return err
	}
	step := rec.Step
	if step == "" {
		step = stepStart
	}
	if ferr := rec.Fail(ctx, store, step, err.Error()); ferr != nil {
		return failure.Transient(fmt.Errorf("%v; recording it: %w", err, ferr))
	}
	return err
}

// createPayment creates a Cleeng payment once. Cleeng has no idempotency
// key: the operation record stops a second POST after a success; after an
// ambiguous failure the redelivery posts again, and Cleeng's 409 for an
// externalPaymentId it already holds hands back the payment the first POST
// created, which is adopted when it belongs to the same order. So no
// payment is reported without a reference: a rejection the gateway gave
// none for gets one derived from its order (rejectionReference).
func (f *Flows) createPayment(ctx context.Context, req cleeng.CreatePaymentRequest) (cleeng.Payment, error) {
	if req.ExternalPaymentID == "" && req.Status == cleeng.StatusRejected {
		req.ExternalPaymentID = rejectionReference(req.OrderID)
	}
	p, err := f.cleeng.CreatePayment(ctx, req)
	var conflict *cleeng.ConflictError
	if errors.As(err, &conflict) {
		if conflict.Existing.OrderID != req.OrderID {
			return p, failure.Permanentf("externalPaymentId %q is already Cleeng payment %s of order %s, not of order %s",
				req.ExternalPaymentID, conflict.Existing.ID, conflict.Existing.OrderID, req.OrderID)
		}
		return conflict.Existing, nil
	}
	return p, err
}

// reportPayment reports a gateway's payment to Cleeng (createPayment),
// indexing its reference first, so nothing about the payment can arrive
// before its index entry, and naming the Cleeng payment in the entry once it
// exists: the entry outlives the operation record it pointed at until then.
func (f *Flows) reportPayment(ctx context.Context, idx paymentIndex, req cleeng.CreatePaymentRequest) (cleeng.Payment, error) {
	if err := f.indexPayment(ctx, idx); err != nil {
		return cleeng.Payment{}, err
	}
	payment, err := f.createPayment(ctx, req)
	if err != nil {
		return payment, err
	}
	idx.PaymentID = payment.ID
	return payment, f.indexPayment(ctx, idx)
}

// rejectionReference is the externalPaymentId of a rejection the gateway
// gave no reference for (a refusal that created nothing at the gateway, a
// payment still pending at the timeout). An order is paid by one operation,
// which reports one payment, so the order id makes it unique and the same
// on every attempt, and a POST repeated after a lost answer meets Cleeng's
// 409 like any other. It is never indexed: no gateway refers to it.
func rejectionReference(orderID cleeng.ID) string {
	return "rejected-order-" + orderID.String()
}

// paymentIndex finds the Cleeng payment behind a gateway reference, for
// gateway notifications and refunds (key payment.<gateway>.<reference>, in
// Stores.PaymentIndex: refunds and chargebacks come long after the
// operation record expired). It is written before the Cleeng payment is
// created, so nothing about the payment can arrive before it: until then
// PaymentID is read from the operation (OpKey); once the payment exists it
// is written into the entry before the operation records it, so the entry
// no longer needs the operation record (reportPayment, paymentOf).
type paymentIndex struct {
	Gateway           string    `json:"gateway"`
	ExternalPaymentID string    `json:"externalPaymentId"`
	PaymentID         cleeng.ID `json:"paymentId,omitempty"`
	OpKey             string    `json:"opKey,omitempty"`
	OrderID           cleeng.ID `json:"orderId"`
	CustomerID        cleeng.ID `json:"customerId,omitempty"`
	SubscriptionID    cleeng.ID `json:"subscriptionId,omitempty"`
}

const flowPaymentIndex = "payment-index"

func paymentIndexKey(gateway, externalPaymentID string) string {
	return ops.Key("payment", gateway, externalPaymentID)
}

// indexPayment records which Cleeng payment a gateway reference belongs to.
// The first entry stands; writing it again only fills in a PaymentID the
// entry lacks (it was written before the payment existed).
func (f *Flows) indexPayment(ctx context.Context, idx paymentIndex) error {
	if idx.ExternalPaymentID == "" {
		return nil // a refusal without a gateway reference: nothing will refer to it
	}
	key := paymentIndexKey(idx.Gateway, idx.ExternalPaymentID)
	if err := ops.PutOnce(ctx, f.index, key, flowPaymentIndex, stepDone, idx); err != nil || idx.PaymentID == "" {
		return err
	}
	return ops.Amend(ctx, f.index, key, func(stored *paymentIndex) bool {
		if stored.PaymentID != "" {
			return false
		}
		stored.PaymentID = idx.PaymentID
		return true
	})
}

// ignoreNotFound turns ErrNotFound into nil.
func ignoreNotFound(err error) error {
	if errors.Is(err, ops.ErrNotFound) {
		return nil
	}
	return err
}

// lookupPayment reads the index; ok is false when the reference is unknown.
func (f *Flows) lookupPayment(ctx context.Context, gateway, externalPaymentID string) (paymentIndex, bool, error) {
	rec, err := ops.Get[paymentIndex](ctx, f.index, paymentIndexKey(gateway, externalPaymentID))
	if errors.Is(err, ops.ErrNotFound) {
		return paymentIndex{}, false, nil
	}
	if err != nil {
		return paymentIndex{}, false, err
	}
	return rec.State, rec.Status == ops.StatusDone, nil
}

// paymentOf returns the Cleeng payment id behind an index entry: its own, or
// the one its operation recorded. Before the operation created the payment
// it is "not yet".
func (f *Flows) paymentOf(ctx context.Context, idx paymentIndex) (cleeng.ID, error) {
	if idx.PaymentID != "" {
		return idx.PaymentID, nil
	}
	rec, err := ops.Get[struct {
		Payment *cleeng.Payment `json:"payment"`
	}](ctx, f.ops, idx.OpKey)
	if err != nil {
		return "", err
	}
	if rec.State.Payment == nil {
		return "", failure.NotYet(0, fmt.Errorf("reference %s: its Cleeng payment is not created yet (%s)", idx.ExternalPaymentID, idx.OpKey))
	}
	return rec.State.Payment.ID, nil
}

// shortHash is a stable 16-hex-digit digest for idempotency keys.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// opKey builds an operation key from a flow prefix and business ids.
func opKey(prefix string, ids ...string) string {
	return ops.Key(append([]string{prefix}, ids...)...)
}
