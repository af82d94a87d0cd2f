package workers

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
)

// Answer answers the requests on subject (NATS request-reply, in queue
// group queue: each request reaches one worker) with limit goroutines until
// ctx ends. A query changes nothing, so nothing of it is stored or retried
// here: one that finds no worker, finds them all busy past NATS's buffer,
// or outlasts its asker's wait, is asked again.
func Answer(ctx context.Context, nc *nats.Conn, subject, queue string, limit int, answer func(ctx context.Context, request []byte) []byte) error {
	limit = max(limit, 1)
	requests := make(chan *nats.Msg, limit)
	sub, err := nc.ChanQueueSubscribe(subject, queue, requests)
	if err != nil {
		return err
	}
	var answering sync.WaitGroup
	for range limit {
		answering.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-requests:
					_ = m.Respond(answer(ctx, m.Data)) // an asker that stopped waiting is gone: nothing to do
				}
			}
		})
	}
	<-ctx.Done()
	err = sub.Unsubscribe()
	answering.Wait()
	return err
}
