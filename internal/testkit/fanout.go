package testkit

import (
	"sync"
	"sync/atomic"
	"testing"
)

// FanOut runs do(0) ... do(n-1) from goroutines at once, each taking the
// next index until none is left, and fails the test with the first error
// (after which no further index is started).
func FanOut(tb testing.TB, goroutines, n int, do func(i int) error) {
	tb.Helper()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && failed.Load() == nil; i = int(next.Add(1) - 1) {
				if err := do(i); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatal(*err)
	}
}
