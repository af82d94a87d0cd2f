package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/workers"
)

// ErrNotFound: the dead-letter stream holds no message at that sequence
// (never stored, or already replayed).
var ErrNotFound = errors.New("no such dead letter")

// Letter is one dead-lettered message.
type Letter struct {
	// Seq is the letter's sequence in CONNECTOR_DLQ: what show and replay take.
	Seq uint64
	// Time is when the letter was stored, i.e. when the flow gave up.
	Time time.Time
	// Flow, Error, Attempts and OriginalSubject come from the workers'
	// Connector-* headers; Attempts is 0 when the header is missing.
	Flow            string
	Error           string
	Attempts        int
	OriginalSubject string
	// Header holds every header of the letter, the original ones included.
	Header nats.Header
	// Data is the original payload, byte for byte. It may hold card data
	// or tokens: never log it.
	Data []byte
}

// Replayed reports one replay.
type Replayed struct {
	Seq     uint64 // the letter's sequence in CONNECTOR_DLQ, now deleted
	Flow    string
	Subject string // the inbox subject it was published to
	// InboxSeq is the message's sequence in CONNECTOR_INBOX.
	InboxSeq uint64
	// Duplicate: the inbox already held this replay (an earlier replay of
	// the same letter that did not get to delete it); nothing new was stored.
	Duplicate bool
}

func dlqStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, broker.DLQStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", broker.DLQStream, err)
	}
	return s, nil
}

// List returns the letters of flow (every flow when flow is empty), oldest first.
func List(ctx context.Context, js jetstream.JetStream, flow string) ([]Letter, error) {
	s, err := dlqStream(ctx, js)
	if err != nil {
		return nil, err
	}
	filter := broker.SubjectDLQ + ".>"
	if flow != "" {
		filter = broker.SubjectDLQ + "." + flow
	}
	var letters []Letter
	// Walk the stream with "next message at or after seq on filter": no
	// consumer is created, and deleted (replayed) sequences are skipped.
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return letters, nil
		}
		if err != nil {
			return letters, fmt.Errorf("read %s from sequence %d: %w", broker.DLQStream, seq, err)
		}
		letters = append(letters, letterOf(m))
		seq = m.Sequence + 1
	}
}

// Show returns the letter at seq, or ErrNotFound.
func Show(ctx context.Context, js jetstream.JetStream, seq uint64) (Letter, error) {
	s, err := dlqStream(ctx, js)
	if err != nil {
		return Letter{}, err
	}
	return get(ctx, s, seq)
}

func get(ctx context.Context, s jetstream.Stream, seq uint64) (Letter, error) {
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, fmt.Errorf("dead letter %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	return letterOf(m), nil
}

func letterOf(m *jetstream.RawStreamMsg) Letter {
	h := m.Header
	if h == nil {
		h = nats.Header{}
	}
	attempts, _ := strconv.Atoi(h.Get(workers.HeaderAttempts))
	return Letter{
		Seq:             m.Sequence,
		Time:            m.Time,
		Flow:            h.Get(workers.HeaderFlow),
		Error:           h.Get(workers.HeaderError),
		Attempts:        attempts,
		OriginalSubject: h.Get(workers.HeaderOriginalSubject),
		Header:          h,
		Data:            m.Data,
	}
}

// Replay publishes the letter at seq to its original inbox subject, waits
// for the inbox's ack, then deletes the letter. It returns ErrNotFound when
// there is no letter at seq (already replayed).
func Replay(ctx context.Context, js jetstream.JetStream, seq uint64) (Replayed, error) {
	s, err := dlqStream(ctx, js)
	if err != nil {
		return Replayed{}, err
	}
	l, err := get(ctx, s, seq)
	if err != nil {
		return Replayed{}, err
	}
	r, err := republish(ctx, js, l)
	if err != nil {
		return Replayed{}, err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		// A concurrent replay of the same letter may have deleted it first:
		// then the letter is replayed all the same (once, by its msg id).
		if _, gerr := s.GetMsg(ctx, seq); !errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return r, fmt.Errorf("dead letter %d replayed to %s but not deleted (replaying it again is safe): %w", seq, r.Subject, err)
		}
	}
	return r, nil
}

// ReplayAll replays every letter of flow (every flow when flow is empty),
// oldest first, stopping at the first failure. A letter replayed meanwhile
// by someone else is skipped.
func ReplayAll(ctx context.Context, js jetstream.JetStream, flow string) ([]Replayed, error) {
	letters, err := List(ctx, js, flow)
	if err != nil {
		return nil, err
	}
	var done []Replayed
	for _, l := range letters {
		r, err := Replay(ctx, js, l.Seq)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, r)
	}
	return done, nil
}

// ReplayMarker names the letter l in its replay: the value of the replayed
// message's workers.HeaderReplay, and what a re-opened operation records as
// having re-opened it. The same on every replay of l; the store time keeps it
// distinct from a letter with the same sequence in a recreated stream.
func ReplayMarker(l Letter) string {
	return fmt.Sprintf("dead letter %d of %s", l.Seq, l.Time.UTC().Format(time.RFC3339Nano))
}

// replayMsgID names the replay of l in the inbox. A replay needs an id of
// its own (the original's is still in the inbox's duplicate window when the
// flow gave up quickly), and the same one on every replay of l, so a replay
// repeated after a failed delete is dropped as a duplicate.
func replayMsgID(l Letter) string {
	return "replay: " + ReplayMarker(l)
}

// republish publishes l's payload and original headers to its inbox
// subject, marked as a replay of l.
func republish(ctx context.Context, js jetstream.JetStream, l Letter) (Replayed, error) {
	if !isInboxSubject(l.OriginalSubject) {
		return Replayed{}, fmt.Errorf("dead letter %d: original subject %q is not an inbox subject", l.Seq, l.OriginalSubject)
	}
	msg := &nats.Msg{Subject: l.OriginalSubject, Data: l.Data, Header: originalHeaders(l.Header)}
	msg.Header.Set(workers.HeaderReplay, ReplayMarker(l))
	ack, err := js.PublishMsg(ctx, msg,
		jetstream.WithMsgID(replayMsgID(l)),
		jetstream.WithExpectStream(broker.InboxStream))
	if err != nil {
		return Replayed{}, fmt.Errorf("replay dead letter %d to %s: %w", l.Seq, l.OriginalSubject, err)
	}
	return Replayed{Seq: l.Seq, Flow: l.Flow, Subject: l.OriginalSubject, InboxSeq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// deadLetterHeaders are the headers the workers runtime added to the original's.
var deadLetterHeaders = []string{
	workers.HeaderFlow, workers.HeaderError, workers.HeaderAttempts,
	workers.HeaderOriginalSubject, workers.HeaderOriginalMsgID,
}

// originalHeaders is h without the dead-letter headers and without Nats-*
// (server instructions of the dead-letter publish). Other Connector-*
// headers, such as the ingress's receive time, belong to the original.
func originalHeaders(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if !strings.HasPrefix(strings.ToLower(k), "nats-") {
			out[k] = v
		}
	}
	for _, k := range deadLetterHeaders {
		out.Del(k)
	}
	return out
}

func isInboxSubject(subject string) bool {
	for _, s := range broker.InboxConfig(broker.Options{}).Subjects {
		if prefix := strings.TrimSuffix(s, ">"); strings.HasPrefix(subject, prefix) && len(subject) > len(prefix) {
			return true
		}
	}
	return false
}
