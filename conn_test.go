package ioloop_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
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
	var pe *async.PanicError
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

// addrRecorder reports the addresses a connection sees.
type addrRecorder struct {
	ioloop.BaseHandler
	got chan [2]string
}

func (h *addrRecorder) OnOpen(c *ioloop.Conn) {
	h.got <- [2]string{c.LocalAddr().String(), c.RemoteAddr().String()}
	if c.RemoteAddrPort().String() != c.RemoteAddr().String() {
		panic("RemoteAddrPort and RemoteAddr differ")
	}
}

func TestAddresses(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		h := &addrRecorder{got: make(chan [2]string, 1)}
		ln, err := g.Listen("tcp", addr, h)
		if err != nil {
			if addr[0] == '[' {
				continue // no IPv6 loopback
			}
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got := <-h.got
		if got[0] != c.RemoteAddr().String() || got[1] != c.LocalAddr().String() {
			t.Fatalf("server saw local %s remote %s; client has local %s remote %s", got[0], got[1], c.LocalAddr(), c.RemoteAddr())
		}
		c.Close()
		ln.Close()
	}
}

// An idle connection costs one Conn: it must stay in the allocator's 96-byte
// size class (see the layout comment on Conn).
func TestConnFitsItsSizeClass(t *testing.T) {
	if ioloop.ConnSize > 96 {
		t.Fatalf("Conn is %d bytes, want at most 96", ioloop.ConnSize)
	}
}

// A connection's buffers, pooled by the loop (maxPooledIO), are at most 80
// bytes besides their chunks and segment ring, as loop.go says.
func TestConnIOSize(t *testing.T) {
	if ioloop.ConnIOSize > 80 {
		t.Fatalf("connIO is %d bytes, want at most 80", ioloop.ConnIOSize)
	}
}
