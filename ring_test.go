package ioloop_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// ringHandler echoes, except for the control messages of the tests below,
// which act on other connections of the same loop.
type ringHandler struct {
	echoHandler
	byName map[string]*ioloop.Conn // loop only
	mu     sync.Mutex
	log    []string
}

func (h *ringHandler) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	msg := string(b)
	h.mu.Lock()
	h.log = append(h.log, msg)
	h.mu.Unlock()
	if msg == "quit" { // the echo, then FIN after it
		c.Write(b)
		c.Close()
		return
	}
	var name, cmd string
	n, _ := fmt.Sscanf(msg, "%s %s", &cmd, &name)
	if n == 2 && cmd == "hello" {
		h.byName[name] = c
		c.Write([]byte("ok"))
		return
	}
	if v := h.byName[name]; n == 2 && v != nil {
		switch cmd {
		case "close":
			v.Close()
			return
		case "tail":
			v.Write([]byte("+tail"))
			return
		case "pause":
			v.PauseRead()
			return
		case "resume":
			v.ResumeRead()
			return
		}
	}
	c.Write(b)
}

// ringGroup starts a one-loop group with Options.IOUring serving h, or skips
// the test where the kernel has no io_uring.
func ringGroup(t *testing.T, h ioloop.Handler) (*ioloop.Group, string) {
	t.Helper()
	g := newGroup(t, ioloop.Options{Loops: 1, IOUring: true})
	if on, _, _ := ioloop.RingStats(g, 0); !on {
		t.Skip("no io_uring here: the loop makes plain system calls")
	}
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	return g, ln.Addr().String()
}

// holdLoop blocks loop 0 of g until the returned function is called, so
// that everything clients send meanwhile is ready at its next wake-up.
func holdLoop(t *testing.T, g *ioloop.Group) (release func()) {
	started, done := make(chan struct{}), make(chan struct{})
	if err := g.Loops()[0].Post(func() { close(started); <-done }); err != nil {
		t.Fatal(err)
	}
	<-started
	return func() { close(done) }
}

// named dials a connection the handler knows as name.
func named(t *testing.T, addr, name string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("hello " + name)); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "ok")
	return c
}

// expect reads exactly want from c.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}

// send writes msg on c and, since the loop is held, lets it reach the
// socket before the next message: the poller then reports the connections
// in sending order.
func send(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
}

func TestIOUringEchoesInBatches(t *testing.T) {
	checkLeaks(t)
	h := newEcho()
	g, addr := ringGroup(t, h)
	const n = 200
	conns := dialAll(t, addr, h, n)
	_, submits0, ops0 := ioloop.RingStats(g, 0)
	for round := range 3 {
		echoRound(t, g, conns, func(i int) []byte { return pattern(100+i*7, byte(i+round)) })
	}
	_, submits, ops := ioloop.RingStats(g, 0)
	submits, ops = submits-submits0, ops-ops0
	// 3 rounds × 200 reads and 200 sends, in batches of 32 reads or their
	// sends: about 40 submits. One system call per read and per write would
	// be 1,200.
	if ops < 3*2*n || submits > 3*2*(n/32+2) {
		t.Fatalf("%d operations in %d submits; want at least %d operations in at most %d", ops, submits, 3*2*n, 3*2*(n/32+2))
	}
	t.Logf("%d operations in %d submits", ops, submits)
}

func TestIOUringCloseAndWriteAfterAQueuedEcho(t *testing.T) {
	checkLeaks(t)
	h := &ringHandler{echoHandler: *newEcho(), byName: map[string]*ioloop.Conn{}}
	g, addr := ringGroup(t, h)
	v1, v2, k := named(t, addr, "v1"), named(t, addr, "v2"), named(t, addr, "k")
	for range 3 {
		release := holdLoop(t, g)
		// v1's and v2's echoes are queued on the ring when k's message
		// closes v1 (its FIN must follow the echo) and writes to v2 (after
		// the echo).
		send(t, v1, "one")
		send(t, v2, "two")
		send(t, k, "close v1")
		release()
		expect(t, v1, "one")
		v1.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := v1.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("v1 after its echo: %d bytes, %v; want EOF", n, err)
		}
		expect(t, v2, "two")
		send(t, k, "tail v2")
		expect(t, v2, "+tail")
		release = holdLoop(t, g)
		send(t, v2, "three")
		send(t, k, "tail v2")
		release()
		expect(t, v2, "three+tail")
		v1 = named(t, addr, "v1")
	}
	// A connection that writes and closes in one OnData: the FIN follows the
	// queued echo.
	for range 3 {
		q1, q2 := named(t, addr, "q1"), named(t, addr, "q2")
		release := holdLoop(t, g)
		send(t, q1, "quit")
		send(t, q2, "quit")
		release()
		for _, q := range []net.Conn{q1, q2} {
			q.SetReadDeadline(time.Now().Add(10 * time.Second))
			if got, err := io.ReadAll(q); string(got) != "quit" || err != nil {
				t.Fatalf("read %q (%v), want the echo then EOF", got, err)
			}
		}
	}
}

