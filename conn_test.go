package ioloop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func listen(t *testing.T, g *ioloop.Group, network, addr string, h ioloop.Handler) *ioloop.Listener {
	t.Helper()
	ln, err := g.Listen(network, addr, h)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// roundTrip writes msg on a client connection, reads back len(msg) bytes
// concurrently, and checks them.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(msg))
		_, err := io.ReadFull(c, b)
		if err != nil {
			b = nil
		}
		got <- b
	}()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, fmt.Sprintf("echo of %d bytes", len(msg)), <-got, msg)
}

func TestEchoRandomSizes(t *testing.T) {
	checkLeaks(t)
	for _, network := range []string{"tcp4", "tcp6", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			switch network {
			case "tcp6":
				addr = "[::1]:0"
				if c, err := net.Listen("tcp6", addr); err != nil {
					t.Skip("no IPv6 loopback")
				} else {
					c.Close()
				}
			case "unix":
				addr = filepath.Join(t.TempDir(), "echo.sock")
			}
			g := newGroup(t, ioloop.Options{Loops: 2})
			h := newEcho()
			ln := listen(t, g, network, addr, h)
			c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range []int{1, 0, 7, 4096, 65535, 65536, 65537, 1 << 20, 3<<20 + 17, 16 << 20} {
				if n == 0 {
					continue // a write of 0 bytes sends nothing
				}
				roundTrip(t, c, pattern(n, byte(i)))
			}
			c.Close()
			if errs := h.waitCloses(t, 1); errs[0] != nil {
				t.Fatalf("OnClose after the client closed: %v, want nil", errs[0])
			}
		})
	}
}

