package deadletter

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// TestReplay_AfterInterruptedReplayStoresOnce: a replay whose delete did
// not happen (the process died after the inbox's ack) is replayed again by
// the operator; the inbox drops the repeat by its msg id.
func TestReplay_AfterInterruptedReplayStoresOnce(t *testing.T) {
	t.Parallel()
	b := testkit.Broker(t)
	letter := &nats.Msg{Subject: "dlq.refund", Data: []byte(`{"refund":1}`), Header: nats.Header{}}
	letter.Header.Set(workers.HeaderFlow, "refund")
	letter.Header.Set(workers.HeaderOriginalSubject, "cleeng.webhook.refundPayment")
	ack, err := b.JS.PublishMsg(t.Context(), letter)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Show(t.Context(), b.JS, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	first, err := republish(t.Context(), b.JS, l) // the interrupted replay
	if err != nil {
		t.Fatal(err)
	}
	again, err := Replay(t.Context(), b.JS, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.InboxSeq != first.InboxSeq {
		t.Errorf("second replay = %+v, want a duplicate of inbox seq %d", again, first.InboxSeq)
	}
	if n := testkit.StreamMsgs(t, b.JS, broker.InboxStream); n != 1 {
		t.Errorf("inbox holds %d messages, want 1", n)
	}
	if _, err := Show(t.Context(), b.JS, ack.Sequence); err == nil {
		t.Error("the letter is still in the dead-letter stream")
	}
}
