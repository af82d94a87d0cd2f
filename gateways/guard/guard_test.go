package guard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/cleeng-connector/connector/gateways"
	"github.com/cleeng-connector/connector/gateways/adyen"
	adyensandbox "github.com/cleeng-connector/connector/gateways/adyen/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	cbsandbox "github.com/cleeng-connector/connector/gateways/cleverbridge/sandbox"
	"github.com/cleeng-connector/connector/gateways/guard"
	"github.com/cleeng-connector/connector/internal/failure"
	"github.com/cleeng-connector/connector/internal/faultinject"
	"github.com/cleeng-connector/connector/internal/money"
	"github.com/cleeng-connector/connector/internal/testkit"
)

// guarded is a real gateway behind its guard, its sandbox on a real socket.
type guarded struct {
	gw      gateways.Gateway
	reg     *prometheus.Registry
	arrived *arrivals
}

// arrivals records when each request reached the sandbox.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.times = append(a.times, time.Now())
		a.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (a *arrivals) list() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

func newGuarded(t *testing.T, gw gateways.Gateway, l guard.Limits, arrived *arrivals) *guarded {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := guard.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(gw.Name(), l, m, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return &guarded{gw: guard.Wrap(gw, g), reg: reg, arrived: arrived}
}

// withCleverbridge guards a Cleverbridge gateway on its sandbox.
func withCleverbridge(t *testing.T, l guard.Limits) (*guarded, *cbsandbox.Sandbox) {
	t.Helper()
	sb := cbsandbox.New(cbsandbox.Options{})
	arrived := &arrivals{}
	srv := httptest.NewServer(arrived.record(sb))
	t.Cleanup(func() { srv.Close(); sb.Close() })
	gw, err := cleverbridge.New(cleverbridge.Config{BaseURL: srv.URL, Username: sb.Username(), Password: sb.Password(),
		ProductID: "242233", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return newGuarded(t, gw, l, arrived), sb
}

// withAdyen guards an Adyen gateway (one attempt per call) on its sandbox.
func withAdyen(t *testing.T, l guard.Limits) (*guarded, *adyensandbox.Sandbox) {
	t.Helper()
	sb := adyensandbox.New(adyensandbox.Options{})
	arrived := &arrivals{}
	srv := httptest.NewServer(arrived.record(sb))
	t.Cleanup(func() { srv.Close(); sb.Close() })
	gw, err := adyen.New(adyen.Config{APIKey: sb.APIKey(), MerchantAccount: sb.MerchantAccount(), CheckoutURL: srv.URL + "/v71",
		ReturnURL: "https://shop.example/return", Timeout: 5 * time.Second, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return newGuarded(t, gw, l, arrived), sb
}

func eur(t *testing.T) money.Amount {
	t.Helper()
	a, err := money.New("9.99", "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// renewal is a Process Cart renewal of Cleverbridge subscription sub.
func renewal(t *testing.T, sub, order string) gateways.PayRequest {
	return gateways.PayRequest{IdempotencyKey: "charge-" + order, Reference: order, Amount: eur(t), ShopperReference: "927751142",
		Token: sub, Metadata: map[string]string{"orderId": order}}
}

// card is a first payment at Adyen with a test card.
func card(t *testing.T, order string) gateways.PayRequest {
	return gateways.PayRequest{IdempotencyKey: "initial-" + order, Reference: order, Amount: eur(t), ShopperReference: "927751142",
		PaymentMethod: adyensandbox.CardMethod(adyensandbox.CardVisa, "Jane Smith")}
}

func (g *guarded) state(t *testing.T) float64 {
	t.Helper()
	return gauge(t, g.reg, "connector_gateway_breaker_state", g.gw.Name())
}

func (g *guarded) refused(t *testing.T) float64 {
	t.Helper()
	return counter(t, g.reg, "connector_gateway_breaker_refused_total", g.gw.Name())
}

func TestLimits_ShareAndLongestWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		limits    guard.Limits
		replicas  int
		wantRate  rate.Limit
		wantBurst int
		waiters   int
		wantWait  time.Duration
	}{
		{"one replica keeps all", guard.Limits{Rate: 20, Burst: 4}, 1, 20, 4, 44, 2 * time.Second},
		{"three replicas share", guard.Limits{Rate: 30, Burst: 4}, 3, 10, 2, 12, time.Second},
		{"every replica may make one call", guard.Limits{Rate: 5, Burst: 1}, 4, 1.25, 1, 6, 4 * time.Second},
		{"within the burst nobody waits", guard.Limits{Rate: 1, Burst: 10}, 1, 1, 10, 10, 0},
		{"no limit, no wait", guard.Limits{}, 3, 0, 0, 1000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.limits.Share(tt.replicas)
			if s.Rate != tt.wantRate || s.Burst != tt.wantBurst {
				t.Errorf("share = %v/s burst %d, want %v/s burst %d", s.Rate, s.Burst, tt.wantRate, tt.wantBurst)
			}
			if got := s.MaxWait(tt.waiters); got != tt.wantWait {
				t.Errorf("longest wait of %d = %v, want %v", tt.waiters, got, tt.wantWait)
			}
		})
	}
}

func TestNew_RefusesLimitsNoCallFits(t *testing.T) {
	t.Parallel()
	for _, l := range []guard.Limits{{Rate: 5}, {Rate: -1, Burst: 1}, {Failures: -1}} {
		if _, err := guard.New("adyen", l, nil, zerolog.Nop()); err == nil {
			t.Errorf("limits %+v accepted", l)
		}
	}
}

// TestBreaker_OpensOnServerErrorsRefusesUnsentAndProbesAfterCooldown:
// Cleverbridge answering 500 three times opens the breaker; the next call
// is refused before anything is sent, as a transient error that names the
// cool-down; after it one probe goes out and its success closes the breaker.
func TestBreaker_OpensOnServerErrorsRefusesUnsentAndProbesAfterCooldown(t *testing.T) {
	t.Parallel()
	const cooldown = 3 * time.Second
	g, sb := withCleverbridge(t, guard.Limits{Failures: 3, Cooldown: cooldown})
	for i := range 3 {
		_, err := g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionInternalServerError, fmt.Sprint("order-err-", i)))
		if !failure.Is(err, failure.ClassTransient) || errors.Is(err, guard.ErrOpen) {
			t.Fatalf("call %d: %v, want Cleverbridge's own transient error", i, err)
		}
	}
	if s := g.state(t); s != 2 {
		t.Fatalf("breaker state %v after 3 failures, want 2 (open)", s)
	}
	_, err := g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionPaid, "order-refused"))
	if !errors.Is(err, guard.ErrOpen) || !failure.Is(err, failure.ClassTransient) || failure.RetryAfter(err) != cooldown {
		t.Fatalf("call on an open breaker: %v (class %v, after %v), want a transient refusal after %v", err, failure.ClassOf(err), failure.RetryAfter(err), cooldown)
	}
	if n := len(sb.Calls()); n != 3 {
		t.Fatalf("Cleverbridge received %d calls, want the 3 that failed: a refused call is never sent", n)
	}
	if g.refused(t) != 1 {
		t.Fatalf("refusals counted %v, want 1", g.refused(t))
	}
	testkit.Eventually(t, time.Minute, "breaker half-open after the cool-down", func() bool { return g.state(t) == 1 })
	res, err := g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionPaid, "order-probe"))
	if err != nil || res.Outcome != gateways.Captured {
		t.Fatalf("probe: %+v, %v", res, err)
	}
	if s := g.state(t); s != 0 {
		t.Fatalf("breaker state %v after a successful probe, want 0 (closed)", s)
	}
}

