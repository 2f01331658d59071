package ioloop_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/onloop"
)

// onLoopCheck counts the callbacks that ran on their loop and those that did
// not.
type onLoopCheck struct {
	on, off atomic.Int64
}

// check counts a callback that must run on l (on any loop when l is nil:
// a future of a dial that failed may be on any of the group's loops).
func (k *onLoopCheck) check(l *ioloop.Loop) {
	if l == nil && onloop.Current() || l != nil && onloop.Self() == ioloop.LoopGoroutine(l) {
		k.on.Add(1)
	} else {
		k.off.Add(1)
	}
}

// TestThreadRuleUnderFlood floods loops whose mailbox holds one task with
// posts, writes and future chains from 8 goroutines. Every continuation of
// a loop future, every AsyncWrite completion and every posted task that was
// accepted must run on its loop, exactly once; every Close from another
// goroutine must reach the peer as a FIN within 100 ms; Group.Close must
// return; no descriptor or goroutine may leak.
func TestThreadRuleUnderFlood(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2, MailboxSize: 1, Logger: testLogger(t), IOUring: testIOUring})
	if err != nil {
		t.Fatal(err)
	}
	srv := &openNotifier{echoHandler: newEcho(), conns: make(chan *ioloop.Conn, 64)}
	ln, err := g.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()

	// Idle peers whose server side another goroutine closes mid-flood.
	const idle = 16
	peers := make([]net.Conn, idle)
	for i := range peers {
		if peers[i], err = net.Dial("tcp", addr); err != nil {
			t.Fatal(err)
		}
		defer peers[i].Close()
	}
	// Pair each server side with its peer (the loops accept in any order).
	byPeer := map[string]*ioloop.Conn{}
	for range idle {
		sc := <-srv.conns
		byPeer[sc.RemoteAddr().String()] = sc
	}
	servers := make([]*ioloop.Conn, idle)
	for i, p := range peers {
		if servers[i] = byPeer[p.LocalAddr().String()]; servers[i] == nil {
			t.Fatalf("no server side for peer %s", p.LocalAddr())
		}
	}

	var k onLoopCheck
	var posted, refused, completions, expected atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			l := g.Loops()[w%2]
			dialer := &collector{got: make(chan []byte, 1024)}
			c, err := g.DialFuture("tcp", addr, dialer, time.Second).Await(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			cl := c.Loop()
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch err := l.Post(func() { k.check(l) }); {
				case err == nil:
					posted.Add(1)
				case errors.Is(err, ioloop.ErrMailboxFull):
					refused.Add(1)
				default:
					t.Errorf("Post: %v", err)
				}
				expected.Add(6)
				ioloop.Submit(l, func() (int, error) { return i, nil }).OnComplete(func(int, error) {
					k.check(l)
					completions.Add(1)
				})
				c.AsyncWrite([]byte("x"), func(error) { k.check(cl); completions.Add(1) })
				c.WriteFuture([]byte("y")).OnComplete(func(struct{}, error) { k.check(cl); completions.Add(1) })
				p := async.NewPromise[int](l)
				async.Map(p.Future(), func(v int) int { k.check(l); return v + 1 }).OnComplete(func(int, error) {
					k.check(l)
					completions.Add(1)
				})
				p.Resolve(i)
				async.Go(l.Context(), nil, func(context.Context) (int, error) { return i, nil }).
					OnComplete(func(int, error) { k.check(l); completions.Add(1) })
				g.DialFuture("tcp", "127.0.0.1:1", dialer, time.Second).OnComplete(func(*ioloop.Conn, error) {
					k.check(nil)
					completions.Add(1)
				})
			}
			c.Close()
		})
	}

	// Close the idle connections from another goroutine while the flood runs.
	time.Sleep(20 * time.Millisecond)
	for i, sc := range servers {
		start := time.Now()
		sc.Close()
		peers[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := peers[i].Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection %d: read %d, %v after Close, want EOF", i, n, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("idle connection %d: Close from another goroutine took %v to reach the peer", i, d)
		}
	}
	wg.Wait()
	close(stop)
	deadline := time.Now().Add(10 * time.Second)
	for completions.Load() < expected.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if completions.Load() != expected.Load() {
		t.Fatalf("%d completions for %d continuations", completions.Load(), expected.Load())
	}
	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Group.Close did not return under a flood")
	}
	if off := k.off.Load(); off != 0 {
		t.Fatalf("%d of %d callbacks ran off their loop", off, off+k.on.Load())
	}
	t.Logf("posts accepted %d, refused %d; callbacks on their loop %d", posted.Load(), refused.Load(), k.on.Load())
}

// TestBlockingDoorsFromCallback calls every door that would block from a
// loop callback: each must fail at once with ErrOnLoop instead of waiting
// on its own loop. A failed DialFuture and a task posted from a task with
// a mailbox of one must still continue on a loop.
func TestBlockingDoorsFromCallback(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2, MailboxSize: 1})
	l := g.Loops()[0]
	type result struct {
		door string
		err  error
	}
	results := make(chan result, 16)
	pending := async.NewPromise[int](l)
	err := l.Post(func() {
		_, err := g.Listen("tcp", "127.0.0.1:0", ioloop.BaseHandler{})
		results <- result{"Listen", err}
		_, err = g.ListenPacket("udp", "127.0.0.1:0", ioloop.PacketHandlerFunc(func(*ioloop.PacketConn, []byte, netip.AddrPort) {}))
		results <- result{"ListenPacket", err}
		results <- result{"Shutdown", g.Shutdown(context.Background())}
		results <- result{"Close", g.Close()}
		_, err = pending.Future().Await(context.Background())
		results <- result{"Await", err}
		// A task may post its successor even with a mailbox of one.
		results <- result{"Post from a task", l.Post(func() {})}
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		select {
		case r := <-results:
			want := ioloop.ErrOnLoop
			if r.door == "Post from a task" {
				want = nil
			}
			if !errors.Is(r.err, want) {
				t.Errorf("%s from a callback: %v, want %v", r.door, r.err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a door blocked its loop")
		}
	}
	pending.Resolve(1)
	if v, err := pending.Future().Await(context.Background()); v != 1 || err != nil {
		t.Fatalf("Await from a goroutine: %d, %v", v, err)
	}

	// A dial that fails before any connection exists continues on a loop.
	var k onLoopCheck
	done := make(chan error, 1)
	g.DialFuture("udp", "127.0.0.1:1", ioloop.BaseHandler{}, time.Second).OnComplete(func(_ *ioloop.Conn, err error) {
		k.check(nil)
		done <- err
	})
	if err := <-done; err == nil {
		t.Fatal("DialFuture of an unsupported network succeeded")
	}
	if k.off.Load() != 0 {
		t.Fatal("the failed DialFuture's continuation ran off the loops")
	}
	// The group still works: Close from a goroutine returns.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}
