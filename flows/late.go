package flows

import (
	"context"
	"strconv"
	"time"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/workers"
)

// flowLateLetter names the records of gateway events dead-lettered for
// contradicting a finished operation (key late-letter.<gateway>.<kind>.<reference>.<success>).
const flowLateLetter = "late-letter"

// lateLetter records which inbox message carried the event into the
// dead-letter stream, and why.
type lateLetter struct {
	// Message is when the inbox stored that message (see delivered).
	Message time.Time `json:"message"`
	Reason  string    `json:"reason"`
}

type deliveryKey struct{}

// delivered tells h's flows which inbox message they handle: the time the
// inbox stored it, the same on every redelivery of that message and new for
// a copy stored again (a sender's re-send past the duplicate window).
func delivered(h workers.Handler) workers.Handler {
	return func(ctx context.Context, m workers.Message) error {
		return h(context.WithValue(ctx, deliveryKey{}, m.Received), m)
	}
}

// letterOnce dead-letters a gateway event that contradicts a finished
// operation once, however many copies of it the gateway sends (Adyen and
// Cleverbridge re-send, also past the inbox's duplicate window, where only
// the records can tell a copy). letter is the permanent error that
// dead-letters it, or nil. The first message to carry the event records
// itself and gets letter back, on every redelivery too: its letter may not
// be stored yet (a failed dead-letter publish is redelivered, and the
// dead-letter stream drops a second letter of the same message). A later
// copy is acknowledged: the first letter already tells the operator what to
// do, and a second would ask for it twice.
func (f *Flows) letterOnce(ctx context.Context, ev gateways.Event, letter error) error {
	received, known := ctx.Value(deliveryKey{}).(time.Time)
	if letter == nil || !known {
		return letter
	}
	key := opKey(flowLateLetter, ev.Gateway, string(ev.Kind), ev.PaymentReference, strconv.FormatBool(ev.Success))
	if err := ops.PutOnce(ctx, f.ops, key, flowLateLetter, stepDone, lateLetter{Message: received, Reason: letter.Error()}); err != nil {
		return err
	}
	first, err := ops.Get[lateLetter](ctx, f.ops, key)
	if err != nil {
		return err
	}
	if first.State.Message.Equal(received) {
		return letter
	}
	f.log.Info().Str("op", key).Str("gateway", ev.Gateway).Str("reference", ev.PaymentReference).
		Msg("gateway event dead-lettered before (this is a copy, or a replay of its letter); acknowledged")
	return nil
}
