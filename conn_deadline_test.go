package ioloop_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

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
