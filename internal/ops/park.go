package ops

import (
	"context"
	"time"
)

// Park records step and releases the claim while keeping the operation in
// progress: it now waits for something outside the connector (a shopper's
// 3-D Secure result, a gateway notification), and whichever message brings
// that may claim it at once instead of waiting for the lease to run out.
func (r *Record[T]) Park(ctx context.Context, s *Store, step string) error {
	return r.write(ctx, s, func(r *Record[T]) {
		r.Step = step
		r.LeaseUntil = time.Time{}
	})
}
