package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cleeng-connector/connector/internal/faultinject"
)

// Options shape a run.
type Options struct {
	// Subscriptions is the population's size. Default 2000.
	Subscriptions int
	// Seed draws the population and the fault schedule; the same seed
	// replays both. 0 picks one at random (printed).
	Seed uint64
	// Duration bounds the population's run (0: until every story ends);
	// quiescence and the checks come after it.
	Duration time.Duration
	// Concurrency is how many stories run at once. Default 64.
	Concurrency int
	// KillWorkerEvery and KillIngressEvery are the mean pauses between
	// SIGKILLs of a random worker and of a random ingress. Defaults 4s and 20s.
	KillWorkerEvery, KillIngressEvery time.Duration
	// MaxWorkerKills bounds the worker kills (0: no bound).
	MaxWorkerKills int
	// MinWorkerKills keeps the faults on after the population is done
	// until this many workers were killed.
	MinWorkerKills int
	// KillNATSEvery is the mean pause between SIGKILLs of a random node of
	// the JetStream cluster (each restarted a few seconds later), and
	// StepDownEvery between step-downs of a random stream's leader.
	// Defaults 25s and 15s; negative: none.
	KillNATSEvery, StepDownEvery time.Duration
	// MinNATSKills keeps the faults on after the population is done until
	// this many NATS nodes were killed and restarted.
	MinNATSKills int
	// Quiet bounds the wait for quiescence once faults are off. Default 3 min.
	Quiet time.Duration
	// Progress is how often a progress line is printed. Default 5s.
	Progress time.Duration
	// Knockout names an idempotency mechanism to switch off in the
	// workers (internal/knockout), which then run the knockout build: the
	// run must show the violation. "": none.
	Knockout string
}

// defaultKillWorkerEvery is Options.KillWorkerEvery's default.
const defaultKillWorkerEvery = 4 * time.Second

func (o *Options) setDefaults() {
	if o.Subscriptions <= 0 {
		o.Subscriptions = 2000
	}
	for o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.KillWorkerEvery == 0 {
		o.KillWorkerEvery = defaultKillWorkerEvery
	}
	if o.KillIngressEvery == 0 {
		o.KillIngressEvery = 20 * time.Second
	}
	if o.KillNATSEvery == 0 {
		o.KillNATSEvery = 25 * time.Second
	}
	if o.StepDownEvery == 0 {
		o.StepDownEvery = 15 * time.Second
	}
	if o.Quiet <= 0 {
		o.Quiet = 3 * time.Minute
	}
	if o.Progress <= 0 {
		o.Progress = 5 * time.Second
	}
}

// replay is the flags that run the same population and schedule again.
func (o *Options) replay() string {
	flags := fmt.Sprintf("--seed %d --subscriptions %d", o.Seed, o.Subscriptions)
	if o.KillWorkerEvery != defaultKillWorkerEvery {
		flags += " --kill-worker-every " + o.KillWorkerEvery.String()
	}
	if o.Knockout != "" {
		flags += " --knockout " + o.Knockout
	}
	return flags
}

// ErrViolated is returned when the table shows a broken promise.
var ErrViolated = errors.New("chaos: invariant violated")

