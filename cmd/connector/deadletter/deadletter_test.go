package deadletter_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// A checkout payload with card data, and bytes a text round trip would change.
var cardPayload = []byte("{\"paymentMethod\":{\"encryptedCardNumber\":\"adyenjs_0_1_25$X\"}} \r\n\x00\xff")

// inboxMsg is a message as the ingress stores it.
type inboxMsg struct {
	subject string
	data    []byte
}

// deadLetter has the workers runtime give up on each message at once (a
// permanent failure of flow), as in production, and returns when the
// dead-letter stream holds them all. The runtime is stopped again, so
// replayed messages stay in the inbox for the test to read.
func deadLetter(t *testing.T, b *broker.Broker, flow, subject string, msgs ...inboxMsg) {
	t.Helper()
	before := dlqCount(t, b)
	rt, err := workers.New(b.JS, workers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- rt.Run(ctx, workers.Flow{Name: flow, Subjects: []string{subject}, Handler: func(context.Context, workers.Message) error {
			return failure.Permanentf("gateway refused: test")
		}})
	}()
	for i, m := range msgs {
		out := &nats.Msg{Subject: m.subject, Data: m.data, Header: nats.Header{}}
		out.Header.Set("Connector-Received", "2025-01-02T03:04:05Z")
		out.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		if _, err := b.JS.PublishMsg(t.Context(), out, jetstream.WithMsgID(flow+"-original-"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	// A letter is stored before its original is acknowledged (and so
	// removed from the work-queue inbox): wait for both, so what the test
	// counts in the inbox next is only what it puts there.
	testkit.Eventually(t, 10*time.Second, "dead letters, their originals gone from the inbox", func() bool {
		if dlqCount(t, b) != before+uint64(len(msgs)) {
			return false
		}
		for _, m := range msgs {
			if len(inboxMsgs(t, b, m.subject)) != 0 {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func dlqCount(t *testing.T, b *broker.Broker) uint64 {
	t.Helper()
	return testkit.StreamMsgs(t, b.JS, broker.DLQStream)
}

// inboxMsgs returns the inbox messages on subject.
func inboxMsgs(t *testing.T, b *broker.Broker, subject string) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := b.JS.Stream(t.Context(), broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
}

// onlyLetter returns the one letter of the dead-letter stream.
func onlyLetter(t *testing.T, b *broker.Broker) deadletter.Letter {
	t.Helper()
	letters, err := deadletter.List(t.Context(), b.JS, "")
	if err != nil || len(letters) != 1 {
		t.Fatalf("List = %d letters, %v; want 1", len(letters), err)
	}
	return letters[0]
}

func TestList_ShowsEachLettersFlowReasonAndOrigin(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	deadLetter(t, b, "checkout", "checkout.>", inboxMsg{"checkout.payment", cardPayload})
	deadLetter(t, b, "renewal", "cleeng.webhook.>",
		inboxMsg{"cleeng.webhook.paymentAuthorisation", []byte(`{"topic":"a"}`)},
		inboxMsg{"cleeng.webhook.paymentAuthorisation", []byte(`{"topic":"b"}`)})

	all, err := deadletter.List(t.Context(), b.JS, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("List all = %d letters, want 3", len(all))
	}
	first := all[0]
	if first.Flow != "checkout" || first.OriginalSubject != "checkout.payment" || first.Attempts != 1 ||
		!strings.Contains(first.Error, "gateway refused: test") || first.Time.IsZero() || !bytes.Equal(first.Data, cardPayload) {
		t.Errorf("first letter = %+v", first)
	}
	if all[0].Seq >= all[1].Seq || all[1].Seq >= all[2].Seq {
		t.Errorf("letters not oldest first: %d, %d, %d", all[0].Seq, all[1].Seq, all[2].Seq)
	}

	renewals, err := deadletter.List(t.Context(), b.JS, "renewal")
	if err != nil {
		t.Fatal(err)
	}
	if len(renewals) != 2 || renewals[0].Flow != "renewal" || renewals[1].Flow != "renewal" {
		t.Errorf("List renewal = %+v, want its 2 letters", renewals)
	}
	// The runtime dead-letters concurrently: the two come in either order.
	if got := string(renewals[0].Data) + string(renewals[1].Data); got != `{"topic":"a"}{"topic":"b"}` && got != `{"topic":"b"}{"topic":"a"}` {
		t.Errorf("renewal payloads = %s", got)
	}
	shown, err := deadletter.Show(t.Context(), b.JS, renewals[1].Seq)
	if err != nil || !bytes.Equal(shown.Data, renewals[1].Data) || shown.Header.Get("Connector-Received") == "" {
		t.Errorf("Show(%d) = %+v, %v", renewals[1].Seq, shown, err)
	}
}

func TestReplay_RepublishesOriginalBytesAndHeadersThenDeletesTheLetter(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	deadLetter(t, b, "checkout", "checkout.>", inboxMsg{"checkout.payment", cardPayload})
	l := onlyLetter(t, b)
	before := len(inboxMsgs(t, b, "checkout.payment"))

	r, err := deadletter.Replay(t.Context(), b.JS, l.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != l.Seq || r.Flow != "checkout" || r.Subject != "checkout.payment" || r.Duplicate || r.InboxSeq == 0 {
		t.Errorf("Replay = %+v", r)
	}
	got := inboxMsgs(t, b, "checkout.payment")
	if len(got) != before+1 {
		t.Fatalf("inbox holds %d messages on checkout.payment, want %d", len(got), before+1)
	}
	m := got[len(got)-1]
	if m.Sequence != r.InboxSeq || !bytes.Equal(m.Data, cardPayload) {
		t.Errorf("replayed message seq %d data %q, want seq %d data %q", m.Sequence, m.Data, r.InboxSeq, cardPayload)
	}
	if m.Header.Get("Connector-Received") != "2025-01-02T03:04:05Z" || m.Header.Get("traceparent") == "" {
		t.Errorf("original headers lost: %v", m.Header)
	}
	for _, h := range []string{workers.HeaderFlow, workers.HeaderError, workers.HeaderAttempts, workers.HeaderOriginalSubject, workers.HeaderOriginalMsgID} {
		if m.Header.Get(h) != "" {
			t.Errorf("replayed message carries dead-letter header %s", h)
		}
	}
	if id := m.Header.Get(jetstream.MsgIDHeader); id == "" || id == l.Header.Get(workers.HeaderOriginalMsgID) {
		t.Errorf("replay msg id %q: want a fresh one", id)
	}

	if _, err := deadletter.Show(t.Context(), b.JS, l.Seq); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Show after replay: %v, want ErrNotFound", err)
	}
	if _, err := deadletter.Replay(t.Context(), b.JS, l.Seq); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("second Replay: %v, want ErrNotFound", err)
	}
	if n := len(inboxMsgs(t, b, "checkout.payment")); n != before+1 {
		t.Errorf("inbox holds %d messages after a second replay, want %d", n, before+1)
	}
}

func TestReplay_ConcurrentReplaysOfOneLetterStoreItOnce(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	deadLetter(t, b, "renewal", "cleeng.webhook.>", inboxMsg{"cleeng.webhook.paymentAuthorisation", []byte(`{"x":1}`)})
	l := onlyLetter(t, b)
	before := len(inboxMsgs(t, b, l.OriginalSubject))

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := deadletter.Replay(t.Context(), b.JS, l.Seq)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, deadletter.ErrNotFound) {
			t.Errorf("concurrent Replay: %v", err)
		}
	}
	if got := len(inboxMsgs(t, b, l.OriginalSubject)); got != before+1 {
		t.Errorf("inbox gained %d messages, want 1", got-before)
	}
	if n := dlqCount(t, b); n != 0 {
		t.Errorf("dead-letter stream holds %d messages, want 0", n)
	}
}

func TestReplay_UnknownSequenceIsNotFound(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	_, err := deadletter.Replay(t.Context(), b.JS, 42)
	if !errors.Is(err, deadletter.ErrNotFound) || !strings.Contains(err.Error(), "42") {
		t.Fatalf("Replay(42) = %v, want ErrNotFound naming 42", err)
	}
}

func TestReplayAll_ReplaysOnlyTheFlowAsked(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	deadLetter(t, b, "checkout", "checkout.>", inboxMsg{"checkout.payment", cardPayload}, inboxMsg{"checkout.details", []byte(`{}`)})
	deadLetter(t, b, "renewal", "cleeng.webhook.>", inboxMsg{"cleeng.webhook.paymentAuthorisation", []byte(`{}`)})

	done, err := deadletter.ReplayAll(t.Context(), b.JS, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0].Flow != "checkout" || done[1].Flow != "checkout" || done[0].Subject == done[1].Subject {
		t.Errorf("ReplayAll checkout = %+v", done)
	}
	left, err := deadletter.List(t.Context(), b.JS, "")
	if err != nil || len(left) != 1 || left[0].Flow != "renewal" {
		t.Errorf("left after ReplayAll checkout: %+v, %v; want the renewal letter", left, err)
	}
}
