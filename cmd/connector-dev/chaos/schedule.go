package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cleeng-connector/connector/cleeng"
	cleengsandbox "github.com/cleeng-connector/connector/cleeng/sandbox"
	"github.com/cleeng-connector/connector/gateways/cleverbridge"
	"github.com/cleeng-connector/connector/internal/faultinject"
)

// Fault classes, as the table names them.
const (
	fault5xx         = "sandbox 5xx"
	fault429         = "sandbox 429"
	faultDropped     = "answer dropped after the effect"
	faultHeld        = "answer held after the effect (late or timed out)"
	faultLatency     = "latency spike"
	faultCopies      = "webhook copies (Cleeng re-sends at once)"
	faultLateCleeng  = "Cleeng webhook re-sent past the duplicate window"
	faultLateAdyen   = "Adyen notification re-sent past the duplicate window"
	faultLateCB      = "Cleverbridge notification re-sent past the duplicate window"
	faultWorkerKill  = "worker SIGKILL + restart"
	faultIngressKill = "ingress SIGKILL + restart"
)

// faultClasses is the table's order.
var faultClasses = []string{fault5xx, fault429, faultDropped, faultHeld, faultLatency, faultCopies,
	faultLateCleeng, faultLateAdyen, faultLateCB, faultEarly, faultReordered, faultSwapped, faultWorkerKill, faultIngressKill,
	faultNATSKill, faultStepDown}

// phaseLength is how long a set of sandbox faults stays: short, so that
// held answers come late rather than never and the faults move around.
const phaseLength = time.Second

// target is a sandbox route the connector calls, with an effect to lose.
type target struct {
	sandbox string // URL prefix of the sandbox: /cleeng, /adyen, /cleverbridge
	method  string
	path    string // as the sandbox's fault injector sees it
}

var targets = []target{
	{"/cleeng", http.MethodPost, "/3.1/orders"},
	{"/cleeng", http.MethodPost, "/3.1/payments"},
	{"/cleeng", http.MethodPatch, "/3.1/payments/"},
	{"/cleeng", http.MethodPatch, "/3.1/subscriptions/"},
	{"/cleeng", http.MethodPost, "/3.1/payment_details"},
	{"/adyen", http.MethodPost, "/v71/payments"},
	{"/adyen", http.MethodPost, "/v71/payments/"},
	{"/cleverbridge", http.MethodPost, cleverbridge.ProcessCartPath},
}

// lateWebhook is a Cleeng webhook the population sent, to send again
// once the inbox's duplicate window has passed.
type lateWebhook struct {
	topic        cleeng.Topic
	subscription cleeng.ID
	date         string
	at           time.Time
}

// schedule injects the faults. Every choice comes from one generator
// seeded with the run's seed and drawn in one goroutine, so a seed replays
// the same sequence of faults (their timing against the connector's work
// is the machine's).
type schedule struct {
	// rng draws the sandbox faults and late re-sends; killRNG, in the
	// goroutine of the kills, which of the replicas dies and when.
	rng, killRNG *rand.Rand
	api          *api
	cluster      *cluster
	// killWorkers and killIngress are the pauses between kills; 0: none.
	killWorkers, killIngress time.Duration
	// maxWorkerKills bounds the worker kills (0: unbounded).
	maxWorkerKills int
	// killed is closed once minWorkerKills workers were killed.
	minWorkerKills int
	killed         chan struct{}
	natsFaults

	mu     sync.Mutex
	counts map[string]int
	// installed are the sandbox faults of the current phase, by sandbox.
	installed map[string][]faultinject.Fault
	late      []lateWebhook
	errors    []string
}

func (s *schedule) add(class string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[class] += n
}

func (s *schedule) count(class string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[class]
}

// copies is how many times Cleeng sends a story's next webhook: drawn
// from the story's own generator, so the population stays reproducible.
func (s *schedule) copies(rng *rand.Rand) int {
	if rng.Float64() >= 0.2 {
		return 1
	}
	n := 2 + rng.IntN(2)
	s.add(faultCopies, n-1)
	return n
}