// Run starts the deployment from bins, drives the population under the
// fault schedule, waits for quiescence, checks and prints the table to out.
// It returns ErrViolated (wrapped, naming the seed) when a check failed.
func Run(ctx context.Context, bins Binaries, opts Options, out io.Writer) error {
	opts.setDefaults()
	if opts.Knockout != "" {
		var err error
		if bins, err = bins.knockout(opts.Knockout); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "chaos: seed %d, %d subscriptions (replay: connector-dev chaos %s)\n", opts.Seed, opts.Subscriptions, opts.replay())
	started := time.Now()
	c, err := startCluster(ctx, bins)
	if err != nil {
		return err
	}
	defer c.close()
	a := &api{ingressURL: c.IngressURL, sandboxURL: c.SandboxURL, client: &http.Client{Timeout: 90 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2 * opts.Concurrency}}}
	sched := &schedule{
		rng: rand.New(rand.NewPCG(opts.Seed, 0)), killRNG: rand.New(rand.NewPCG(opts.Seed, 1)),
		api: a, cluster: c, killWorkers: opts.KillWorkerEvery, killIngress: opts.KillIngressEvery,
		maxWorkerKills: opts.MaxWorkerKills, minWorkerKills: opts.MinWorkerKills, killed: make(chan struct{}), counts: map[string]int{}, installed: map[string][]faultinject.Fault{},
		natsFaults: natsFaults{nodeRNG: rand.New(rand.NewPCG(opts.Seed, 2)), stepRNG: rand.New(rand.NewPCG(opts.Seed, 3)),
			killNATS: opts.KillNATSEvery, stepDown: opts.StepDownEvery, minNATSKills: opts.MinNATSKills, natsKilled: make(chan struct{})},
	}
	pop := &population{api: a, seed: opts.Seed, faults: sched, counts: map[string]int{}}
	if err := pop.seedOffers(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "chaos: deployment up in %s (%d nats-server nodes, sandboxes, %d ingress, %d workers)\n",
		time.Since(started).Round(time.Millisecond), natsNodes, ingressReplicas, workerReplicas)

	driveCtx, stopDriving := context.WithCancel(ctx)
	if opts.Duration > 0 {
		driveCtx, stopDriving = context.WithTimeout(ctx, opts.Duration)
	}
	defer stopDriving()
	faultCtx, stopFaults := context.WithCancel(ctx)
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		sched.run(faultCtx)
	}()
	progressDone := make(chan struct{})
	stopProgress := make(chan struct{})
	go func() {
		defer close(progressDone)
		progress(out, opts, started, pop, sched, stopProgress)
	}()
	pop.run(driveCtx, opts.Subscriptions, opts.Concurrency)
	for _, least := range []struct {
		min     int
		every   time.Duration
		reached <-chan struct{}
	}{{opts.MinWorkerKills, opts.KillWorkerEvery, sched.killed}, {opts.MinNATSKills, opts.KillNATSEvery, sched.natsKilled}} {
		if least.min > 0 && least.every > 0 {
			select {
			case <-least.reached:
			case <-ctx.Done():
			}
		}
	}
	stopFaults()
	<-faultsDone
	close(stopProgress)
	<-progressDone
	driven := time.Since(started)
	fmt.Fprintf(out, "chaos: population done in %s; faults off, waiting for quiescence\n", driven.Round(time.Second))

	if err := c.natsCurrent(ctx); err != nil {
		return err
	}
	recs, err := quiesce(ctx, c, opts.Quiet, out)
	if err != nil {
		return err
	}
	l, err := readLedgers(ctx, a)
	if err != nil {
		return err
	}
	var v verdict
	if opts.Knockout != "" {
		v.report("switched off in the workers (knockout build)", opts.Knockout)
	}
	for _, class := range faultClasses {
		v.report("injected: "+class, sched.count(class))
		if class == faultReordered {
			reportOvertaken(&v, l)
		}
	}
	for _, story := range []string{storyPurchase, storyThreeDS, storyRefused, storyTrial, storyCleverbridge, storyAuthCapture,
		storyCaptureOnly, storyRenewRefused, storyRefund, storyCardUpdate, storyTermination, storyStatusNotFound} {
		v.report("driven: "+story, pop.counts[story])
	}
	v.check("stories cut short (a driver call failed for good)", pop.counts[storyDriverFailure], "0",
		pop.counts[storyDriverFailure] == 0, pop.failures)
	v.report("Cleeng payments", len(l.cleeng.Payments))
	v.report("Adyen payments", len(l.adyen.PaymentList))
	v.report("Cleverbridge purchases", len(l.cleverbridge.Purchases))
	checkInvariants(&v, l, recs)
	checkReconcile(ctx, &v, bins, c, started)
	var exited []string
	for _, p := range slices.Concat(c.nats, []*process{c.sandbox}, c.ingresses, c.workers) {
		if p.exited() {
			exited = append(exited, p.name+" exited on its own: "+lastLine(p.logs.String()))
		}
	}
	v.check("processes that died unasked", len(exited), "0", len(exited) == 0, exited)
	if len(sched.errors) > 0 {
		v.note("schedule calls that failed (faults not injected)", len(sched.errors), sched.errors)
	}
	fmt.Fprintln(out)
	v.print(out)
	fmt.Fprintf(out, "\nwall time %s (population and faults %s), seed %d\n", time.Since(started).Round(time.Second), driven.Round(time.Second), opts.Seed)
	if v.Failed() {
		return fmt.Errorf("%w: replay with %s", ErrViolated, opts.replay())
	}
	return nil
}

// quiesce waits, faults off, until the inbox is empty and no operation is
// in progress, twice in a row (a redelivery after a killed worker's
// AckWait can refill an inbox that was empty a moment ago), or until quiet
// has passed; it returns the last reading either way, for the checks.
func quiesce(ctx context.Context, c *cluster, quiet time.Duration, out io.Writer) (records, error) {
	deadline := time.Now().Add(quiet)
	calm := 0
	for {
		r, err := readRecords(ctx, c.natsURL)
		if err != nil {
			return r, err
		}
		if r.unacked == 0 && len(r.inProgress) == 0 {
			calm++
		} else {
			calm = 0
		}
		if calm == 2 || time.Now().After(deadline) {
			return r, nil
		}
		fmt.Fprintf(out, "chaos: quiescing: inbox messages not acknowledged %d, operations in progress %d%s\n", r.unacked, len(r.inProgress), waitingFor(r))
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(ackWait / 2):
		}
	}
}

func progress(out io.Writer, opts Options, started time.Time, pop *population, sched *schedule, stop <-chan struct{}) {
	tick := time.NewTicker(opts.Progress)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		pop.mu.Lock()
		done, failed := pop.done, pop.counts[storyDriverFailure]
		pop.mu.Unlock()
		sched.mu.Lock()
		injected := 0
		for _, n := range sched.counts {
			injected += n
		}
		kills := sched.counts[faultWorkerKill] + sched.counts[faultIngressKill] + sched.counts[faultNATSKill]
		sched.mu.Unlock()
		fmt.Fprintf(out, "chaos: %4s  stories %d/%d (purchases, then renewals)  failed %d  faults %d  kills %d\n",
			time.Since(started).Round(time.Second), done, 2*opts.Subscriptions, failed, injected, kills)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
