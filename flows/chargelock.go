package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// stepChargeLock: the renewal holds its subscription's charge lock.
const stepChargeLock = "charge-lock"

// chargeLock names the renewal that may charge a subscription at a gateway
// without idempotency keys (key charging.<gateway>.<subscriptionId>), so two
// dunning attempts handled at once cannot both call: checking the other
// attempts' records and then recording the intent would let both pass
// before either recorded it. The entry is created atomically before the
// intent; it holds while its renewal is in progress without a recorded
// outcome (the call in flight, or in doubt awaiting its notification), and
// is free once the outcome is recorded or the renewal ended (failed, or its
// record expired): the next attempt removes it and takes its own.
type chargeLock struct {
	OpKey string `json:"opKey"`
}

const flowChargeLock = "charge-lock"

func chargeLockKey(gateway string, subscriptionID cleeng.ID) string {
	return ops.Key("charging", gateway, subscriptionID.String())
}

// lockCharge takes the subscription's charge lock for a renewal at a
// gateway without idempotency keys; a renewal resumed after taking it finds
// it its own. A lock another renewal holds is "not yet": the message comes
// back after that renewal's outcome is known.
func (f *Flows) lockCharge(ctx context.Context, rec *ops.Record[renewalState]) error {
	g, err := f.router.ByName(rec.State.Order.Gateway)
	if err != nil {
		return err
	}
	if g.Capabilities().IdempotencyKeys {
		return errNothingToRecord // a gateway with idempotency keys needs no lock
	}
	key := chargeLockKey(g.Name(), rec.State.Renewal.SubscriptionID)
	if err := ops.PutOnce(ctx, f.ops, key, flowChargeLock, stepDone, chargeLock{OpKey: rec.Key}); err != nil {
		return err
	}
	lock, err := ops.Get[chargeLock](ctx, f.ops, key)
	if errors.Is(err, ops.ErrNotFound) {
		return failure.NotYet(retakeLock, fmt.Errorf("renewal %s: charge lock %s was freed while being taken", rec.Key, key))
	}
	if err != nil || lock.State.OpKey == rec.Key {
		return err
	}
	holder, err := ops.Get[renewalState](ctx, f.ops, lock.State.OpKey)
	switch {
	case errors.Is(err, ops.ErrNotFound): // expired: free
	case err != nil:
		return err
	case holder.Status == ops.StatusInProgress && holder.State.Result == nil:
		// The holder's outcome comes with its call's answer, within
		// seconds, or by notification within the timeout: look again as
		// often as the holder itself does, however often this renewal was
		// told to wait.
		left := holderCallPoll
		if w := holder.State.Awaiting; w != nil {
			left = time.Until(w.Since.Add(f.opts.NotificationTimeout))
		}
		return failure.NotYet(f.pollDelay(left), fmt.Errorf("renewal %s waits: %s is charging subscription %s at %s and its outcome is not known yet",
			rec.Key, holder.Key, rec.State.Renewal.SubscriptionID, g.Name()))
	}
	if err := ops.Remove(ctx, f.ops, lock); err != nil {
		return err
	}
	return failure.NotYet(retakeLock, fmt.Errorf("renewal %s: freed the charge lock %s of %s, which has its outcome; taking it next", rec.Key, key, lock.State.OpKey))
}

// holderCallPoll bounds the wait between looks at a lock whose holder is
// calling the gateway: a call answers within seconds, and a holder killed
// mid-call resumes after the ack wait, waiting for its notification.
const holderCallPoll = 5 * time.Second

// retakeLock is the wait before taking a charge lock just freed: at once,
// not on the runtime's schedule, which grows with every wait this renewal
// already had for the lock.
const retakeLock = 10 * time.Millisecond
