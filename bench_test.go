package ioloop_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

type plainEcho struct{ ioloop.BaseHandler }

func (plainEcho) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	c.Write(b)
}

// BenchmarkEcho measures one 64-byte round trip through an ioloop echo
// server over loopback TCP (client: a plain net.Conn). allocs/op covers the
// whole process; the steady-state server path allocates nothing.
// The io_uring= variants batch the server's reads and writes
// (Options.IOUring).
func BenchmarkEcho(b *testing.B) {
	for _, mode := range []struct {
		name  string
		uring bool
	}{{"epoll", false}, {"io_uring", true}} {
		for _, depth := range []int{1, 16} {
			b.Run(mode.name+"/"+map[int]string{1: "inflight=1", 16: "inflight=16"}[depth], func(b *testing.B) {
				benchEcho(b, depth, mode.uring)
			})
		}
	}
}

func benchEcho(b *testing.B, depth int, uring bool) {
	g, err := ioloop.New(ioloop.Options{Loops: 1, IOUring: uring})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ln, err := g.Listen("tcp", "127.0.0.1:0", plainEcho{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64*depth)
	buf := make([]byte, 64*depth)
	for range 100 { // warm up the pools
		c.Write(msg)
		io.ReadFull(c, buf)
	}
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		c.Write(msg)
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTimers schedules and cancels a timer with 10,000 pending on the
// loop: O(log n), no allocation after warm-up.
func BenchmarkTimers(b *testing.B) {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	l := g.Loops()[0]
	done := make(chan struct{})
	b.ReportAllocs()
	l.Post(func() {
		f := func() {}
		for i := range 10000 {
			l.AfterFunc(time.Hour+time.Duration(i), f)
		}
		for range 1000 {
			l.AfterFunc(time.Minute, f).Stop()
		}
		b.ResetTimer()
		for range b.N {
			l.AfterFunc(time.Minute, f).Stop()
		}
		b.StopTimer()
		close(done)
	})
	<-done
}

// BenchmarkFutureContinuationOnLoop creates a promise on a loop, registers
// one continuation and resolves it; the continuation runs on the loop. The
// issue's target: at most one allocation, and at most 2× the cost of a
// buffered-channel hand-off between goroutines (BenchmarkChannelHandoff).
func BenchmarkFutureContinuationOnLoop(b *testing.B) {
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	l := g.Loops()[0]
	done := make(chan struct{})
	ran := 0
	cont := func(int, error) {
		if ran++; ran == b.N {
			close(done)
		}
	}
	left := b.N
	var step func()
	step = func() {
		for range min(left, 1024) {
			p := async.NewPromise[int](l)
			p.Future().OnComplete(cont)
			p.Resolve(left)
			left--
		}
		if left > 0 {
			l.Post(step)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	l.Post(step)
	<-done
}

// BenchmarkChannelHandoff is the baseline: one value through a buffered
// channel from one goroutine to another.
func BenchmarkChannelHandoff(b *testing.B) {
	ch := make(chan int, 1024)
	done := make(chan struct{})
	go func() {
		for range b.N {
			<-ch
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ch <- i
	}
	<-done
}
