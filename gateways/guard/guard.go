package guard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"github.com/cleeng-connector/connector/internal/failure"
)

// Limits of one gateway, for the whole deployment; Share turns them into
// one worker replica's part.
type Limits struct {
	// Rate is the calls per second allowed; rate.Inf (or 0) sets no limit.
	Rate rate.Limit
	// Burst is how many calls may go out at once after a quiet spell;
	// at least 1 when Rate limits.
	Burst int
	// Failures is how many failed calls in a row open the breaker; 0 never
	// opens it.
	Failures int
	// Cooldown is how long an open breaker refuses calls before it lets a
	// probe through. Default 30s.
	Cooldown time.Duration
}

// DefaultCooldown is Limits.Cooldown's default.
const DefaultCooldown = 30 * time.Second

// limited reports whether l limits the rate at all.
func (l Limits) limited() bool { return l.Rate > 0 && l.Rate != rate.Inf }

// Share is one of replicas equal parts of l: the rate divided, the burst
// divided rounding up (a replica may always make one call). The breaker's
// settings are not divided: each replica judges the gateway by its own calls.
func (l Limits) Share(replicas int) Limits {
	if replicas <= 1 || !l.limited() {
		return l
	}
	l.Rate /= rate.Limit(replicas)
	l.Burst = max(1, (l.Burst+replicas-1)/replicas)
	return l
}

// MaxWait is the longest a call waits for its turn when waiters calls wait
// at once (every handler of a replica that may call the gateway): the
// limiter serves them in order, Rate a second after the first Burst.
func (l Limits) MaxWait(waiters int) time.Duration {
	if !l.limited() || waiters <= l.Burst {
		return 0
	}
	return time.Duration(math.Ceil(float64(waiters-l.Burst) / float64(l.Rate) * float64(time.Second)))
}

// Validate reports limits no gateway could be called with.
func (l Limits) Validate() error {
	var errs []error
	if l.limited() && l.Burst < 1 {
		errs = append(errs, fmt.Errorf("burst %d: must be at least 1", l.Burst))
	}
	if l.Rate < 0 || math.IsNaN(float64(l.Rate)) {
		errs = append(errs, fmt.Errorf("rate %v: must be positive", float64(l.Rate)))
	}
	if l.Failures < 0 || l.Cooldown < 0 {
		errs = append(errs, errors.New("breaker failures and cool-down must not be negative"))
	}
	return errors.Join(errs...)
}

// ErrOpen is in the error of a call the breaker refused.
var ErrOpen = errors.New("circuit breaker open: the gateway failed repeatedly")

// Guard paces and guards the calls to one gateway. Wrap puts one around a
// gateway.
type Guard struct {
	name     string
	limiter  *rate.Limiter
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
	cooldown time.Duration
	metrics  gatewayMetrics
}

// Verdicts reported to the breaker for a call that went out.
var (
	errUnhealthy = errors.New("gateway failed")
	errExcluded  = errors.New("call cut short by its caller")
)

// New returns the guard of gateway name, its metrics in m (nil: none).
func New(name string, l Limits, m *Metrics, log zerolog.Logger) (*Guard, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("guard %s: %w", name, err)
	}
	if l.Cooldown == 0 {
		l.Cooldown = DefaultCooldown
	}
	limit, burst := rate.Inf, 0
	if l.limited() {
		limit, burst = l.Rate, l.Burst
	}
	g := &Guard{name: name, limiter: rate.NewLimiter(limit, burst), cooldown: l.Cooldown, metrics: m.forGateway(name)}
	failures := uint32(l.Failures)
	g.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe after the cool-down
		Timeout:     l.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return failures > 0 && c.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Warn().Str("gateway", name).Stringer("from", from).Stringer("to", to).Msg("gateway circuit breaker")
		},
	})
	m.watch(name, g.breaker)
	return g, nil
}

// turn is a turn taken ahead of its call (Pace), carried by the call's
// context; the first call of its guard made with that context uses it.
type turn struct {
	guard *Guard
	used  atomic.Bool
}

type turnKey struct{}

// Pace waits for the turn of the next call made with the returned context
// (gateways.Pacer): a flow waits before it records its intent to call.
func (g *Guard) Pace(ctx context.Context) (context.Context, error) {
	if err := g.take(ctx, "call"); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, turnKey{}, &turn{guard: g}), nil
}

// take waits for a turn; an open breaker refuses at once rather than after
// a wait in line.
func (g *Guard) take(ctx context.Context, what string) error {
	if g.breaker.State() == gobreaker.StateOpen {
		return g.refuse(what)
	}
	return g.wait(ctx, what)
}

// admit takes the call's turn (or the one Pace took for it) and asks the
// breaker; done reports the call's error once it returns. A call that is
// not admitted was not sent: its error is transient, or "not yet" when its
// turn comes after the handler's deadline.
func (g *Guard) admit(ctx context.Context, what string) (done func(ctx context.Context, err error), err error) {
	if t, ok := ctx.Value(turnKey{}).(*turn); !ok || t.guard != g || t.used.Swap(true) {
		if err := g.take(ctx, what); err != nil {
			return nil, err
		}
	}
	report, err := g.breaker.Allow()
	if err != nil {
		return nil, g.refuse(what)
	}
	return func(ctx context.Context, err error) { report(verdict(ctx, err)) }, nil
}

func (g *Guard) refuse(what string) error {
	g.metrics.refused.Inc()
	return &failure.Error{Class: failure.ClassTransient, After: g.cooldown,
		Err: fmt.Errorf("%s %s: not sent: %w", g.name, what, ErrOpen)}
}

// wait takes the call's turn at the limiter. A turn further off than the
// handler's deadline is not taken: the message comes back when it would
// have been due ("not yet"), so a long line never fails a call.
func (g *Guard) wait(ctx context.Context, what string) error {
	start := time.Now()
	r := g.limiter.Reserve()
	delay := r.DelayFrom(start)
	if deadline, ok := ctx.Deadline(); ok && start.Add(delay).After(deadline) {
		r.Cancel()
		return failure.NotYet(delay, fmt.Errorf("%s %s: not sent: its turn under the rate limit comes in %v, after the handler's deadline", g.name, what, delay))
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			r.Cancel()
			g.metrics.wait.Observe(time.Since(start).Seconds())
			return failure.Transient(fmt.Errorf("%s %s: not sent: cut short waiting for the rate limit: %w", g.name, what, ctx.Err()))
		}
	}
	g.metrics.wait.Observe(time.Since(start).Seconds())
	return nil
}

// verdict is what a call that went out tells the breaker: a failure when
// the gateway failed or did not answer, nothing when the caller's own
// context ended it (a drain, the handler's deadline), else a success: an
// answer, a refusal or a 4xx is the gateway at work.
func verdict(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errExcluded
	}
	switch failure.ClassOf(err) {
	case failure.ClassTransient, failure.ClassUnknownOutcome:
		return errUnhealthy
	}
	return nil
}

// guarded runs op under g.
func guarded[T any](ctx context.Context, g *Guard, what string, op func(context.Context) (T, error)) (T, error) {
	done, err := g.admit(ctx, what)
	if err != nil {
		var zero T
		return zero, err
	}
	defer func() {
		// A panicking call counts as failed, as in gobreaker's Execute, so
		// a half-open breaker's probe is never left unreported.
		if p := recover(); p != nil {
			done(ctx, fmt.Errorf("panic: %v", p))
			panic(p)
		}
	}()
	res, err := op(ctx)
	done(ctx, err)
	return res, err
}