// remember keeps a webhook to re-send late.
func (s *schedule) remember(w lateWebhook) {
	w.at = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.late = append(s.late, w)
}

func (s *schedule) problem(err error) {
	if errors.Is(err, context.Canceled) {
		return // the faults were turned off while the call was made
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errors) < 10 {
		s.errors = append(s.errors, err.Error())
	}
}

// run injects faults until ctx ends, then removes the sandbox faults.
func (s *schedule) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.kills(ctx) })
	wg.Go(func() { s.killNodes(ctx) })
	wg.Go(func() { s.stepDowns(ctx) })
	phase := time.NewTicker(phaseLength)
	defer phase.Stop()
	for n := 0; ; n++ {
		s.installPhase(ctx)
		select {
		case <-ctx.Done():
			s.endPhase(context.Background())
			wg.Wait()
			return
		case <-phase.C:
		}
		s.endPhase(ctx)
		s.resendLate(ctx, n)
	}
}

// installPhase adds one to three sandbox faults, each for a few requests.
func (s *schedule) installPhase(ctx context.Context) {
	for range 2 + s.rng.IntN(4) {
		t := targets[s.rng.IntN(len(targets))]
		f := faultinject.Fault{Method: t.method, PathPrefix: t.path, Count: 1 + s.rng.IntN(8)}
		switch s.rng.IntN(5) {
		case 0:
			f.ErrorRate, f.ErrorStatus = 1, []int{500, 502, 503}[s.rng.IntN(3)]
		case 1:
			f.ErrorRate, f.ErrorStatus = 1, http.StatusTooManyRequests
		case 2:
			f.DropResponse = true
		case 3:
			f.HoldResponse = true
		case 4:
			f.Latency = faultinject.Duration(time.Duration(200+s.rng.IntN(1800)) * time.Millisecond)
		}
		s.install(ctx, t.sandbox, f)
	}
	s.installOrderFaults(ctx)
}

// install adds f to sandbox for the phase.
func (s *schedule) install(ctx context.Context, sandbox string, f faultinject.Fault) {
	if _, err := s.api.call(ctx, http.MethodPost, s.api.sandboxURL+sandbox+"/sandbox/faults", "", f, nil); err != nil {
		s.problem(err)
		return
	}
	s.mu.Lock()
	s.installed[sandbox] = append(s.installed[sandbox], f)
	s.mu.Unlock()
}

// endPhase counts what each sandbox fault injected (the uses it consumed:
// a fault with uses left is listed with its count, a used-up one is gone)
// and removes them, sending the held answers.
func (s *schedule) endPhase(ctx context.Context) {
	for _, sb := range []string{"/cleeng", "/adyen", "/cleverbridge"} {
		url := s.api.sandboxURL + sb + "/sandbox/faults"
		var left []faultinject.Fault
		if _, err := s.api.call(ctx, http.MethodGet, url, "", nil, &left); err != nil {
			s.problem(err)
			continue
		}
		if _, err := s.api.call(ctx, http.MethodDelete, url, "", nil, nil); err != nil {
			s.problem(err)
			continue
		}
		remaining := map[string]int{}
		for _, f := range left {
			remaining[faultKey(f)] += f.Count
		}
		s.mu.Lock()
		for _, f := range s.installed[sb] {
			left := min(remaining[faultKey(f)], f.Count)
			remaining[faultKey(f)] -= left
			s.counts[faultClass(f)] += f.Count - left
		}
		s.installed[sb] = nil
		s.mu.Unlock()
	}
}

// faultClass is the table's name for what f does.
func faultClass(f faultinject.Fault) string {
	switch {
	case f.NotifyFirst:
		return faultEarly
	case f.ReorderNotifications:
		return faultReordered
	case f.ErrorStatus == http.StatusTooManyRequests:
		return fault429
	case f.ErrorRate > 0:
		return fault5xx
	case f.DropResponse:
		return faultDropped
	case f.HoldResponse:
		return faultHeld
	default:
		return faultLatency
	}
}

// faultKey tells apart the faults of a phase in the sandbox's list.
func faultKey(f faultinject.Fault) string {
	return f.Method + " " + f.PathPrefix + " " + faultClass(f)
}

