package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// Externally-managed billing (DESIGN section 1, "Externally-managed
// subscriptions"): for a paymentMethodId in Options.ExternallyManagedMethods
// the gateway bills by itself, and each of its events is mirrored in
// Cleeng by one operation, mirror.<gateway>.<purchase>.<event>, so a copy
// the gateway re-sends past the inbox's duplicate window finds it done.
const flowMirror = "mirror"

const stepSubscription = "cleeng-subscription" // the Cleeng subscription found or created

// eventSubscriptionDeactivated is cleverbridge.EventSubscriptionDeactivated.
const eventSubscriptionDeactivated = "SubscriptionDeactivated"

// Metadata keys (x-parameters) naming the Cleeng side of an
// externally-managed subscription.
const (
	metaPaymentMethod = "paymentMethodId"
	metaCustomer      = "customerId"
	metaOffer         = "offerId"
	metaCountry       = "country"
)

// mirrorState is a mirror operation's record. Payment is the Cleeng
// payment it recorded: the payment index entry written before it names
// this operation, as the other flows' entries do (paymentOf).
type mirrorState struct {
	SubscriptionID cleeng.ID       `json:"subscriptionId,omitempty"`
	Payment        *cleeng.Payment `json:"payment,omitempty"`
}

// externalIndex is the Cleeng subscription of a gateway's subscription
// (key external.<gateway>.<subscription>, in Stores.PaymentIndex: it lives
// as long as the subscription). OpKey is the operation that creates it:
// the first entry stands, so two events at once create one subscription.
type externalIndex struct {
	Gateway                string    `json:"gateway"`
	ExternalSubscriptionID string    `json:"externalSubscriptionId"`
	SubscriptionID         cleeng.ID `json:"subscriptionId,omitempty"`
	OpKey                  string    `json:"opKey"`
}

const flowExternalIndex = "external-index"

// externallyManaged tells whether ev belongs to an externally-managed
// subscription: its metadata names such a paymentMethodId.
func (f *Flows) externallyManaged(ev gateways.Event) bool {
	method := ev.Metadata[metaPaymentMethod]
	return method != "" && slices.Contains(f.opts.ExternallyManagedMethods, method)
}

// mirrorsElse runs the mirror for an externally-managed subscription's
// event and otherwise the row's own handler (nil: acknowledged).
func mirrorsElse(other func(f *Flows, ctx context.Context, ev gateways.Event, row eventRow) error) func(f *Flows, ctx context.Context, ev gateways.Event, row eventRow) error {
	return func(f *Flows, ctx context.Context, ev gateways.Event, row eventRow) error {
		if f.externallyManaged(ev) {
			return f.mirrorFlow(ev).start(ctx, f.ops, opKey(flowMirror, ev.Gateway, ev.PaymentReference, ev.Code))
		}
		if other == nil {
			return nil
		}
		return other(f, ctx, ev, row)
	}
}

// mirrorFlow mirrors one event of an externally-managed subscription: the
// Cleeng subscription found or created, then the event's payment recorded
// (paid: captured; declined: rejected) or the subscription cancelled.
// Refunds need no mirror: the payment index names the Cleeng payment, and
// the event flow refunds it (eventtable.go).
//
// Failure policy: metadata lacking the Cleeng customer, offer or country
// fails the operation naming the x-parameter; Cleeng's refusals are
// permanent and dead-letter the event with Cleeng's reason.
func (f *Flows) mirrorFlow(ev gateways.Event) *flow[mirrorState] {
	return &flow[mirrorState]{
		Name: flowMirror,
		Steps: []step[mirrorState]{
			{stepSubscription, func(ctx context.Context, rec *ops.Record[mirrorState]) (err error) {
				// A decline never starts a Cleeng subscription: a first
				// purchase declined leaves nothing in Cleeng to mirror (a
				// cancellation does, as it may be handled before the payment
				// it follows, and must not be lost).
				creates := ev.Success || ev.Code == eventSubscriptionDeactivated
				rec.State.SubscriptionID, err = f.externalSubscription(ctx, ev, rec.Key, creates)
				if err == nil && rec.State.SubscriptionID == "" {
					return endHere()
				}
				return err
			}},
			{stepCleengPayment, func(ctx context.Context, rec *ops.Record[mirrorState]) error {
				if ev.Code == eventSubscriptionDeactivated {
					_, err := f.cleeng.UpdateSubscription(ctx, rec.State.SubscriptionID, cleeng.UpdateSubscriptionRequest{Status: cleeng.SubscriptionCancelled})
					return err
				}
				p, err := f.mirrorPayment(ctx, ev, rec)
				if err == nil {
					rec.State.Payment = &p
				}
				return err
			}},
		},
	}
}

// cleengOf reads the Cleeng side an event's metadata names.
func cleengOf(ev gateways.Event) (customer cleeng.ID, offer, country string, err error) {
	m := ev.Metadata
	for _, key := range []string{metaCustomer, metaOffer, metaCountry} {
		if m[key] == "" {
			return "", "", "", failure.Permanentf("%s %s %s of an externally-managed subscription (paymentMethodId %s): x-parameter x-%s is missing, so the Cleeng subscription is unknown",
				ev.Gateway, ev.Code, ev.PaymentReference, m[metaPaymentMethod], key)
		}
	}
	return cleeng.ID(m[metaCustomer]), m[metaOffer], m[metaCountry], nil
}