// TestBreaker_RefusalsAndClientErrorsKeepItClosed: declined cards and 4xx
// answers are the gateway at work; however many come in a row, every call
// goes out.
func TestBreaker_RefusalsAndClientErrorsKeepItClosed(t *testing.T) {
	t.Parallel()
	g, sb := withCleverbridge(t, guard.Limits{Failures: 2, Cooldown: time.Hour})
	for i := range 3 {
		res, err := g.gw.Pay(context.Background(), renewal(t, "S-PAY_DEC", fmt.Sprint("order-declined-", i)))
		if err != nil || res.Outcome != gateways.Refused {
			t.Fatalf("declined card %d: %+v, %v", i, res, err)
		}
		if _, err := g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionInvalidRequest, fmt.Sprint("order-invalid-", i))); !failure.Is(err, failure.ClassPermanent) {
			t.Fatalf("invalid request %d: %v, want permanent", i, err)
		}
	}
	if n := len(sb.Calls()); n != 6 || g.state(t) != 0 || g.refused(t) != 0 {
		t.Fatalf("%d calls sent, breaker state %v, %v refused; want 6 sent, closed, none refused", n, g.state(t), g.refused(t))
	}
}

// TestBreaker_LostAnswerStaysInDoubt: a call whose answer was lost after
// Cleverbridge applied it counts as a failure, and its error is still the
// unknown outcome it was (the flow waits for the notification), never
// turned into "not sent"; the next call is the one refused.
func TestBreaker_LostAnswerStaysInDoubt(t *testing.T) {
	t.Parallel()
	g, sb := withCleverbridge(t, guard.Limits{Failures: 1, Cooldown: time.Hour})
	sb.Faults().Add(faultinject.Fault{DropResponse: true, Count: 1})
	_, err := g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionPaid, "order-lost"))
	if !failure.Is(err, failure.ClassUnknownOutcome) || errors.Is(err, guard.ErrOpen) {
		t.Fatalf("lost answer: %v (class %v), want Cleverbridge's unknown outcome", err, failure.ClassOf(err))
	}
	if n := len(sb.Purchases()); n != 1 {
		t.Fatalf("%d purchases, want the 1 whose answer was lost", n)
	}
	_, err = g.gw.Pay(context.Background(), renewal(t, cbsandbox.SubscriptionPaid, "order-next"))
	if !errors.Is(err, guard.ErrOpen) || !failure.Is(err, failure.ClassTransient) {
		t.Fatalf("next call: %v, want a transient refusal", err)
	}
	if n := len(sb.Calls()); n != 1 {
		t.Fatalf("%d calls sent, want 1", n)
	}
}

