package deadletter_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/cmd/connector/deadletter"
	"github.com/cleeng-connector/connector/internal/testkit"
	"github.com/cleeng-connector/connector/workers"
)

// TestReplay_MarksTheMessageWithItsLetter: a flow re-opens a failed
// operation only for a message marked as a replay, and records the letter
// that did it; a letter of a replayed message is marked as itself when it
// is replayed in turn.
func TestReplay_MarksTheMessageWithItsLetter(t *testing.T) {
	b := testkit.Broker(t)
	const subject = "cleeng.webhook.paymentAuthorisation"
	deadLetter(t, b, "renewal", "cleeng.webhook.>", inboxMsg{subject, []byte(`{"x":1}`)})
	first := onlyLetter(t, b)
	r, err := deadletter.Replay(t.Context(), b.JS, first.Seq)
	if err != nil {
		t.Fatal(err)
	}
	msgs := inboxMsgs(t, b, subject)
	replayed := msgs[len(msgs)-1]
	if got, want := replayed.Header.Get(workers.HeaderReplay), deadletter.ReplayMarker(first); replayed.Sequence != r.InboxSeq || got != want {
		t.Fatalf("replayed message %d marked %q, want %d marked %q", replayed.Sequence, got, r.InboxSeq, want)
	}

	// The replay fails again: its letter keeps the replayed message's
	// headers but the server's Nats-* ones (as the runtime writes it), the
	// first replay's marker among them.
	letter := &nats.Msg{Subject: "dlq.renewal", Data: replayed.Data, Header: nats.Header{}}
	for k, v := range replayed.Header {
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			letter.Header[k] = v
		}
	}
	letter.Header.Set(workers.HeaderFlow, "renewal")
	letter.Header.Set(workers.HeaderOriginalSubject, subject)
	if _, err := b.JS.PublishMsg(t.Context(), letter); err != nil {
		t.Fatal(err)
	}
	second := onlyLetter(t, b)
	if second.Header.Get(workers.HeaderReplay) != deadletter.ReplayMarker(first) {
		t.Fatalf("second letter headers %v: want the first replay's marker", second.Header)
	}
	if _, err := deadletter.Replay(t.Context(), b.JS, second.Seq); err != nil {
		t.Fatal(err)
	}
	msgs = inboxMsgs(t, b, subject)
	if got, want := msgs[len(msgs)-1].Header.Get(workers.HeaderReplay), deadletter.ReplayMarker(second); got != want || got == deadletter.ReplayMarker(first) {
		t.Errorf("second replay marked %q, want %q", got, want)
	}
}
