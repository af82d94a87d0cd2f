package guard

import (
	"context"

	"github.com/cleeng-connector/connector/gateways"
)

// Wrap returns gw with every call made under g. The wrapper paces
// (gateways.Pacer), has gw's name and capabilities, and lists payment methods when gw does
// (gateways.PaymentMethodLister), so callers' type assertions still find it.
func Wrap(gw gateways.Gateway, g *Guard) gateways.Gateway {
	w := &wrapped{next: gw, guard: g}
	if lister, ok := gw.(gateways.PaymentMethodLister); ok {
		return &wrappedLister{wrapped: w, lister: lister}
	}
	return w
}

type wrapped struct {
	next  gateways.Gateway
	guard *Guard
}

// Pace waits for the turn of the next call made with the returned context.
func (w *wrapped) Pace(ctx context.Context) (context.Context, error) { return w.guard.Pace(ctx) }

func (w *wrapped) Name() string                        { return w.next.Name() }
func (w *wrapped) Capabilities() gateways.Capabilities { return w.next.Capabilities() }

func (w *wrapped) Pay(ctx context.Context, req gateways.PayRequest) (gateways.Result, error) {
	return guarded(ctx, w.guard, "pay", func(ctx context.Context) (gateways.Result, error) { return w.next.Pay(ctx, req) })
}

func (w *wrapped) CompleteAction(ctx context.Context, req gateways.ActionRequest) (gateways.Result, error) {
	return guarded(ctx, w.guard, "complete action", func(ctx context.Context) (gateways.Result, error) {
		return w.next.CompleteAction(ctx, req)
	})
}

func (w *wrapped) Capture(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	return guarded(ctx, w.guard, "capture", func(ctx context.Context) (gateways.Result, error) { return w.next.Capture(ctx, req) })
}

func (w *wrapped) Refund(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	return guarded(ctx, w.guard, "refund", func(ctx context.Context) (gateways.Result, error) { return w.next.Refund(ctx, req) })
}

func (w *wrapped) Cancel(ctx context.Context, req gateways.ModifyRequest) (gateways.Result, error) {
	return guarded(ctx, w.guard, "cancel", func(ctx context.Context) (gateways.Result, error) { return w.next.Cancel(ctx, req) })
}

func (w *wrapped) DeleteToken(ctx context.Context, req gateways.TokenRequest) error {
	_, err := guarded(ctx, w.guard, "delete token", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, w.next.DeleteToken(ctx, req)
	})
	return err
}

// wrappedLister is wrapped for a gateway that lists payment methods.
type wrappedLister struct {
	*wrapped
	lister gateways.PaymentMethodLister
}

func (w *wrappedLister) PaymentMethods(ctx context.Context, req gateways.PaymentMethodsRequest) (gateways.PaymentMethods, error) {
	return guarded(ctx, w.guard, "payment methods", func(ctx context.Context) (gateways.PaymentMethods, error) {
		return w.lister.PaymentMethods(ctx, req)
	})
}