// TestManyConnections runs 5,000 concurrent connections, dialed by the same
// library, each echoing 64 messages with 4 in flight, and checks every byte
// and that each connection opened and closed exactly once on both sides.
func TestManyConnections(t *testing.T) {
	checkLeaks(t)
	const conns, msgs, depth, size = 5000, 64, 4, 32
	if testing.Short() {
		t.Skip("short")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 2*conns+100 {
		t.Skipf("descriptor limit %d is below the %d this test needs", lim.Cur, 2*conns+100)
	}
	srv := newGroup(t, ioloop.Options{Loops: 2})
	sh := newEcho()
	ln := listen(t, srv, "tcp", "127.0.0.1:0", sh)
	cli := newGroup(t, ioloop.Options{Loops: 2})
	var wg sync.WaitGroup
	var bad atomic.Int64
	var opened atomic.Int64
	for i := range conns {
		wg.Add(1)
		h := &checker{wg: &wg, bad: &bad, opened: &opened, msg: pattern(size, byte(i)), total: msgs, depth: depth}
		if _, err := cli.Dial("tcp", ln.Addr().String(), h, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d connections failed", n)
	}
	if n := opened.Load(); n != conns {
		t.Fatalf("%d client connections opened, want %d", n, conns)
	}
	errs := sh.waitCloses(t, conns)
	for _, err := range errs {
		if err != nil {
			t.Fatalf("server OnClose: %v", err)
		}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.opens != conns || len(sh.closes) != conns {
		t.Fatalf("server saw %d opens, %d distinct closes; want %d", sh.opens, len(sh.closes), conns)
	}
	for _, n := range sh.closes {
		if n != 1 {
			t.Fatalf("OnClose ran %d times for one connection", n)
		}
	}
}

// checker is a client handler that sends msg total times with depth in
// flight and checks the echo byte for byte.
type checker struct {
	ioloop.BaseHandler
	wg          *sync.WaitGroup
	bad, opened *atomic.Int64
	msg         []byte
	total       int
	depth       int
	sent, recvd int // bytes
	finished    bool
}

func (h *checker) OnOpen(c *ioloop.Conn) {
	h.opened.Add(1)
	for range h.depth {
		h.sent += len(h.msg)
		c.Write(h.msg)
	}
}

func (h *checker) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	for _, x := range b {
		if x != h.msg[h.recvd%len(h.msg)] {
			h.bad.Add(1)
			c.Abort()
			return
		}
		h.recvd++
		if h.recvd%len(h.msg) == 0 && h.sent < h.total*len(h.msg) {
			h.sent += len(h.msg)
			c.Write(h.msg)
		}
	}
	if h.recvd == h.total*len(h.msg) {
		h.finished = true
		c.Close()
	}
}

func (h *checker) OnClose(c *ioloop.Conn, err error) {
	if err != nil || !h.finished {
		h.bad.Add(1)
	}
	h.wg.Done()
}

func TestPostOrderPerGoroutine(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	const posters, each = 8, 5000
	last := make([]int, posters) // touched on the loop only
	var bad, ran atomic.Int64
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				if err := l.Post(func() {
					if last[p] != i-1 {
						bad.Add(1)
					}
					last[p] = i
					ran.Add(1)
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
	if bad.Load() != 0 || ran.Load() != posters*each {
		t.Fatalf("%d out of order, %d ran of %d", bad.Load(), ran.Load(), posters*each)
	}
}

func TestTimersOrderAndCancel(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	type fired struct {
		id  int
		at  time.Duration
		due time.Duration
	}
	var got []fired
	done := make(chan struct{})
	l.Post(func() {
		start := l.Now()
		var timers []ioloop.Timer
		for i := range 200 {
			d := time.Duration((i*37)%50) * time.Millisecond
			id := i
			timers = append(timers, l.AfterFunc(d, func() {
				got = append(got, fired{id, l.Now().Sub(start), d})
			}))
		}
		for i := 0; i < 200; i += 3 {
			if !timers[i].Stop() {
				t.Errorf("Stop of pending timer %d returned false", i)
			}
		}
		l.AfterFunc(80*time.Millisecond, func() { close(done) })
	})
	<-done
	ran := map[int]bool{}
	for i, f := range got {
		if f.id%3 == 0 {
			t.Errorf("cancelled timer %d fired", f.id)
		}
		if f.at < f.due {
			t.Errorf("timer %d fired at %v, before its %v", f.id, f.at, f.due)
		}
		if i > 0 && (got[i-1].due > f.due || got[i-1].due == f.due && got[i-1].id > f.id) {
			t.Errorf("timer %d (due %v) fired after timer %d (due %v)", f.id, f.due, got[i-1].id, got[i-1].due)
		}
		ran[f.id] = true
	}
	if len(got) != 200-67 || len(ran) != len(got) {
		t.Fatalf("%d timers fired (%d distinct), want %d", len(got), len(ran), 200-67)
	}
}

func TestEveryFunc(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	done := make(chan int)
	l.Post(func() {
		n := 0
		var tm ioloop.Timer
		tm = l.EveryFunc(2*time.Millisecond, func() {
			n++
			if n == 5 {
				tm.Stop()
				l.AfterFunc(20*time.Millisecond, func() { done <- n })
			}
		})
	})
	if n := <-done; n != 5 {
		t.Fatalf("stopped repeating timer ran %d times, want 5", n)
	}
}

// halfCloser records input and EOF and answers EOF by writing a trailer
// and half-closing.
type halfCloser struct {
	ioloop.BaseHandler
	got    []byte
	eof    chan []byte
	closed chan error
}

func (h *halfCloser) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	h.got = append(h.got, b...)
}

func (h *halfCloser) OnEOF(c *ioloop.Conn) {
	h.eof <- append([]byte(nil), h.got...)
	c.Write([]byte("after-eof"))
	c.CloseWrite()
}

func (h *halfCloser) OnClose(c *ioloop.Conn, err error) { h.closed <- err }

func TestHalfCloseFromClient(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := &halfCloser{eof: make(chan []byte, 1), closed: make(chan error, 1)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	mustEqual(t, "input before EOF", <-h.eof, []byte("hello"))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "written after EOF", b, []byte("after-eof"))
	if err := <-h.closed; err != nil {
		t.Fatalf("OnClose: %v", err)
	}
}

// writeThenHalfClose writes a greeting, half-closes, and keeps reading.
type writeThenHalfClose struct {
	halfCloser
}

func (h *writeThenHalfClose) OnOpen(c *ioloop.Conn) {
	c.Write([]byte("greeting"))
	c.CloseWrite()
}

func (h *writeThenHalfClose) OnEOF(c *ioloop.Conn) {
	h.eof <- append([]byte(nil), h.got...)
}

func TestHalfCloseFromServer(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := &writeThenHalfClose{halfCloser{eof: make(chan []byte, 1), closed: make(chan error, 1)}}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := io.ReadAll(c) // ends at the server's FIN
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "greeting", b, []byte("greeting"))
	big := pattern(1<<20, 9) // the server still reads after its FIN
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	mustEqual(t, "input after the server's FIN", <-h.eof, big)
	if err := <-h.closed; err != nil {
		t.Fatalf("OnClose: %v", err)
	}
}

// TestCloseRaces closes connections from other goroutines while data arrives
// and AsyncWrite runs: OnClose must run exactly once, nothing may panic, and
// every AsyncWrite completion must run exactly once.
func TestCloseRaces(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2})
	conns := make(chan *ioloop.Conn, 64)
	h := &openNotifier{echoHandler: newEcho(), conns: conns}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	const n = 50
	var completions, writes atomic.Int64
	var clients sync.WaitGroup
	for i := range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc := <-conns
		clients.Add(1)
		go func() { // the peer floods and drains
			defer clients.Done()
			defer c.Close()
			go io.Copy(io.Discard, c)
			msg := pattern(1000, byte(i))
			for range 200 {
				if _, err := c.Write(msg); err != nil {
					return
				}
			}
		}()
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					writes.Add(1)
					sc.AsyncWrite(pattern(100, byte(w)), func(int, error) { completions.Add(1) })
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			if i%2 == 0 {
				sc.Close()
			} else {
				sc.Abort()
			}
			sc.Close()
			sc.Abort()
		}()
		wg.Wait()
	}
	h.waitCloses(t, n)
	clients.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for completions.Load() != writes.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if completions.Load() != writes.Load() {
		t.Fatalf("%d AsyncWrite completions for %d writes", completions.Load(), writes.Load())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.closes {
		if k != 1 {
			t.Fatalf("OnClose ran %d times", k)
		}
	}
}

