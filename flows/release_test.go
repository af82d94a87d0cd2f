package flows_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// failingWrite is the operations bucket as the workers see it while one
// write fails: the first update of an operation under prefix to step is
// not stored and answers a timeout, as a write does when the stream's
// leader dies with its node before storing it. Every other call goes
// through.
type failingWrite struct {
	jetstream.KeyValue
	prefix, step string

	mu     sync.Mutex
	failed int
}

// newE2EFailingOneWrite is the stack whose workers write operations
// through a failingWrite of the first update of an operation under prefix
// to step.
func newE2EFailingOneWrite(t *testing.T, prefix, step string) (*e2e, *failingWrite) {
	t.Helper()
	e := newE2E(t, func(o *stack.DevOptions) { o.NoWorkers = true })
	kv := &failingWrite{KeyValue: e.dev.Broker.Ops, prefix: prefix, step: step}
	e.dev.Broker.Ops = kv // before the workers start: only they write through it
	if err := e.dev.StartWorkers(1); err != nil {
		t.Fatal(err)
	}
	return e, kv
}

func (kv *failingWrite) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	kv.mu.Lock()
	fail := kv.failed == 0 && strings.HasPrefix(key, kv.prefix) && bytes.Contains(value, []byte(`"step":"`+kv.step+`"`))
	if fail {
		kv.failed++
	}
	kv.mu.Unlock()
	if fail {
		return 0, nats.ErrTimeout
	}
	return kv.KeyValue.Update(ctx, key, value, revision)
}

// The write recording a card update's last step fails after Cleeng created
// the new payment details. The attempt is done again from the step last
// recorded, whose gateway result still holds the new card's token; the
// claim's release must not record what the failed step had changed (the
// result it had stripped of the token), or the redelivery finds the card
// authorised without a token and dead-letters the update (found by make
// chaos, under NATS node kills).
func TestUpdatePaymentDetails_FailedWriteOfTheLastStepStillStoresTheNewCard(t *testing.T) {
	t.Parallel()
	e, kv := newE2EFailingOneWrite(t, "update-details.", "details-created")
	sub := e.subscribe("DE")
	old := e.detailsOf(sub)

	code, out := e.postCardUpdate()
	// The answer may come from the record before the update is done: it is
	// judged once every message is handled.
	testkit.Eventually(t, time.Minute, "every message handled", e.inboxEmpty)
	kv.mu.Lock()
	failed := kv.failed
	kv.mu.Unlock()
	if failed != 1 {
		t.Fatalf("%d writes of the update's last step failed, want 1: the test did not test what it says", failed)
	}
	if e.deadLetters() > 0 {
		t.Fatalf("card update dead-lettered: %s", e.waitDeadLetter("update-details"))
	}
	e.assertOnNewCard(sub, old, code, out)
}

// A renewal fails for good (its payment method is routed to no gateway)
// and the write recording the failure fails too, as under a NATS node's
// death. The message must not be dead-lettered with its operation still in
// progress, which no flow would ever finish and `connector ops` would show
// as running forever (found by make chaos, 10,000 subscriptions): the
// redelivery fails again and records it.
func TestOperation_AFailureWhoseRecordFailedIsRecordedByTheRedelivery(t *testing.T) {
	t.Parallel()
	e, kv := newE2EFailingOneWrite(t, "authorise.", "start")
	key := e.authoriseRenewal(e.unroutedSubscription())
	letter := e.letterSaying("authorise", unroutedReason)
	kv.mu.Lock()
	failed := kv.failed
	kv.mu.Unlock()
	if failed != 1 {
		t.Fatalf("%d writes of the failure failed, want 1: the test did not test what it says", failed)
	}
	if rec := e.record(key); rec.Status != ops.StatusFailed || rec.Step != "start" {
		t.Fatalf("operation %s dead-lettered (%s) while %s at step %q; want it recorded failed first", key, letter.Error, rec.Status, rec.Step)
	}
}
