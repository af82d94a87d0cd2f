package flows

import (
	"context"
	"strings"

	"github.com/cleeng-connector/connector/cleeng"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/ops"
)

// authorisationClaim names the one operation that settles an authorised
// Cleeng payment (key settling.<paymentId>): the capture of its dunning
// attempt, or the deactivation of its payment details, which cancels it.
// Both read the payment authorised in Cleeng before acting at the gateway,
// so without a claim a deactivation could cancel in Cleeng what the
// capture was taking at the gateway (the shopper charged, Cleeng showing
// the payment cancelled), or a capture take what was just cancelled. The
// first to create the entry keeps it; it is never removed.
type authorisationClaim struct {
	OpKey string `json:"opKey"`
}

const flowAuthorisationClaim = "authorisation-claim"

func authorisationClaimKey(paymentID cleeng.ID) string {
	return ops.Key("settling", paymentID.String())
}

// claimAuthorisation claims payment for the operation opKey and reports
// whether opKey holds the claim (taken now, or on an earlier attempt).
func (f *Flows) claimAuthorisation(ctx context.Context, payment cleeng.ID, opKey string) (bool, error) {
	key := authorisationClaimKey(payment)
	if err := ops.PutOnce(ctx, f.ops, key, flowAuthorisationClaim, stepDone, authorisationClaim{OpKey: opKey}); err != nil {
		return false, err
	}
	claim, err := ops.Get[authorisationClaim](ctx, f.ops, key)
	if err != nil {
		return false, err
	}
	return claim.State.OpKey == opKey, nil
}

// deactivationClaimed is the deactivation of payment details (its
// operation key) that holds the claim on payment, or "" when none does.
func (f *Flows) deactivationClaimed(ctx context.Context, payment cleeng.ID) (string, error) {
	claim, err := ops.Get[authorisationClaim](ctx, f.ops, authorisationClaimKey(payment))
	if err != nil {
		return "", ignoreNotFound(err)
	}
	if by := claim.State.OpKey; strings.HasPrefix(by, flowDeactivate+".") {
		return by, nil
	}
	return "", nil
}

// authorisationGone is the capture's letter when the attempt's
// authorisation is no longer its to capture.
func authorisationGone(d cleeng.DunningData, why string) error {
	return failure.Permanentf("subscription %s, dunning attempt %s: the capture found an authorised payment in Cleeng, and it is gone (%s): check the subscription's payments, then capture or charge it by hand",
		d.SubscriptionID, d.DunningAttemptDate, why)
}
