package workers

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// DefaultSchedule is the redelivery delay after the 1st, 2nd, ... failed
// delivery; the last entry repeats. With DefaultMaxDeliver a transient
// failure is retried for about thirteen hours before it is dead-lettered.
var DefaultSchedule = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, time.Hour, 4 * time.Hour,
}

// Defaults of Config.
const (
	DefaultConcurrency      = 16
	DefaultMaxDeliver       = 10
	DefaultMaxDeliverNotYet = 50
	DefaultAckWait          = 30 * time.Second
	DefaultHandlerTimeout   = 5 * time.Minute
	DefaultDrainTimeout     = 25 * time.Second
	DefaultMaxAckPending    = 10_000
)

// Config of a Runtime. The zero value of every field means its default.
type Config struct {
	// Concurrency is the number of handlers in flight per flow in this
	// Runtime, unless the Flow sets its own. Default 16.
	Concurrency int
	// Schedule is the delay before the next delivery after a failed one:
	// Schedule[n-1] after delivery n, the last entry for every later one.
	// Default DefaultSchedule.
	Schedule []time.Duration
	// MaxDeliver is the number of deliveries a message failing transiently
	// (or with an unknown outcome) gets; the last failure dead-letters it.
	// Default 10.
	MaxDeliver int
	// MaxDeliverNotYet is the number of deliveries tolerated while the
	// handler answers "not yet" (JetStream's delivery count does not know
	// why a delivery failed, so "not yet" gets this larger budget instead of
	// not being counted). At least MaxDeliver, and at least twice the
	// deliveries a message can spend waiting behind a live claim
	// (claimedDeliveries). Default 50, or that minimum when it is more.
	MaxDeliverNotYet int
	// AckWait: a message not acked nor heartbeated within it is redelivered
	// (the process died). Heartbeats go out every AckWait/3. It is also the
	// lease of the operation claims a handler takes (Runtime.ClaimLease),
	// renewed with every heartbeat. Default 30s.
	AckWait time.Duration
	// HandlerTimeout bounds one handler call; its context is cancelled
	// after it and the error counts as a failed attempt. Default 5m.
	HandlerTimeout time.Duration
	// DrainTimeout: after the Run context is cancelled, running handlers
	// have this long to finish before their context is cancelled. Keep it
	// below the orchestrator's kill grace period. Default 25s.
	DrainTimeout time.Duration
	// MaxAckPending bounds the messages of one flow, over all replicas, that
	// are delivered but not yet acked. Messages waiting for a delayed
	// redelivery count too, so it must hold the backlog of retries as well as
	// Concurrency × replicas; when it is full the flow receives nothing new.
	// Default 10,000.
	MaxAckPending int
	// Logger for outcomes worth a human's attention. Default: no logging.
	Logger zerolog.Logger
	// Metrics, when set, receives the runtime's collectors. Runtimes sharing
	// a Registerer share the collectors.
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = DefaultHandlerTimeout
	}
	if c.MaxDeliverNotYet == 0 {
		c.MaxDeliverNotYet = max(DefaultMaxDeliverNotYet, c.MaxDeliver, 2*c.claimedDeliveries())
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
}

// minAckWait leaves each third of AckWait (the heartbeat) a millisecond.
const minAckWait = 3 * time.Millisecond

// heartbeatEvery is how often a running handler's message is reported in
// progress and its operation claims renewed: three chances per AckWait.
func (c *Config) heartbeatEvery() time.Duration { return c.AckWait / 3 }

// claimedDeliveries bounds the deliveries a message spends waiting while
// another handler holds the operation it needs (ops.ErrClaimed). The holder
// renews its claim's lease (ClaimLease: AckWait) at every heartbeat, so each
// "claimed" answer waits for the time left on the lease, at least AckWait
// minus one heartbeat; the holder runs at most HandlerTimeout. With the
// defaults: ceil(5 min / 20 s) + 1 = 16 deliveries, a third of the budget.
func (c *Config) claimedDeliveries() int {
	leastWait := c.AckWait - c.heartbeatEvery()
	if leastWait <= 0 || c.HandlerTimeout <= 0 {
		return 0 // invalid settings, which validate reports
	}
	return int((c.HandlerTimeout+leastWait-1)/leastWait) + 1
}

func (c *Config) validate() error {
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency))
	}
	for i, d := range c.Schedule {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("schedule[%d] %v: must be positive", i, d))
		}
	}
	if c.MaxDeliver < 1 {
		errs = append(errs, fmt.Errorf("max deliver %d: must be at least 1", c.MaxDeliver))
	}
	if c.MaxDeliverNotYet < c.MaxDeliver {
		errs = append(errs, fmt.Errorf("max deliver not-yet %d: must be at least max deliver %d", c.MaxDeliverNotYet, c.MaxDeliver))
	}
	if c.AckWait < minAckWait {
		errs = append(errs, fmt.Errorf("ack wait %v: must be at least %v (heartbeats go out every third)", c.AckWait, minAckWait))
	}
	if c.HandlerTimeout <= 0 || c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("handler timeout and drain timeout must be positive"))
	}
	if c.MaxDeliverNotYet < 2*c.claimedDeliveries() {
		errs = append(errs, fmt.Errorf("max deliver not-yet %d: a message waiting behind a live claim may take %d deliveries (handler timeout %v, ack wait %v); the budget must be at least twice that",
			c.MaxDeliverNotYet, c.claimedDeliveries(), c.HandlerTimeout, c.AckWait))
	}
	if c.MaxAckPending < c.Concurrency {
		errs = append(errs, fmt.Errorf("max ack pending %d: must be at least concurrency %d", c.MaxAckPending, c.Concurrency))
	}
	return errors.Join(errs...)
}