// TestLimiter_PacesConcurrentCallsAndFailsNone: 30 callers at once against
// Adyen limited to 20 calls/s with a burst of 1 all succeed, and the calls
// reach the sandbox no faster than the limit allows: the last arrives at
// least 29/20 s after the first (a lower bound, which a busy machine only
// makes easier to meet).
func TestLimiter_PacesConcurrentCallsAndFailsNone(t *testing.T) {
	t.Parallel()
	const calls, perSecond = 30, 20
	g, sb := withAdyen(t, guard.Limits{Rate: perSecond, Burst: 1})
	reqs := make([]gateways.PayRequest, calls)
	for i := range reqs {
		reqs[i] = card(t, fmt.Sprint("order-paced-", i))
	}
	testkit.FanOut(t, calls, calls, func(i int) error {
		res, err := g.gw.Pay(context.Background(), reqs[i])
		if err == nil && res.Outcome != gateways.Captured {
			err = fmt.Errorf("outcome %s", res.Outcome)
		}
		return err
	})
	if n := len(sb.Payments()); n != calls {
		t.Fatalf("%d payments at Adyen, want %d", n, calls)
	}
	times := g.arrived.list()
	// Arrival order may differ from sending order by scheduling noise; a
	// tolerance of 20 ms covers it, far below the 1.45 s bound.
	span := times[len(times)-1].Sub(times[0])
	if least := time.Duration(calls-1) * time.Second / perSecond; span < least-20*time.Millisecond {
		t.Fatalf("%d calls arrived within %v, faster than %d/s allows (%v)", calls, span, perSecond, least)
	}
	if n := histogramCount(t, g.reg, "connector_gateway_rate_wait_seconds", adyen.Name); n != calls {
		t.Fatalf("%d waits observed, want %d", n, calls)
	}
}

// TestLimiter_TurnPastTheDeadlineIsNotYetAndKeepsTheLine: a call whose turn
// comes after its caller's deadline is not sent and not failed: "not yet",
// after the wait. It gives its turn back, so the next caller's wait is no
// longer than its own was.
func TestLimiter_TurnPastTheDeadlineIsNotYetAndKeepsTheLine(t *testing.T) {
	t.Parallel()
	g, sb := withAdyen(t, guard.Limits{Rate: 0.01, Burst: 1}) // one call per 100 s
	if _, err := g.gw.Pay(context.Background(), card(t, "order-first")); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for _, order := range []string{"order-second", "order-third"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := g.gw.Pay(ctx, card(t, order))
		cancel()
		if !failure.Is(err, failure.ClassNotYet) || failure.RetryAfter(err) <= 5*time.Second {
			t.Fatalf("%s: %v (class %v, after %v), want not yet for longer than the deadline", order, err, failure.ClassOf(err), failure.RetryAfter(err))
		}
		waits = append(waits, failure.RetryAfter(err))
	}
	if waits[1] > waits[0] {
		t.Fatalf("the third call waits %v, longer than the second's %v: the second kept a turn it did not use", waits[1], waits[0])
	}
	if n := len(sb.Payments()); n != 1 {
		t.Fatalf("%d payments at Adyen, want 1", n)
	}
}

