package chaos

import (
	"context"
	"net/http"

	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/faultinject"
)

// Fault classes of the order in which the connector hears of things.
const (
	faultEarly     = "gateway notification delivered before the API answer (early)"
	faultReordered = "gateway notification held back behind later ones (reordered)"
	faultSwapped   = "Cleeng webhooks of a story sent out of order"
)

// notifying are the gateway calls whose effect the gateway notifies: an
// authorisation, a capture or refund, a Cleverbridge renewal.
var notifying = []target{
	{"/adyen", http.MethodPost, "/v71/payments"},
	{"/adyen", http.MethodPost, "/v71/payments/"},
	{"/cleverbridge", http.MethodPost, cleverbridge.ProcessCartPath},
}

// installOrderFaults adds, for this phase, maybe a call answered only once
// its notification was delivered, and maybe some notifications held back
// behind the next ones of their payment (or to the phase's end).
func (s *schedule) installOrderFaults(ctx context.Context) {
	early, reorder := s.rng.IntN(2) == 0, s.rng.IntN(2) == 0
	t := notifying[s.rng.IntN(len(notifying))]
	sandbox := []string{"/adyen", "/cleverbridge"}[s.rng.IntN(2)]
	earlyCount, reorderCount := 1+s.rng.IntN(4), 1+s.rng.IntN(4)
	if early {
		s.install(ctx, t.sandbox, faultinject.Fault{Method: t.method, PathPrefix: t.path, NotifyFirst: true, Count: earlyCount})
	}
	if reorder {
		s.install(ctx, sandbox, faultinject.Fault{ReorderNotifications: true, Count: reorderCount})
	}
}

// reportOvertaken adds how many held-back notifications the sandboxes
// delivered after a later one of their payment: the reorders that took.
func reportOvertaken(v *verdict, l ledgers) {
	v.report("  of them delivered after a later one of their payment or subscription",
		l.adyen.NotificationsReordered+l.cleverbridge.NotificationsReordered)
}

// storyOrder is the order in which a story's Cleeng webhooks go out:
// swapped, the termination comes first and the refund last, as Cleeng's
// deliveries may arrive.
func (p *population) storyOrder(steps []func() error, swapped bool) []func() error {
	if !swapped || len(steps) < 2 {
		return steps
	}
	p.faults.add(faultSwapped, 1)
	out := make([]func() error, 0, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		out = append(out, steps[i])
	}
	return out
}

// waitingFor names what quiescence waits for: the first inbox subject and
// operation in progress, so a stuck one shows while the run waits.
func waitingFor(r records) string {
	var s string
	if len(r.unackedBy) > 0 {
		s += " (" + r.unackedBy[0] + ")"
	}
	if len(r.inProgress) > 0 {
		s += " (operation " + r.inProgress[0].Key + " at step " + r.inProgress[0].Step + ")"
	}
	return s
}