// resendLate re-sends some remembered webhooks whose duplicate window has
// passed, and, every other phase, a few gateway notifications.
func (s *schedule) resendLate(ctx context.Context, phase int) {
	cutoff := time.Now().Add(-duplicateWindow - time.Second)
	s.mu.Lock()
	var due []lateWebhook
	for range 1 + s.rng.IntN(3) {
		if len(s.late) == 0 {
			break
		}
		i := s.rng.IntN(len(s.late))
		if s.late[i].at.After(cutoff) {
			continue
		}
		due = append(due, s.late[i])
		s.late = append(s.late[:i], s.late[i+1:]...)
	}
	s.mu.Unlock()
	for _, w := range due {
		req := cleengsandbox.EmitRequest{Topic: string(w.topic), SubscriptionID: w.subscription, DunningAttemptDate: w.date}
		if _, err := s.api.call(ctx, http.MethodPost, s.api.sandboxURL+"/cleeng/sandbox/webhooks", "", req, nil); err != nil {
			s.problem(err)
			continue
		}
		s.add(faultLateCleeng, 1)
	}
	if phase%2 == 1 {
		return
	}
	for _, g := range []struct {
		sandbox, class string
		count          func() (int, error)
	}{
		{"/adyen", faultLateAdyen, func() (int, error) {
			var st struct {
				Notifications int `json:"notifications"`
			}
			_, err := s.api.call(ctx, http.MethodGet, s.api.sandboxURL+"/adyen/sandbox/state", "", nil, &st)
			return st.Notifications, err
		}},
		{"/cleverbridge", faultLateCB, func() (int, error) {
			var st struct {
				Notifications []struct{} `json:"notifications"`
			}
			_, err := s.api.call(ctx, http.MethodGet, s.api.sandboxURL+"/cleverbridge/sandbox/state", "", nil, &st)
			return len(st.Notifications), err
		}},
	} {
		n, err := g.count()
		if err != nil {
			s.problem(err)
			continue
		}
		if n == 0 {
			continue
		}
		i := s.rng.IntN(n)
		if _, err := s.api.call(ctx, http.MethodPost, s.api.sandboxURL+g.sandbox+"/sandbox/notifications/"+strconv.Itoa(i)+"/resend", "", nil, nil); err != nil {
			s.problem(err)
			continue
		}
		s.add(g.class, 1)
	}
}

// kills SIGKILLs a random worker every killWorkers and an ingress every
// killIngress, each restarted at once (as an orchestrator would), until ctx ends.
func (s *schedule) kills(ctx context.Context) {
	nextWorker, nextIngress := after(s.killRNG, s.killWorkers), after(s.killRNG, s.killIngress)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if !nextWorker.IsZero() && now.After(nextWorker) && (s.maxWorkerKills == 0 || s.count(faultWorkerKill) < s.maxWorkerKills) {
			w := s.cluster.workers[s.killRNG.IntN(len(s.cluster.workers))]
			s.restart(ctx, w, faultWorkerKill)
			if s.count(faultWorkerKill) == s.minWorkerKills {
				close(s.killed)
			}
			nextWorker = after(s.killRNG, s.killWorkers)
		}
		if !nextIngress.IsZero() && now.After(nextIngress) {
			in := s.cluster.ingresses[s.killRNG.IntN(len(s.cluster.ingresses))]
			s.restart(ctx, in, faultIngressKill)
			nextIngress = after(s.killRNG, s.killIngress)
		}
	}
}

// after is the time of the next fault drawn from rng: every ±50%, or never for 0.
func after(rng *rand.Rand, every time.Duration) time.Time {
	if every <= 0 {
		return time.Time{}
	}
	return time.Now().Add(every/2 + time.Duration(rng.Int64N(int64(every))))
}

func (s *schedule) restart(ctx context.Context, p *process, class string) {
	s.add(class, 1)
	if err := restart(ctx, p); err != nil && ctx.Err() == nil {
		s.problem(fmt.Errorf("restart %s: %w", p.name, err))
	}
}