type openNotifier struct {
	*echoHandler
	conns chan *ioloop.Conn
}

func (h *openNotifier) OnOpen(c *ioloop.Conn) { h.echoHandler.OnOpen(c); h.conns <- c }

// flooder answers each input byte with a 64 KiB chunk, but only while its
// queued output is at most the high water mark: the rest of the input stays
// buffered until OnBackpressure(false) offers it again.
type flooder struct {
	ioloop.BaseHandler
	high    int
	chunk   []byte
	events  chan bool
	maxOut  atomic.Int64
	written atomic.Int64
}

func (h *flooder) OnData(c *ioloop.Conn) {
	for c.Buffered() > 0 && c.OutputLen() <= h.high {
		c.Discard(1)
		c.Write(h.chunk)
		h.written.Add(int64(len(h.chunk)))
		if n := int64(c.OutputLen()); n > h.maxOut.Load() {
			h.maxOut.Store(n)
		}
	}
}

func (h *flooder) OnBackpressure(c *ioloop.Conn, paused bool) { h.events <- paused }

// TestBackpressure: a client that stops reading must pause the server (its
// output stays bounded and it stops reading), and once the client drains,
// reading resumes and every byte arrives in order.
func TestBackpressure(t *testing.T) {
	checkLeaks(t)
	const high, low, requests = 256 << 10, 64 << 10, 200
	g := newGroup(t, ioloop.Options{Loops: 1, HighWater: high, LowWater: low})
	h := &flooder{high: high, chunk: pattern(64<<10, 3), events: make(chan bool, 1000)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, requests)) // 200 requests, 12.5 MiB of answers; nobody reads yet
	select {
	case p := <-h.events:
		if !p {
			t.Fatal("first backpressure event was a resume")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no backpressure while the peer does not read")
	}
	time.Sleep(200 * time.Millisecond)
	w1 := h.written.Load()
	if max := h.maxOut.Load(); max > high+64<<10 {
		t.Fatalf("queued output reached %d bytes, above high water %d + one write", max, high)
	}
	time.Sleep(200 * time.Millisecond)
	if w2 := h.written.Load(); w2 != w1 || w1 >= requests*64<<10 {
		t.Fatalf("server kept answering while paused: %d -> %d bytes", w1, w2)
	}
	// Drain: reading resumes, and every byte arrives in order.
	want := int64(requests * len(h.chunk))
	buf := make([]byte, 64<<10)
	var n int64
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for n < want {
		k, err := c.Read(buf)
		for i := range k {
			if buf[i] != h.chunk[(n+int64(i))%int64(len(h.chunk))] {
				t.Fatalf("byte %d differs", n+int64(i))
			}
		}
		n += int64(k)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", n, want, err)
		}
	}
	var resumes int
	for len(h.events) > 0 {
		if !<-h.events {
			resumes++
		}
	}
	if resumes == 0 {
		t.Fatal("no OnBackpressure(false) after the peer drained")
	}
}