func TestIOUringPausedByAnotherConnection(t *testing.T) {
	checkLeaks(t)
	h := &ringHandler{echoHandler: *newEcho(), byName: map[string]*ioloop.Conn{}}
	g, addr := ringGroup(t, h)
	v, k := named(t, addr, "v"), named(t, addr, "k")
	release := holdLoop(t, g)
	// k's message pauses v after v's read was queued in the same batch:
	// v's input must wait for the resume.
	send(t, k, "pause v")
	send(t, v, "held")
	release()
	v.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := v.Read(make([]byte, 8)); n != 0 || !isTimeout(err) {
		t.Fatalf("paused v echoed %d bytes (%v)", n, err)
	}
	h.mu.Lock()
	for _, m := range h.log {
		if m == "held" {
			t.Fatal("OnData got v's input while v was paused")
		}
	}
	h.mu.Unlock()
	send(t, k, "resume v")
	expect(t, v, "held")
	send(t, v, "more")
	expect(t, v, "more")
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// copyHandler echoes through the output queue (a copy, not the lent input)
// and, for "all MSG", writes MSG to every connection in three pieces, one of
// them by reference, so the flush sends several buffers.
type copyHandler struct {
	echoHandler
	conns []*ioloop.Conn // loop only
}

func (h *copyHandler) OnOpen(c *ioloop.Conn) {
	h.conns = append(h.conns, c)
	h.echoHandler.OnOpen(c)
}

func (h *copyHandler) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	if msg, ok := bytes.CutPrefix(b, []byte("all ")); ok {
		shared := bytes.Clone(msg)
		for _, d := range h.conns {
			d.Write([]byte("<"))
			d.WriteRef(shared, nil)
			d.Write([]byte(">"))
		}
		return
	}
	c.Write(bytes.Clone(b)) // not lent input: queued and flushed
}

func TestIOUringFlushesInBatches(t *testing.T) {
	checkLeaks(t)
	h := &copyHandler{echoHandler: *newEcho()}
	g, addr := ringGroup(t, h)
	const n = 100
	conns := dialAll(t, addr, &h.echoHandler, n)
	_, submits0, ops0 := ioloop.RingStats(g, 0)
	echoRound(t, g, conns, func(i int) []byte { return pattern(50+i, byte(i)) })
	// A broadcast: every connection's output is three buffers, all flushed
	// in the same iteration.
	big := bytes.Repeat([]byte("0123456789"), 1000) // one read: under the 16 KiB read slot
	if _, err := conns[0].Write(append([]byte("all "), big...)); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, len(big)+2)
		if _, err := io.ReadFull(c, got); err != nil || got[0] != '<' || got[len(got)-1] != '>' || !bytes.Equal(got[1:len(got)-1], big) {
			d := 0
			for d < len(big) && d+1 < len(got) && got[d+1] == big[d] {
				d++
			}
			t.Fatalf("conn %d: broadcast differs (%v): %q ... first difference at %d: %q", i, err, got[:20], d, got[d:min(len(got), d+30)])
		}
	}
	_, submits, ops := ioloop.RingStats(g, 0)
	submits, ops = submits-submits0, ops-ops0
	if ops < 3*n || submits > 3*(n/32+2)+2 {
		t.Fatalf("%d operations in %d submits; want at least %d operations in at most %d", ops, submits, 3*n, 3*(n/32+2)+2)
	}
	t.Logf("%d operations in %d submits", ops, submits)
}

