package ioloop_test

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

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
