package ioloop_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

// loopTID returns the OS thread of loop l, which must be locked to its
// thread (Options.LockOSThread), so a callback running there sees this
// thread id.
func loopTID(t *testing.T, l *ioloop.Loop) int {
	ch := make(chan int)
	if err := l.Post(func() { ch <- syscall.Gettid() }); err != nil {
		t.Fatal(err)
	}
	return <-ch
}

func TestSubmitAndOffloadContinueOnLoop(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2, LockOSThread: true}) // thread ids name the loop
	l := g.Loops()[1]
	tid := loopTID(t, l)

	f := ioloop.Submit(l, func() (int, error) { return syscall.Gettid(), nil })
	got, err := f.Await(context.Background())
	if err != nil || got != tid {
		t.Fatalf("Submit ran on thread %d (%v), loop thread %d", got, err, tid)
	}

	type where struct{ work, cont int }
	done := make(chan where, 1)
	l.Post(func() {
		off := ioloop.Offload(l, l.Context(), func(ctx context.Context) (int, error) {
			return syscall.Gettid(), nil // blocking work runs on the pool
		})
		off.OnComplete(func(work int, err error) {
			done <- where{work, syscall.Gettid()}
		})
	})
	w := <-done
	if w.work == tid || w.cont != tid {
		t.Fatalf("offloaded work on thread %d, continuation on %d; loop thread %d", w.work, w.cont, tid)
	}

	boom := ioloop.Submit(l, func() (int, error) { panic("boom") })
	var pe *async.PanicError
	if _, err := boom.Await(context.Background()); !errors.As(err, &pe) {
		t.Fatalf("Submit of a panicking fn: %v, want *PanicError", err)
	}
	if _, err := ioloop.Submit(l, func() (int, error) { return 0, io.EOF }).Await(context.Background()); err != io.EOF {
		t.Fatalf("error not carried: %v", err)
	}
}

func TestDialFutureAndWriteFuture(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	ln := listen(t, g, "tcp", "127.0.0.1:0", newEcho())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := &collector{got: make(chan []byte, 10)}
	c, err := g.DialFuture("tcp", ln.Addr().String(), h, time.Second).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msg := pattern(1<<20, 5)
	if _, err := c.WriteFuture(msg).Await(ctx); err != nil {
		t.Fatalf("WriteFuture: %v", err)
	}
	var echoed []byte
	for len(echoed) < len(msg) {
		echoed = append(echoed, <-h.got...)
	}
	mustEqual(t, "echo", echoed, msg)
	c.Close()

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := g.DialFuture("tcp", addr, &collector{}, time.Second).Await(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("DialFuture to a closed port: %v", err)
	}
	if _, err := g.DialFuture("bogus", addr, &collector{}, time.Second).Await(ctx); err == nil {
		t.Fatal("DialFuture of a bad network did not fail")
	}
	// A write on a closed connection fails its future.
	if _, err := c.WriteFuture([]byte("late")).Await(ctx); err == nil {
		t.Fatal("WriteFuture after Close did not fail")
	}
}

// TestLoopContextExecutor: futures of the async package created with the
// loop's context continue on the loop.
func TestLoopContextExecutor(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, LockOSThread: true}) // thread ids name the loop
	l := g.Loops()[0]
	tid := loopTID(t, l)
	sem := async.NewSemaphore(1)
	sem.TryAcquire(1)
	ran := make(chan int, 1)
	sem.Acquire(l.Context(), 1).OnComplete(func(struct{}, error) { ran <- syscall.Gettid() })
	sem.Release(1)
	if got := <-ran; got != tid {
		t.Fatalf("continuation on thread %d, loop thread %d", got, tid)
	}
}

// A dialed IPv6 connection keeps its peer address beside the dial's promise
// (both live in the connection's rarely used fields).
func TestDialFutureIPv6KeepsPeerAddress(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	ln, err := g.Listen("tcp", "[::1]:0", newEcho())
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := &collector{got: make(chan []byte, 10)}
	c, err := g.DialFuture("tcp", ln.Addr().String(), h, time.Second).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := c.RemoteAddrPort().String(), ln.Addr().String(); got != want {
		t.Fatalf("RemoteAddrPort %s, want %s", got, want)
	}
	if got := c.RemoteAddr().String(); got != ln.Addr().String() {
		t.Fatalf("RemoteAddr %s, want %s", got, ln.Addr())
	}
	if _, err := c.WriteFuture([]byte("v6")).Await(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-h.got; string(got) != "v6" {
		t.Fatalf("echo %q", got)
	}
}