// externalSubscription finds or creates the Cleeng subscription of ev's
// gateway subscription. The index entry is claimed before Cleeng is
// asked, so of two events at once one creates it and the other waits ("not
// yet"); an entry whose creating operation ended without a subscription
// is taken over (Cleeng answers a second POST for the external id with
// the subscription it holds).
func (f *Flows) externalSubscription(ctx context.Context, ev gateways.Event, opKey string, create bool) (cleeng.ID, error) {
	if ev.Token == "" {
		return "", failure.Permanentf("%s %s %s names no subscription: an externally-managed event must bill one", ev.Gateway, ev.Code, ev.PaymentReference)
	}
	customer, offer, _, err := cleengOf(ev)
	if err != nil {
		return "", err
	}
	key := ops.Key("external", ev.Gateway, ev.Token)
	if create {
		claim := externalIndex{Gateway: ev.Gateway, ExternalSubscriptionID: ev.Token, OpKey: opKey}
		if err := ops.PutOnce(ctx, f.index, key, flowExternalIndex, stepDone, claim); err != nil {
			return "", err
		}
	}
	idx, err := ops.Get[externalIndex](ctx, f.index, key)
	if errors.Is(err, ops.ErrNotFound) && !create {
		return "", nil // never paid: no Cleeng subscription
	}
	if err != nil {
		return "", err
	}
	if id := idx.State.SubscriptionID; id != "" {
		return id, nil
	}
	if owner := idx.State.OpKey; owner != opKey {
		creator, err := ops.Get[mirrorState](ctx, f.ops, owner)
		switch {
		case err == nil && creator.Status == ops.StatusInProgress:
			return "", failure.NotYet(0, fmt.Errorf("Cleeng subscription of %s subscription %s is being created by %s", ev.Gateway, ev.Token, owner))
		case err != nil && !errors.Is(err, ops.ErrNotFound):
			return "", err
		}
	}
	if !create {
		return "", nil // its creator ended without one
	}
	sub, err := f.cleeng.CreateSubscription(ctx, cleeng.CreateSubscriptionRequest{
		ExternalSubscriptionID: ev.Token, PaymentMethodID: cleeng.ID(ev.Metadata[metaPaymentMethod]),
		OfferID: offer, CustomerID: customer,
	})
	if err != nil {
		return "", err
	}
	return sub.SubscriptionID, ops.Amend(ctx, f.index, key, func(stored *externalIndex) bool {
		if stored.SubscriptionID != "" {
			return false
		}
		stored.SubscriptionID = sub.SubscriptionID
		return true
	})
}

// mirrorPayment records the payment of a paid or declined event. A paid
// one is indexed under the gateway's reference first (so its refund finds
// it); a declined one gets a reference of its own, as a purchase declined
// and later paid keeps its id.
func (f *Flows) mirrorPayment(ctx context.Context, ev gateways.Event, rec *ops.Record[mirrorState]) (cleeng.Payment, error) {
	customer, offer, country, err := cleengOf(ev)
	if err != nil {
		return cleeng.Payment{}, err
	}
	req := cleeng.ExternalPaymentRequest{
		PaymentMethodID: cleeng.ID(ev.Metadata[metaPaymentMethod]), OfferID: offer, CustomerID: customer,
		SubscriptionID: rec.State.SubscriptionID, Currency: ev.Amount.Currency, Country: country,
		// The notification carries the gross amount only [decided]: all of it is amount.
		Amount: cleeng.Decimal{Decimal: ev.Amount.Value}, Status: cleeng.StatusCaptured, ExternalPaymentID: ev.PaymentReference,
	}
	idx := paymentIndex{Gateway: ev.Gateway, ExternalPaymentID: ev.PaymentReference, OpKey: rec.Key,
		CustomerID: customer, SubscriptionID: rec.State.SubscriptionID}
	if !ev.Success {
		req.Status, req.RejectedReason = cleeng.StatusRejected, orUnknown(ev.Reason)
		req.ExternalPaymentID = ev.PaymentReference + "-declined"
		idx = paymentIndex{} // nothing refers to a rejection
	}
	if err := f.indexPayment(ctx, idx); err != nil {
		return cleeng.Payment{}, err
	}
	p, err := f.cleeng.CreateExternalPayment(ctx, req)
	var conflict *cleeng.ConflictError
	if errors.As(err, &conflict) {
		if conflict.Existing.SubscriptionID != req.SubscriptionID {
			return p, failure.Permanentf("externalPaymentId %q is already Cleeng payment %s of subscription %s, not of %s",
				req.ExternalPaymentID, conflict.Existing.ID, conflict.Existing.SubscriptionID, req.SubscriptionID)
		}
		p, err = conflict.Existing, nil
	}
	if err != nil {
		return p, err
	}
	idx.PaymentID = p.ID
	return p, f.indexPayment(ctx, idx)
}
