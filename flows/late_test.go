package flows

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
	"github.com/cleeng-connector/connector/internal/testkit"
)

func TestLetterOnce_OneLetterPerEventRedeliveredUntilStored(t *testing.T) {
	b := testkit.Broker(t)
	f := New(nil, nil, Stores{Operations: ops.NewStore(b.Ops), PaymentIndex: ops.NewStore(b.Index)}, zerolog.Nop(), Options{})
	letter := failure.Permanentf("refund undone after Cleeng was told")
	reversed := gateways.Event{Gateway: "adyen", Kind: gateways.EventRefundReversed, PaymentReference: "R1", Success: true}
	other := reversed
	other.PaymentReference = "R2"
	first, copied := time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	message := func(received time.Time) context.Context {
		return context.WithValue(context.Background(), deliveryKey{}, received)
	}
	for _, step := range []struct {
		name string
		ctx  context.Context
		ev   gateways.Event
		want error
	}{
		{"the first message carrying the event", message(first), reversed, letter},
		{"that message redelivered: its letter may not be stored", message(first), reversed, letter},
		{"a copy stored again", message(copied), reversed, nil},
		{"another event", message(copied), other, letter},
		{"a handler called outside the runtime", context.Background(), reversed, letter},
	} {
		if err := f.letterOnce(step.ctx, step.ev, letter); err != step.want {
			t.Errorf("%s: %v, want %v", step.name, err, step.want)
		}
	}
	if err := f.letterOnce(message(first), reversed, nil); err != nil {
		t.Errorf("no letter: %v, want nil", err)
	}
}
