package broker

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// requestTimeout bounds one KV request made under a caller's longer
// deadline: as long as nats.go gives a JetStream request without one. The
// reply to a request can be lost for good (the node the client was on
// died, or the stream's leader stepped down before answering), and nats.go
// waits for it until the context ends: under a flow handler's timeout of
// minutes, the operation would stall that long while its heartbeats keep
// its claim and its message alive. Bounded, the call fails and the flow
// retries it like any transient error; a write that did land is seen by
// the retry in the record's revision, as after a worker killed mid-write.
const requestTimeout = 5 * time.Second

// boundedKV is a KeyValue whose request-reply calls each wait at most
// timeout. Watches and listings stream their answers and stay as they are.
type boundedKV struct {
	jetstream.KeyValue
	timeout time.Duration
}

func bounded(kv jetstream.KeyValue) jetstream.KeyValue {
	return boundedKV{KeyValue: kv, timeout: requestTimeout}
}

func (kv boundedKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Get(ctx, key)
}

func (kv boundedKV) GetRevision(ctx context.Context, key string, revision uint64) (jetstream.KeyValueEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.GetRevision(ctx, key, revision)
}

func (kv boundedKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Put(ctx, key, value)
}

func (kv boundedKV) PutString(ctx context.Context, key string, value string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.PutString(ctx, key, value)
}

func (kv boundedKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Create(ctx, key, value, opts...)
}

func (kv boundedKV) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Update(ctx, key, value, revision)
}

func (kv boundedKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Delete(ctx, key, opts...)
}

func (kv boundedKV) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	ctx, cancel := context.WithTimeout(ctx, kv.timeout)
	defer cancel()
	return kv.KeyValue.Purge(ctx, key, opts...)
}
