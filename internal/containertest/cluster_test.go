package containertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/nats-io/nats.go/jetstream"
)

const testSubject = broker.SubjectCheckout + ".containertest"

// TestCluster_ThreeNodeJetStreamSurvivesNodeLoss: the cluster lets no
// client in without its credentials (over TLS: it requires it); with the inbox stream's
// leader killed, the connector's broker still publishes exactly once (a
// message sent again with its Nats-Msg-Id, as by an ingress whose
// acknowledgement was lost, is a duplicate whether the old leader or the new
// one stored it), writes operation records, and consumes every message once
// with nothing else stored; the node restarted catches up.
func TestCluster_ThreeNodeJetStreamSurvivesNodeLoss(t *testing.T) {
	ctx := setup(t)
	cl := StartCluster(ctx, t)
	url, err := cl.ClientURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	anonymous, err := broker.Open(ctx, broker.Options{URL: url, Auth: broker.Auth{TLSCA: cl.Certs.CA}, Replicas: 3, Name: "containertest-anonymous"})
	if err == nil {
		anonymous.Close()
		t.Fatal("the cluster let a client without credentials in")
	}
	b, err := broker.Open(ctx, broker.Options{URL: url, Auth: cl.Auth(), Replicas: 3, Name: "containertest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	inbox, err := b.JS.Stream(ctx, broker.InboxStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := inbox.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("inbox config replicas %d, cluster %+v: want a leader and 2 replicas", info.Config.Replicas, info.Cluster)
	}
	// A second process declaring the same buckets leaves their reads on
	// the leader: a replica's direct get could miss the last write.
	again, err := broker.Open(ctx, broker.Options{URL: url, Auth: cl.Auth(), Replicas: 3, Name: "containertest-again"})
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	for _, bucket := range []string{broker.OpsBucket, broker.IndexBucket} {
		s, err := b.JS.Stream(ctx, "KV_"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		if cfg := s.CachedInfo().Config; cfg.AllowDirect || cfg.Replicas != 3 {
			t.Errorf("bucket %s: direct gets %v, replicas %d; want reads from the leader of 3", bucket, cfg.AllowDirect, cfg.Replicas)
		}
	}

	want := publish(ctx, t, b.JS, "before", 5)
	putOp(ctx, t, b.Ops, "containertest.before")

	leader := info.Cluster.Leader
	kill := time.Duration(0)
	if err := cl.Node(leader).Stop(ctx, &kill); err != nil {
		t.Fatalf("stopping %s: %v", leader, err)
	}

	want = append(want, publish(ctx, t, b.JS, "during", 5)...)
	// The new leader knows the ids the old one stored: the de-duplication
	// window is replicated with the stream, not the leader's memory.
	publishAgain(ctx, t, b.JS, want)
	putOp(ctx, t, b.Ops, "containertest.during")
	if got := consume(ctx, t, b.JS, len(want)); !slices.Equal(got, want) {
		t.Fatalf("consumed %v, want %v exactly once each", got, want)
	}
	eventually(ctx, t, "a new inbox leader, "+leader+" offline", func(ctx context.Context) error {
		info, err := inbox.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster.Leader == "" || info.Cluster.Leader == leader {
			return fmt.Errorf("leader %q", info.Cluster.Leader)
		}
		t.Logf("inbox leader %s stopped, %s took over", leader, info.Cluster.Leader)
		return nil
	})

	// Start waits for /healthz, which a node answers 200 only once its
	// streams are current.
	if err := cl.Node(leader).Start(ctx); err != nil {
		t.Fatalf("restarting %s: %v", leader, err)
	}
	eventually(ctx, t, "all inbox replicas current", func(ctx context.Context) error {
		info, err := inbox.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("cluster %+v", info.Cluster)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current || r.Offline || r.Lag != 0 {
				return fmt.Errorf("replica %+v", *r)
			}
		}
		if info.State.Msgs != 0 {
			return fmt.Errorf("%d messages left in the work queue", info.State.Msgs)
		}
		return nil
	})
	entry, err := b.Ops.Get(ctx, "containertest.during")
	if err != nil || string(entry.Value()) != "containertest.during" {
		t.Fatalf("operation record written during the loss: %v, %v", entry, err)
	}
}

// publish stores n messages on the inbox, retrying each (same Nats-Msg-Id)
// until JetStream acknowledges it, and returns their ids.
func publish(ctx context.Context, t *testing.T, js jetstream.JetStream, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		eventually(ctx, t, "publish "+id, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := js.Publish(ctx, testSubject, []byte(id), jetstream.WithMsgID(id))
			return err
		})
		ids = append(ids, id)
	}
	return ids
}

// publishAgain publishes each id again with its Nats-Msg-Id, retrying
// until JetStream acknowledges it, and fails t unless every one is
// acknowledged as a duplicate, storing nothing.
func publishAgain(ctx context.Context, t *testing.T, js jetstream.JetStream, ids []string) {
	t.Helper()
	for _, id := range ids {
		eventually(ctx, t, "publish "+id+" again", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			ack, err := js.Publish(ctx, testSubject, []byte(id), jetstream.WithMsgID(id))
			if err != nil {
				return err
			}
			if !ack.Duplicate {
				t.Fatalf("%s published again was stored a second time (sequence %d), not recognised as a duplicate", id, ack.Sequence)
			}
			return nil
		})
	}
}

// putOp writes an operation record whose value is its key.
func putOp(ctx context.Context, t *testing.T, kv jetstream.KeyValue, key string) {
	t.Helper()
	eventually(ctx, t, "put "+key, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := kv.Put(ctx, key, []byte(key))
		return err
	})
}

// consume acknowledges the test subject's messages until n have arrived,
// fails t if any other is stored, and returns their bodies in order.
func consume(ctx context.Context, t *testing.T, js jetstream.JetStream, n int) []string {
	t.Helper()
	var got []string
	eventually(ctx, t, "consume", func(ctx context.Context) error {
		cons, err := js.CreateOrUpdateConsumer(ctx, broker.InboxStream, jetstream.ConsumerConfig{
			Durable: "containertest", FilterSubject: testSubject, AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			return err
		}
		for len(got) < n {
			batch, err := cons.Fetch(n-len(got), jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				return err
			}
			for msg := range batch.Messages() {
				if err := msg.DoubleAck(ctx); err != nil {
					return err
				}
				got = append(got, string(msg.Data()))
			}
			if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			t.Fatalf("after %v, %d more messages stored and %d unacknowledged", got, info.NumPending, info.NumAckPending)
		}
		return nil
	})
	return got
}