// TestOneWritevPerCallback checks that many small writes in one callback
// leave the loop as one writev system call.
func TestOneWritevPerCallback(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	var calls, bufs atomic.Int64
	ioloop.SetWritevHook(g, func(fd, nbufs, n int) { calls.Add(1); bufs.Add(int64(nbufs)) })
	h := &manyWrites{n: 500}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	want := []byte{}
	for i := range 500 {
		want = append(want, fmt.Sprintf("line %d\n", i)...)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "500 writes", got, want)
	// The hook runs after writev returns, maybe after the client read the
	// bytes: wait for the loop to finish that iteration.
	barrier := make(chan struct{})
	g.Loops()[0].Post(func() { close(barrier) })
	<-barrier
	if calls.Load() != 1 {
		t.Fatalf("%d writev calls for 500 writes in one callback, want 1", calls.Load())
	}
}

type manyWrites struct {
	ioloop.BaseHandler
	n int
}

func (h *manyWrites) OnData(c *ioloop.Conn) {
	c.Discard(-1)
	for i := range h.n {
		fmt.Fprintf(c, "line %d\n", i)
	}
}

// panicker panics on input "boom" and echoes anything else.
type panicker struct {
	*echoHandler
}

func (h *panicker) OnData(c *ioloop.Conn) {
	if b, _ := c.Peek(4); string(b) == "boom" {
		panic("boom")
	}
	h.echoHandler.OnData(c)
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	checkLeaks(t)
	logs := &countingHandler{}
	g := newGroup(t, ioloop.Options{Loops: 1, Logger: slog.New(logs)})
	h := &panicker{newEcho()}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	good, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	bad, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	roundTrip(t, good, []byte("before"))
	bad.Write([]byte("boom"))
	errs := h.waitCloses(t, 1)
	var pe *ioloop.PanicError
	if !errors.As(errs[0], &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("OnClose error %v, want a *PanicError with the value and stack", errs[0])
	}
	if n, _ := bad.Read(make([]byte, 1)); n != 0 {
		t.Fatal("the panicking connection answered")
	}
	roundTrip(t, good, []byte("after")) // the loop goes on
	if logs.count("ioloop: panic") != 1 {
		t.Fatalf("panic logged %d times, want 1", logs.count("ioloop: panic"))
	}
}

func TestIdleTimeout(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, IdleTimeout: 100 * time.Millisecond})
	h := newEcho()
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for range 5 { // activity keeps it open
		time.Sleep(40 * time.Millisecond)
		roundTrip(t, c, []byte("ping"))
	}
	errs := h.waitCloses(t, 1)
	if !errors.Is(errs[0], ioloop.ErrIdleTimeout) {
		t.Fatalf("OnClose: %v, want ErrIdleTimeout", errs[0])
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("closed after %v despite activity", el)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read after idle close: %v, want EOF", err)
	}
}

// hoarder never consumes its input.
type hoarder struct{ *echoHandler }

func (h *hoarder) OnData(c *ioloop.Conn) {}

func TestInputLimit(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, MaxInput: 100 << 10})
	h := &hoarder{newEcho()}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Write(make([]byte, 1<<20))
	if err := h.waitCloses(t, 1)[0]; !errors.Is(err, ioloop.ErrInputLimit) {
		t.Fatalf("OnClose: %v, want ErrInputLimit", err)
	}
}

func TestDialRefused(t *testing.T) {
	checkLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := newEcho()
	if _, err := g.Dial("tcp", addr, h, time.Second); err != nil {
		t.Fatal(err)
	}
	err = h.waitCloses(t, 1)[0]
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("OnClose: %v, want connection refused", err)
	}
	if h.opens != 0 {
		t.Fatal("OnOpen ran for a refused dial")
	}
	if _, err := g.Dial("tcp", "not an address", h, time.Second); err == nil {
		t.Fatal("Dial of a bad address did not fail")
	}
}

func TestMaxConnsRefuses(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, MaxConns: 2})
	h := newEcho()
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	var cs []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, []byte("ok"))
		cs = append(cs, c)
	}
	c3, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c3.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection: read %d, %v; want it closed at once", n, err)
	}
	cs[0].Close()
	h.waitCloses(t, 1)
	c4, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	roundTrip(t, c4, []byte("room again"))
}

