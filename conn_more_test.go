package ioloop_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// deadliner sets deadlines when a connection opens.
type deadliner struct {
	*echoHandler
	read, write time.Duration
	flood       []byte
}

func (h *deadliner) OnOpen(c *ioloop.Conn) {
	h.echoHandler.OnOpen(c)
	if h.read > 0 {
		c.SetReadDeadline(c.Loop().Now().Add(h.read))
	}
	if h.write > 0 {
		c.Write(h.flood)
		c.SetWriteDeadline(c.Loop().Now().Add(h.write))
	}
}

func TestReadDeadline(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := &deadliner{echoHandler: newEcho(), read: 50 * time.Millisecond}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if err := h.waitCloses(t, 1)[0]; !errors.Is(err, ioloop.ErrReadDeadline) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("OnClose: %v, want ErrReadDeadline", err)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("read deadline fired after %v", el)
	}

	// Input before the deadline clears it.
	h2 := &deadliner{echoHandler: newEcho(), read: 100 * time.Millisecond}
	ln2 := listen(t, g, "tcp", "127.0.0.1:0", h2)
	c2, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	roundTrip(t, c2, []byte("in time"))
	time.Sleep(200 * time.Millisecond)
	roundTrip(t, c2, []byte("still open"))
}

func TestWriteDeadline(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, HighWater: 32 << 20, LowWater: 1 << 20, MaxOutput: 64 << 20})
	h := &deadliner{echoHandler: newEcho(), write: 100 * time.Millisecond, flood: make([]byte, 16<<20)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // never reads: 16 MiB cannot all reach the kernel
	if err := h.waitCloses(t, 1)[0]; !errors.Is(err, ioloop.ErrWriteDeadline) {
		t.Fatalf("OnClose: %v, want ErrWriteDeadline", err)
	}
}

// aborter aborts each connection on its first input.
type aborter struct{ *echoHandler }

func (h *aborter) OnData(c *ioloop.Conn) { c.Abort() }

func TestAbortResets(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := &aborter{newEcho()}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	if err := h.waitCloses(t, 1)[0]; !errors.Is(err, ioloop.ErrAborted) {
		t.Fatalf("OnClose: %v, want ErrAborted", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read after Abort: %v, want connection reset", err)
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

// flusher writes and flushes inside the callback, then reports the output
// still queued.
type flusher struct {
	ioloop.BaseHandler
	left chan int
}

func (h *flusher) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	c.Write(b)
	if err := c.Flush(); err != nil {
		panic(err)
	}
	h.left <- c.OutputLen()
}

func TestFlushInCallback(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	h := &flusher{left: make(chan int, 1)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("flush me"))
	if n := <-h.left; n != 0 {
		t.Fatalf("%d bytes still queued after Flush of a small write", n)
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "flush me" {
		t.Fatalf("read %q, %v", b, err)
	}
}

// sharer queues one shared buffer on every connection it opens.
type sharer struct {
	ioloop.BaseHandler
	buf []byte
}

func (h *sharer) OnOpen(c *ioloop.Conn) {
	if _, err := c.WriteShared(h.buf); err != nil {
		panic(err)
	}
}

func TestWriteSharedToManyConnections(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2})
	h := &sharer{buf: pattern(1<<20, 11)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	var cs []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs = append(cs, c)
	}
	for i, c := range cs {
		got := make([]byte, len(h.buf))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		mustEqual(t, "shared buffer", got, h.buf)
	}
}

// An idle connection costs one Conn: it must stay in the allocator's 96-byte
// size class (see the layout comment on Conn).
func TestConnFitsItsSizeClass(t *testing.T) {
	if ioloop.ConnSize > 96 {
		t.Fatalf("Conn is %d bytes, want at most 96", ioloop.ConnSize)
	}
}

// lentWriter writes lent input back in pieces mixed with its own bytes,
// reporting OutputLen after the first (kept, uncopied) write, and then
// flushes, closes or leaves the rest to the loop.
type lentWriter struct {
	ioloop.BaseHandler
	mode    string // "mix", "flush", "close"
	outLens chan int
}

func (h *lentWriter) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	k := len(b) / 2
	c.Write(b[:k]) // kept by reference: lent input, first write
	h.outLens <- c.OutputLen()
	switch h.mode {
	case "mix":
		c.WriteString("|")
		c.Write(b[k:]) // lent again, but not the first write: copied
		c.Write([]byte("|"))
	case "flush":
		if err := c.Flush(); err != nil {
			panic(err)
		}
		c.Write(b[k:])
	case "close":
		c.Write(b[k:])
		c.Close()
	}
}

// TestWriteOfLentInput checks the copy-free write of lent input: bytes keep
// their order with the writes around them, OutputLen counts them, Flush
// writes them, and Close sends them before the FIN.
func TestWriteOfLentInput(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	for _, mode := range []string{"mix", "flush", "close"} {
		h := &lentWriter{mode: mode, outLens: make(chan int, 16)}
		ln := listen(t, g, "tcp", "127.0.0.1:0", h)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("abcdefghij")
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		want := string(msg)
		if mode == "mix" {
			want = "abcde|fghij|"
		}
		got := make([]byte, len(want))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if string(got) != want {
			t.Fatalf("%s: got %q, want %q", mode, got, want)
		}
		if n := <-h.outLens; n != 5 {
			t.Fatalf("%s: OutputLen after the kept write = %d, want 5", mode, n)
		}
		if mode == "close" {
			if n, err := c.Read(got); err != io.EOF {
				t.Fatalf("close: read after the data: %d, %v, want EOF", n, err)
			}
		}
		c.Close()
		ln.Close()
	}
}

// nowWriter answers every input with WriteNow from one reused buffer,
// mixed with Write, then overwrites the buffer: the peer must get the bytes
// as they were at each call, in order. The big reply is more than the
// kernel takes at once from a peer that reads late.
type nowWriter struct {
	ioloop.BaseHandler
	buf []byte
	big []byte
}

func (h *nowWriter) OnData(c *ioloop.Conn) {
	c.Discard(-1)
	h.buf = append(h.buf[:0], "ab"...)
	c.WriteNow(h.buf)
	h.buf = append(h.buf[:0], "XX"...) // reused at once
	c.Write([]byte("cd"))
	h.buf = append(h.buf[:0], "ef"...)
	c.WriteNow(h.buf) // queued behind "cd"
	h.buf = append(h.buf[:0], "YY"...)
	big := append(h.buf[:0], h.big...)
	c.Flush()
	c.WriteNow(big)
	clear(big)
}

func TestWriteNow(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, MaxOutput: 64 << 20})
	h := &nowWriter{big: pattern(16<<20, 7)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("go")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server fill the socket buffers
	want := append([]byte("abcdef"), h.big...)
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "WriteNow", got, want)
}
