package http1

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/poller"
)

// DoContext's rendezvous: goroutines that post to loops and wait on a
// Signal each get every result, in order, none lost or doubled: 8
// goroutines x 2,000 rounds over two loops, notified by Notify and
// NotifyNow in turn.
func TestSignalFromLoops(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const workers, rounds = 8, 2000
	var bad atomic.Int64
	done := make(chan struct{}, workers)
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			sig := poller.NewSignal()
			defer sig.Close()
			l := g.Loops()[w%2]
			got := 0
			for i := 1; i <= rounds; i++ {
				if err := l.Post(func() {
					got = i
					if i%2 == 0 {
						sig.NotifyNow()
					} else {
						sig.Notify()
					}
				}); err != nil {
					bad.Add(1)
					return
				}
				sig.Wait()
				if got != i {
					bad.Add(1)
				}
			}
		}()
	}
	timeout := time.After(60 * time.Second)
	for range workers {
		select {
		case <-done:
		case <-timeout:
			t.Fatal("a goroutine never got its result: a Notify was lost")
		}
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d results were missing or out of order", n)
	}
}