func TestShutdownGraceful(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := newEcho()
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for range 10 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, []byte("hi"))
		cs = append(cs, c)
	}
	// Clients close when they see the server's FIN, as real ones do.
	eofs := make(chan error, len(cs))
	for _, c := range cs {
		go func() {
			_, err := c.Read(make([]byte, 1))
			c.Close()
			eofs <- err
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range cs { // BaseHandler.OnShutdown closed them gracefully
		if err := <-eofs; err != io.EOF {
			t.Fatalf("client read after shutdown: %v, want EOF", err)
		}
	}
	if n := len(h.waitCloses(t, len(cs))); n != len(cs) {
		t.Fatalf("%d OnClose calls", n)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", h); !errors.Is(err, ioloop.ErrGroupClosed) {
		t.Fatalf("Listen after Shutdown: %v, want ErrGroupClosed", err)
	}
}

func TestInvalidOptionsAndAddresses(t *testing.T) {
	checkLeaks(t)
	for _, o := range []ioloop.Options{
		{Loops: -1},
		{HighWater: 100, LowWater: 100},
		{IdleTimeout: -time.Second},
		{Balance: ioloop.Balance(42)},
		{MaxOutput: 10, HighWater: 100, LowWater: 10},
	} {
		if g, err := ioloop.New(o); err == nil {
			g.Close()
			t.Errorf("New(%+v) did not fail", o)
		}
	}
	g := newGroup(t, ioloop.Options{Loops: 1})
	for _, a := range [][2]string{{"tcp", "127.0.0.1:99999"}, {"tcp", "no-such-host.invalid:80"}, {"sctp", "127.0.0.1:0"}, {"unix", "/nonexistent-dir/x.sock"}} {
		if _, err := g.Listen(a[0], a[1], newEcho()); err == nil {
			t.Errorf("Listen(%q, %q) did not fail", a[0], a[1])
		}
	}
	if _, err := g.Listen("tcp", "127.0.0.1:0", nil); err == nil {
		t.Error("Listen with a nil handler did not fail")
	}
}

func TestBalanceModes(t *testing.T) {
	checkLeaks(t)
	for _, b := range []ioloop.Balance{ioloop.BalanceReusePort, ioloop.BalanceRoundRobin, ioloop.BalanceLeastConns} {
		t.Run(b.String(), func(t *testing.T) {
			g := newGroup(t, ioloop.Options{Loops: 2, Balance: b})
			h := &openNotifier{newEcho(), make(chan *ioloop.Conn, 16)}
			ln := listen(t, g, "tcp", "127.0.0.1:0", h)
			per := map[int]int{}
			for i := range 8 {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				roundTrip(t, c, pattern(100, byte(i)))
				per[(<-h.conns).Loop().Index()]++
			}
			if b != ioloop.BalanceReusePort && (per[0] != 4 || per[1] != 4) {
				t.Fatalf("%v spread 8 connections as %v, want 4 and 4", b, per)
			}
		})
	}
}

// keepReader queues more than the high-water mark for a peer that never
// reads, then counts what the peer sends; with pausing off it must go on
// reading.
type keepReader struct {
	ioloop.BaseHandler
	got      atomic.Int64
	paused   atomic.Bool
	outAtEnd chan int
	want     int64
}

func (h *keepReader) OnOpen(c *ioloop.Conn) {
	c.SetPauseOnBackpressure(false)
	c.Write(make([]byte, 32<<20)) // more than loopback's socket buffers take
}

func (h *keepReader) OnBackpressure(c *ioloop.Conn, paused bool) {
	if paused {
		h.paused.Store(true)
	}
}

func (h *keepReader) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	if h.got.Add(int64(len(b))) == h.want {
		h.outAtEnd <- c.OutputLen()
	}
}

func TestKeepReadingAboveHighWater(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, HighWater: 64 << 10, LowWater: 16 << 10, MaxOutput: 64 << 20})
	const total = 16 << 20
	h := &keepReader{want: total, outAtEnd: make(chan int, 1)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(make([]byte, total)); err != nil {
		t.Fatalf("the server stopped reading: %v after %d of %d bytes", err, h.got.Load(), total)
	}
	select {
	case out := <-h.outAtEnd:
		if out <= 64<<10 {
			t.Fatalf("output %d at the end: the server's output was not above the mark", out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("server received %d of %d bytes", h.got.Load(), total)
	}
	if !h.paused.Load() {
		t.Fatal("OnBackpressure(true) not called above the mark")
	}
}