// TestWrap_KeepsNameCapabilitiesAndPaymentMethodListing: the guard is
// invisible to the flows' choices, and Adyen's payment-method listing still
// works through it (paced like every call), while Cleverbridge still has none.
func TestWrap_KeepsNameCapabilitiesAndPaymentMethodListing(t *testing.T) {
	t.Parallel()
	a, _ := withAdyen(t, guard.Limits{Rate: 10, Burst: 1})
	lister, ok := a.gw.(gateways.PaymentMethodLister)
	if !ok || a.gw.Name() != adyen.Name || !a.gw.Capabilities().IdempotencyKeys {
		t.Fatalf("guarded Adyen: lister %v, name %s, capabilities %+v", ok, a.gw.Name(), a.gw.Capabilities())
	}
	methods, err := lister.PaymentMethods(context.Background(), gateways.PaymentMethodsRequest{Amount: eur(t), CountryCode: "NL"})
	if err != nil || len(methods.Methods) == 0 {
		t.Fatalf("payment methods: %+v, %v", methods, err)
	}
	if n := len(a.arrived.list()); n != 1 {
		t.Fatalf("%d requests, want the listing's 1", n)
	}
	c, _ := withCleverbridge(t, guard.Limits{})
	if _, ok := c.gw.(gateways.PaymentMethodLister); ok || c.gw.Capabilities().IdempotencyKeys {
		t.Fatalf("guarded Cleverbridge gained capabilities: %+v", c.gw.Capabilities())
	}
}

// TestPace_TakesTheTurnOfTheNextCallOnly: a flow paces before recording
// its intent; the call it then makes goes out at once on that turn, and a
// second call with the same context waits its own turn.
func TestPace_TakesTheTurnOfTheNextCallOnly(t *testing.T) {
	t.Parallel()
	g, sb := withAdyen(t, guard.Limits{Rate: 0.01, Burst: 1}) // one call per 100 s
	pacer, ok := g.gw.(gateways.Pacer)
	if !ok {
		t.Fatal("the guarded gateway does not pace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	paced, err := pacer.Pace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.gw.Pay(paced, card(t, "order-paced")); err != nil {
		t.Fatalf("the paced call: %v, want it sent on its turn", err)
	}
	if _, err := g.gw.Pay(paced, card(t, "order-unpaced")); !failure.Is(err, failure.ClassNotYet) {
		t.Fatalf("a second call on the same turn: %v, want not yet", err)
	}
	if _, err := pacer.Pace(ctx); !failure.Is(err, failure.ClassNotYet) {
		t.Fatalf("pacing with no turn before the deadline: %v, want not yet", err)
	}
	if n := len(sb.Payments()); n != 1 {
		t.Fatalf("%d payments at Adyen, want 1", n)
	}
}

// TestBreaker_CallCutShortByItsCallerIsNoFailure: a call the worker itself
// abandons (a drain, the handler's deadline) while Adyen holds the answer
// says nothing about Adyen's health: one failure would open this breaker,
// and it stays closed.
func TestBreaker_CallCutShortByItsCallerIsNoFailure(t *testing.T) {
	t.Parallel()
	g, sb := withAdyen(t, guard.Limits{Failures: 1, Cooldown: time.Hour})
	held := faultinject.NewGate()
	defer held.Open()
	sb.Faults().Add(faultinject.Fault{PathPrefix: "/v71/payments", Hold: held, Count: 1})
	ctx, cancel := context.WithCancel(context.Background())
	abandoned, req := make(chan error, 1), card(t, "order-abandoned")
	go func() {
		_, err := g.gw.Pay(ctx, req)
		abandoned <- err
	}()
	testkit.Eventually(t, time.Minute, "the call held at Adyen", func() bool { return held.Arrived() == 1 })
	cancel()
	if err := <-abandoned; !failure.Is(err, failure.ClassUnknownOutcome) {
		t.Fatalf("abandoned call: %v, want Adyen's unknown outcome", err)
	}
	if s := g.state(t); s != 0 {
		t.Fatalf("breaker state %v after the caller gave up, want 0 (closed)", s)
	}
	if _, err := g.gw.Pay(context.Background(), card(t, "order-after")); err != nil {
		t.Fatalf("next call: %v, want it sent", err)
	}
}