// dialAll dials n connections to addr, closed at the end of the test, and
// waits until h opened them all, so that each one's first event is a read.
func dialAll(t *testing.T, addr string, h *echoHandler, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	for i := 0; ; i++ {
		h.mu.Lock()
		opens := h.opens
		h.mu.Unlock()
		if opens == n {
			return conns
		}
		if i == 2000 {
			t.Fatalf("%d of %d connections opened", opens, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// echoRound holds loop 0 of g while every connection sends msg(i), so that
// all are ready at its next wake-up, then checks each echo byte for byte.
func echoRound(t *testing.T, g *ioloop.Group, conns []net.Conn, msg func(i int) []byte) {
	t.Helper()
	release := holdLoop(t, g)
	for i, c := range conns {
		if _, err := c.Write(msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	release()
	for i, c := range conns {
		want := msg(i)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("conn %d: echo differs (%v)", i, err)
		}
	}
}

// smallSendEcho is echoHandler with a small send buffer on every
// connection, so that the kernel takes sends in part.
type smallSendEcho struct{ *echoHandler }

func (h smallSendEcho) OnOpen(c *ioloop.Conn) {
	if err := ioloop.SetSendBuffer(c, 4096); err != nil {
		panic(err)
	}
	h.echoHandler.OnOpen(c)
}

func TestIOUringEchoesLargeInputToSlowReaders(t *testing.T) {
	checkLeaks(t)
	h := newEcho()
	_, addr := ringGroup(t, smallSendEcho{h})
	const n = 40
	conns := dialAll(t, addr, h, n)
	for _, c := range conns {
		c.(*net.TCPConn).SetReadBuffer(4096)
	}
	// Each connection sends in pieces while its client does not read yet:
	// the echoes fill the small send buffer, so sends in a batch come back
	// short or refused, the rest queues behind them, reading pauses and
	// resumes.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		want := pattern(40_000+i*997, byte(i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for b := want; len(b) > 0; b = b[min(len(b), 3000):] {
				if _, err := c.Write(b[:min(len(b), 3000)]); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			time.Sleep(200 * time.Millisecond)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("conn %d: %v", i, err)
				return
			}
			if !bytes.Equal(got, want) {
				errs <- fmt.Errorf("conn %d: echo differs", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestIOUringFailureFallsBackToPlainCalls(t *testing.T) {
	checkLeaks(t)
	logs := &countingHandler{}
	h := newEcho()
	g := newGroup(t, ioloop.Options{Loops: 1, IOUring: true, Logger: slog.New(logs)})
	if on, _, _ := ioloop.RingStats(g, 0); !on {
		t.Skip("no io_uring here: the loop makes plain system calls")
	}
	ln, err := g.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	conns := dialAll(t, ln.Addr().String(), h, 20)
	for round := range 4 {
		if round == 1 {
			if err := ioloop.BreakRing(g, 0); err != nil {
				t.Fatal(err)
			}
		}
		echoRound(t, g, conns, func(i int) []byte { return pattern(100+i, byte(round)) })
	}
	if n := logs.count("ioloop: io_uring failed"); n != 1 {
		t.Fatalf("%d reports of the failure, want 1", n)
	}
}

func TestGroupIOUringReportsTheRings(t *testing.T) {
	checkLeaks(t)
	if g := newGroup(t, ioloop.Options{Loops: 2}); g.IOUring() && !testIOUring {
		t.Fatal("IOUring() without the option")
	}
	g := newGroup(t, ioloop.Options{Loops: 2, IOUring: true})
	on0, _, _ := ioloop.RingStats(g, 0)
	on1, _, _ := ioloop.RingStats(g, 1)
	if g.IOUring() != (on0 && on1) {
		t.Fatalf("IOUring() = %v, loops have rings: %v, %v", g.IOUring(), on0, on1)
	}
}

// Options.IOUring's doc states the read area's size.
func TestRingArenaMax(t *testing.T) {
	if ioloop.RingArenaMax != 512<<10 {
		t.Fatalf("the io_uring read area is %d bytes, Options.IOUring says at most 512 KiB", ioloop.RingArenaMax)
	}
}
