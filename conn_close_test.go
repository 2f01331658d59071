package ioloop_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

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
					sc.AsyncWrite(pattern(100, byte(w)), func(error) { completions.Add(1) })
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
