package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/cleeng-connector/connector/internal/broker"
)

// Fault classes of the JetStream cluster, as the table names them.
const (
	faultNATSKill = "NATS node SIGKILL + restart"
	faultStepDown = "stream leader stepped down"
)

const (
	// natsDownMin and natsDownSpread are how long a killed node stays
	// down: long enough for the others to notice (elect new leaders, the
	// clients to reconnect elsewhere), short enough for several kills a run.
	natsDownMin    = 2 * time.Second
	natsDownSpread = 3 * time.Second
	// natsRestartBound guards the wait for a restarted node against a hang:
	// a nats-server answers /healthz within a second or two of starting.
	natsRestartBound = 2 * time.Minute
	// stepDownTimeout bounds a step-down request: a stream whose leader
	// died with its node has none until the others elect one.
	stepDownTimeout = 5 * time.Second
)

// leaderStreams are the connector's streams and its KV buckets' streams,
// whose leaders the schedule steps down.
var leaderStreams = []string{broker.InboxStream, broker.DLQStream, "KV_" + broker.OpsBucket, "KV_" + broker.IndexBucket}

// natsFaults are the schedule's faults of the JetStream cluster. Each kind
// draws from its own generator seeded with the run's seed, so a seed
// replays which node dies, for how long, and which leader steps down.
type natsFaults struct {
	nodeRNG, stepRNG *rand.Rand
	// killNATS and stepDown are the mean pauses between node kills and
	// between step-downs; 0 or less: none.
	killNATS, stepDown time.Duration
	// natsKilled is closed once minNATSKills nodes were killed and restarted.
	minNATSKills int
	natsKilled   chan struct{}
}

// killNodes SIGKILLs a random NATS node every killNATS (±50%), leaves it
// down a few seconds and starts it again on its store, until ctx ends.
// One node is down at a time: three replicas promise to ride out one loss,
// not two (two down stop JetStream until one returns, by design). A node
// down when ctx ends is started at once: the checks read every stream.
func (s *schedule) killNodes(ctx context.Context) {
	if s.killNATS <= 0 {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(after(s.nodeRNG, s.killNATS))):
		}
		node := s.cluster.nats[s.nodeRNG.IntN(len(s.cluster.nats))]
		down := natsDownMin + time.Duration(s.nodeRNG.Int64N(int64(natsDownSpread)))
		s.add(faultNATSKill, 1)
		node.kill()
		select {
		case <-ctx.Done():
		case <-time.After(down):
		}
		startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), natsRestartBound)
		err := node.start(startCtx)
		cancel()
		if err != nil {
			s.problem(fmt.Errorf("restart %s: %w", node.name, err))
		}
		if s.count(faultNATSKill) == s.minNATSKills {
			close(s.natsKilled)
		}
	}
}

// stepDowns asks the leader of a random connector stream to step down
// every stepDown (±50%), until ctx ends: the stream elects another node's
// replica while the connector publishes, consumes and writes records.
func (s *schedule) stepDowns(ctx context.Context) {
	if s.stepDown <= 0 {
		return
	}
	// Any node will do: the request reaches the stream's leader through
	// the cluster, and the client moves to a live node when its own dies.
	nc, err := nats.Connect(s.cluster.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		s.problem(fmt.Errorf("step-downs: %w", err))
		return
	}
	defer nc.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(after(s.stepRNG, s.stepDown))):
		}
		stream := leaderStreams[s.stepRNG.IntN(len(leaderStreams))]
		if err := stepDown(ctx, nc, stream); err != nil {
			if ctx.Err() == nil {
				s.problem(fmt.Errorf("step down the leader of %s: %w", stream, err))
			}
			continue
		}
		s.add(faultStepDown, 1)
	}
}

// stepDown asks the leader of stream to step down
// ($JS.API.STREAM.LEADER.STEPDOWN, which nats.go's jetstream package does
// not wrap).
func stepDown(ctx context.Context, nc *nats.Conn, stream string) error {
	ctx, cancel := context.WithTimeout(ctx, stepDownTimeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, fmt.Sprintf(server.JSApiStreamLeaderStepDownT, stream), nil)
	if err != nil {
		return err
	}
	var resp server.JSApiStreamLeaderStepDownResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	return nil
}
