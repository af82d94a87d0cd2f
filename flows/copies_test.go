package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/gateways/adyen"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// The duplicate tests shorten the inbox's duplicate window, so that a copy
// of an event sent after it is stored as a new message and reaches the
// flows: the operation records, not JetStream, must make it harmless.
const dupWindow = 200 * time.Millisecond

// concurrentCopies is how many copies of an event the duplicate tests have
// processed at once.
const concurrentCopies = 3

// copyRuntimes is how many worker runtimes process the copies, as replicas
// sharing the durable consumers would.
const copyRuntimes = 2

// newDupE2E is the whole connector with a short inbox duplicate window.
func newDupE2E(t *testing.T, tweak ...func(*stack.DevOptions)) *e2e {
	t.Helper()
	short := func(o *stack.DevOptions) { o.Broker.DuplicateWindow = dupWindow }
	return newE2E(t, append([]func(*stack.DevOptions){short}, tweak...)...)
}

// in is the same stack seen from subtest t (helpers fail t).
func (e *e2e) in(t *testing.T) *e2e {
	c := *e
	c.t = t
	return &c
}

// source sends copies of one event to the ingress, as its sender re-sends it.
type source interface {
	// send delivers one copy and returns once the ingress answered it.
	send()
	// isCopy tells whether a message stored in the inbox is a copy of the event.
	isCopy(m *jetstream.RawStreamMsg) bool
}

// deliverCopies puts n copies of src's event in the inbox, each stored as a
// message of its own, and has them processed at once. With the workers
// stopped, src sends copies until n are stored: JetStream drops a copy sent
// inside the duplicate window of the last one stored (measured by the
// server), so every stored copy got past the window. Then copyRuntimes
// worker runtimes take them all concurrently, and deliverCopies returns once
// every copy has left the inbox (acked or dead-lettered): whatever a copy
// does has been done.
func (e *e2e) deliverCopies(n int, src source) {
	e.t.Helper()
	e.dev.StopWorkers()
	inbox := e.stream(broker.InboxStream)
	scanned := lastSeq(e.t, inbox)
	var stored []uint64
	testkit.Eventually(e.t, 20*time.Second, fmt.Sprintf("%d copies stored in the inbox as new messages", n), func() bool {
		stored = append(stored, storedCopies(e.t, inbox, &scanned, src)...)
		if len(stored) >= n {
			return true
		}
		src.send()
		return false
	})
	if err := e.dev.StartWorkers(copyRuntimes); err != nil {
		e.t.Fatal(err)
	}
	testkit.Eventually(e.t, 20*time.Second, "every copy processed", func() bool {
		for _, seq := range stored {
			if _, err := inbox.GetMsg(context.Background(), seq); !errors.Is(err, jetstream.ErrMsgNotFound) {
				return false
			}
		}
		return true
	})
}

// actsOnce delivers copies of src's event: concurrentCopies at once, then one
// more once those were processed (the operation finished, the window long
// past). After each it checks effect, the one effect the event must have had,
// and that the copies added letters dead letters in all.
func (e *e2e) actsOnce(src source, letters uint64, effect func()) {
	e.t.Helper()
	before := e.deadLetters()
	for _, copies := range []int{concurrentCopies, 1} {
		e.deliverCopies(copies, src)
		effect()
		e.assertDeadLetters(before, letters)
	}
}

// storedCopies returns the sequences of the copies stored after *scanned,
// and moves *scanned to the inbox's last sequence.
func storedCopies(t *testing.T, inbox jetstream.Stream, scanned *uint64, src source) []uint64 {
	t.Helper()
	last := lastSeq(t, inbox)
	var out []uint64
	for seq := *scanned + 1; seq <= last; seq++ {
		if m, err := inbox.GetMsg(context.Background(), seq); err == nil && src.isCopy(m) {
			out = append(out, seq)
		}
	}
	*scanned = last
	return out
}

