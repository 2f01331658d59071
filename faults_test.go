package ioloop_test

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// talker writes size bytes when a connection opens.
type talker struct {
	*echoHandler
	size int
}

func (h *talker) OnOpen(c *ioloop.Conn) {
	h.echoHandler.OnOpen(c)
	c.Write(make([]byte, h.size))
}

// TestPeerResetMidWrite: a peer that resets while the server still has
// output queued gives OnClose a specific error (a reset or broken pipe),
// and the other connections go on.
func TestPeerResetMidWrite(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, HighWater: 8 << 20, LowWater: 1 << 20, MaxOutput: 32 << 20})
	h := &talker{newEcho(), 8 << 20}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(c, make([]byte, 1000)) // the server is writing now
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // RST
	err = h.waitCloses(t, 1)[0]
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("OnClose after a reset: %v, want ECONNRESET or EPIPE", err)
	}
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := io.ReadFull(other, make([]byte, 8<<20)); err != nil {
		t.Fatalf("next connection: %v", err)
	}
}

// TestOneByteAtATime: input split into single bytes is delivered whole and
// in order.
func TestOneByteAtATime(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	ln := listen(t, g, "tcp", "127.0.0.1:0", newEcho())
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetNoDelay(true)
	msg := pattern(300, 7)
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(msg))
		io.ReadFull(c, b)
		got <- b
	}()
	for i := range msg {
		c.Write(msg[i : i+1])
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	mustEqual(t, "byte-at-a-time echo", <-got, msg)
}

func TestDialUnixAndTimeout(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	path := filepath.Join(t.TempDir(), "s.sock")
	ln := listen(t, g, "unix", path, newEcho())
	h := &collector{got: make(chan []byte, 10)}
	c, err := g.Dial("unix", ln.Addr().String(), h, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	c.Loop().Post(func() { c.Write([]byte("over unix")); close(done) })
	<-done
	mustEqual(t, "unix echo", <-h.got, []byte("over unix"))
	c.Close()

	// A listener whose backlog is full and that never accepts makes a
	// connect hang: the dial must end with ErrDialTimeout.
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	f, _ := raw.(*net.TCPListener).File()
	syscall.Listen(int(f.Fd()), 0)
	f.Close()
	var fill []net.Conn
	defer func() {
		for _, c := range fill {
			c.Close()
		}
	}()
	for range 8 {
		c, err := net.DialTimeout("tcp", raw.Addr().String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	e := newEcho()
	if _, err := g.Dial("tcp", raw.Addr().String(), e, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := e.waitCloses(t, 1)[0]; !errors.Is(err, ioloop.ErrDialTimeout) {
		t.Skipf("dial ended with %v: the kernel did not leave the connect pending (backlog behaviour varies)", err)
	}
}