func lastSeq(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

func (e *e2e) stream(name string) jetstream.Stream {
	e.t.Helper()
	s, err := e.dev.Broker.JS.Stream(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// deadLetters counts the letters in the dead-letter stream.
func (e *e2e) deadLetters() uint64 {
	e.t.Helper()
	info, err := e.stream(broker.DLQStream).Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// assertDeadLetters checks that want letters were added since before.
func (e *e2e) assertDeadLetters(before, want uint64) {
	e.t.Helper()
	if got := e.deadLetters() - before; got != want {
		e.t.Errorf("%d dead letters, want %d", got, want)
	}
}

// waitStep waits until the operation record key is at step.
func (e *e2e) waitStep(key, step string) {
	e.t.Helper()
	testkit.Eventually(e.t, 15*time.Second, "operation "+key+" at step "+step, e.atStep(key, step))
}

// atStep tells whether the operation record key is at step.
func (e *e2e) atStep(key, step string) func() bool {
	store := ops.NewStore(e.dev.Broker.Ops)
	return func() bool {
		rec, err := ops.Get[struct{}](context.Background(), store, key)
		return err == nil && rec.Step == step
	}
}

// msgIDIs tells a stored copy by its de-duplication id.
func msgIDIs(m *jetstream.RawStreamMsg, id string) bool {
	return id != "" && m.Header.Get(jetstream.MsgIDHeader) == id
}

// cleengWebhook is a Cleeng webhook: first emitted from the sandbox's state
// (req), then re-sent with the same data, as Cleeng re-sends it. Each copy
// goes under the next of topics (a topic with two spellings), or req.Topic.
type cleengWebhook struct {
	e      *e2e
	req    cleengsandbox.EmitRequest
	topics []string
	data   json.RawMessage
	id     string
	sent   int
}

func (w *cleengWebhook) send() {
	w.e.t.Helper()
	req := w.req
	if w.data != nil {
		req = cleengsandbox.EmitRequest{Topic: req.Topic, Data: w.data}
	}
	if len(w.topics) > 0 {
		req.Topic = w.topics[w.sent%len(w.topics)]
	}
	w.sent++
	deliveries, err := w.e.dev.Cleeng.Emit(context.Background(), req)
	if err != nil {
		w.e.t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].Status != http.StatusOK {
		w.e.t.Fatalf("webhook %s: deliveries %+v, want one answered 200", req.Topic, deliveries)
	}
	if w.data != nil {
		return
	}
	var envelope struct {
		Data json.RawMessage `json:"data"`
	}
	hook, err := cleeng.DecodeWebhook(deliveries[0].Body)
	if err == nil {
		err = json.Unmarshal(deliveries[0].Body, &envelope)
	}
	if err != nil {
		w.e.t.Fatal(err)
	}
	w.data, w.id = envelope.Data, hook.DedupID()
}

func (w *cleengWebhook) isCopy(m *jetstream.RawStreamMsg) bool { return msgIDIs(m, w.id) }

// releaseAdyenNotifications lets held Adyen notifications go to the ingress.
func (e *e2e) releaseAdyenNotifications() {
	e.dev.Adyen.SetNotifyTarget(e.dev.IngressURL+"/webhooks/adyen", stack.DevWebhookUser, stack.DevWebhookPassword)
}

// holdCleverbridgeNotifications keeps the Cleverbridge sandbox's
// notifications until releaseCleverbridgeNotifications, or the end of the
// (sub)test.
func (e *e2e) holdCleverbridgeNotifications() {
	e.dev.Cleverbridge.SetNotifyTarget("", "", "")
	e.t.Cleanup(e.releaseCleverbridgeNotifications)
}

func (e *e2e) releaseCleverbridgeNotifications() {
	e.dev.Cleverbridge.SetNotifyTarget(e.dev.IngressURL+"/webhooks/cleverbridge", stack.DevCleverbridgeUser, stack.DevCleverbridgePassword)
}

// notification is a gateway sandbox's notification that was held (the
// sandbox's target cleared): the first copy releases the original, the
// others are the sandbox re-sending it, as the gateway re-sends it.
type notification struct {
	e        *e2e
	what     string
	id       string // the inbox's de-duplication id
	released bool
	release  func()
	resend   func() bool
	// delivery reports how often it was POSTed and whether the last was accepted.
	delivery func() (attempts int, accepted bool)
}

func (n *notification) send() {
	n.e.t.Helper()
	attempts, _ := n.delivery()
	if !n.released {
		n.released = true
		n.release()
	} else if !n.resend() {
		n.e.t.Fatalf("no %s to re-send", n.what)
	}
	testkit.Eventually(n.e.t, 15*time.Second, n.what+" accepted", func() bool {
		now, accepted := n.delivery()
		return now > attempts && accepted
	})
}

func (n *notification) isCopy(m *jetstream.RawStreamMsg) bool { return msgIDIs(m, n.id) }

// heldAdyenNotification waits for the Adyen sandbox's held notification
// eventCode about payment psp (its pspReference, or the originalReference of
// a modification).
func (e *e2e) heldAdyenNotification(eventCode, psp string) *notification {
	e.t.Helper()
	index := waitIndex(e.t, "Adyen notification "+eventCode+" of "+psp, e.dev.Adyen.Notifications, func(sent adyensandbox.Notification) bool {
		it := sent.Item
		return it.EventCode == eventCode && (it.PspReference == psp || it.OriginalReference == psp)
	})
	item := e.dev.Adyen.Notifications()[index].Item
	return &notification{e: e, what: "Adyen notification " + eventCode,
		id:      adyen.DedupID(adyen.Item{PspReference: item.PspReference, EventCode: item.EventCode, Success: item.Success}),
		release: e.releaseAdyenNotifications,
		resend:  func() bool { return e.dev.Adyen.Resend(index) },
		delivery: func() (int, bool) {
			sent := e.dev.Adyen.Notifications()[index]
			return sent.Attempts, sent.Delivered
		}}
}

// heldCleverbridgeNotification waits for the Cleverbridge sandbox's held
// notification eventType about purchase purchaseID.
func (e *e2e) heldCleverbridgeNotification(eventType, purchaseID string) *notification {
	e.t.Helper()
	index := waitIndex(e.t, "Cleverbridge notification "+eventType+" of "+purchaseID, e.dev.Cleverbridge.Notifications, func(d cbsandbox.Delivery) bool {
		return d.Notification.EventType == eventType && d.Notification.Purchase.ID == purchaseID
	})
	n := e.dev.Cleverbridge.Notifications()[index].Notification
	return &notification{e: e, what: "Cleverbridge notification " + eventType, id: cleverbridge.DedupID(n),
		release: e.releaseCleverbridgeNotifications,
		resend:  func() bool { return e.dev.Cleverbridge.Resend(index) },
		delivery: func() (int, bool) {
			d := e.dev.Cleverbridge.Notifications()[index]
			return d.Attempts, d.Delivered
		}}
}

// waitIndex waits until an item of list matches and returns its index.
func waitIndex[T any](t *testing.T, what string, list func() []T, match func(T) bool) int {
	t.Helper()
	index := -1
	testkit.Eventually(t, 15*time.Second, what, func() bool {
		index = slices.IndexFunc(list(), match)
		return index >= 0
	})
	return index
}

// adyenEvents counts the distinct notifications eventCode about payment psp:
// one per modification or authorisation the sandbox made (a re-sent copy is
// not a new one).
func (e *e2e) adyenEvents(eventCode, psp string) int {
	n := 0
	for _, sent := range e.dev.Adyen.Notifications() {
		if it := sent.Item; it.EventCode == eventCode && (it.PspReference == psp || it.OriginalReference == psp) {
			n++
		}
	}
	return n
}

// answer is one answer of a front-end endpoint.
type answer struct {
	code int
	out  outcome
}

// frontEndCall is a front-end call repeated unchanged (a double click, a
// retry after a timeout); the ingress stores its body as sent, on subject.
type frontEndCall struct {
	e       *e2e
	path    string
	subject string
	body    []byte
	answers []answer
}

func (e *e2e) frontEndCall(path, subject string, body any) *frontEndCall {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &frontEndCall{e: e, path: path, subject: subject, body: b}
}

func (c *frontEndCall) send() {
	c.e.t.Helper()
	resp, err := c.e.do(http.MethodPost, c.path, c.body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out outcome
	if err := json.Unmarshal(raw, &out); err != nil {
		c.e.t.Fatalf("POST %s: %d %s", c.path, resp.StatusCode, raw)
	}
	c.answers = append(c.answers, answer{resp.StatusCode, out})
}

// isCopy: m stores this call, as the ingress stores it: the body's fields
// with the verified customer and the shopper's address added.
func (c *frontEndCall) isCopy(m *jetstream.RawStreamMsg) bool {
	if m.Subject != c.subject {
		return false
	}
	var sent, stored map[string]json.RawMessage
	if json.Unmarshal(c.body, &sent) != nil || json.Unmarshal(m.Data, &stored) != nil {
		return false
	}
	delete(stored, "customerId")
	delete(stored, "shopperIP")
	delete(sent, "customerId")
	a, _ := json.Marshal(sent)
	b, _ := json.Marshal(stored)
	return bytes.Equal(a, b)
}

// last is the answer to the latest call.
func (c *frontEndCall) last() answer {
	c.e.t.Helper()
	if len(c.answers) == 0 {
		c.e.t.Fatalf("POST %s was never answered", c.path)
	}
	return c.answers[len(c.answers)-1]
}
