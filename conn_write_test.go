package ioloop_test

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

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

// sharer queues one shared buffer by reference on every connection it
// opens, and counts the completions.
type sharer struct {
	ioloop.BaseHandler
	buf  []byte
	done chan error
}

func (h *sharer) OnOpen(c *ioloop.Conn) {
	if err := c.WriteRef(h.buf, func(err error) { h.done <- err }); err != nil {
		panic(err)
	}
}

func TestWriteRefToManyConnections(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 2})
	h := &sharer{buf: pattern(1<<20, 11), done: make(chan error, 16)}
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
	for i := range cs {
		if err := <-h.done; err != nil {
			t.Fatalf("completion %d: %v", i, err)
		}
	}
	select {
	case err := <-h.done:
		t.Fatalf("a ninth completion (%v) for eight writes", err)
	case <-time.After(50 * time.Millisecond):
	}
}

// lentWriter writes lent input back in pieces mixed with its own bytes,
// reporting OutputLen after the first (kept, uncopied) write, and then
// flushes, closes or leaves the rest to the loop.
type lentWriter struct {
	ioloop.BaseHandler
	mode    string // "mix", "close"
	outLens chan int
}

func (h *lentWriter) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	k := len(b) / 2
	c.Write(b[:k]) // kept by reference: lent input, first write
	h.outLens <- c.OutputLen()
	switch h.mode {
	case "mix":
		c.Write([]byte("|"))
		c.Write(b[k:]) // lent again, but not the first write: copied
		c.Write([]byte("|"))
	case "close":
		c.Write(b[k:])
		c.Close()
	}
}

// TestWriteOfLentInput checks the copy-free write of lent input: bytes keep
// their order with the writes around them, OutputLen counts them, and Close
// sends them before the FIN.
func TestWriteOfLentInput(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	for _, mode := range []string{"mix", "close"} {
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

// refWriter hands buffers over with WriteRef, mixed with copied writes, and
// records each completion with the bytes it carried; after the connection
// started closing, WriteRef must fail at once and still complete later.
type refWriter struct {
	ioloop.BaseHandler
	big    []byte
	events chan string
}

func (h *refWriter) OnData(c *ioloop.Conn) {
	c.Discard(-1)
	inline := true
	c.WriteRef([]byte("ab"), func(err error) { h.events <- fmt.Sprintf("ab %v %v", err, inline) })
	c.Write([]byte("cd"))
	c.WriteRef(h.big, func(err error) { h.events <- fmt.Sprintf("big %v %v", err, inline) })
	c.CloseWrite()
	err := c.WriteRef([]byte("late"), func(err error) { h.events <- fmt.Sprintf("late %v %v", err, inline) })
	h.events <- fmt.Sprintf("late returned %v", err)
	inline = false
}

// TestWriteRef checks the hand-over write: bytes in order with copied
// writes, done exactly once per buffer, never inside the call, with nil
// once the bytes left and with the error for a buffer that could not be
// queued.
func TestWriteRef(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, MaxOutput: 64 << 20})
	h := &refWriter{big: pattern(16<<20, 7), events: make(chan string, 8)}
	ln := listen(t, g, "tcp", "127.0.0.1:0", h)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("go")); err != nil {
		t.Fatal(err)
	}
	if ev := <-h.events; ev != "late returned "+ioloop.ErrClosed.Error() {
		t.Fatalf("first event %q, want WriteRef after CloseWrite to return ErrClosed", ev)
	}
	want := append([]byte("abcd"), h.big...)
	got, err := io.ReadAll(io.LimitReader(c, int64(len(want)+1)))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "WriteRef", got, want)
	seen := map[string]bool{}
	for range 3 {
		seen[<-h.events] = true
	}
	for _, ev := range []string{"ab <nil> false", "big <nil> false", "late " + ioloop.ErrClosed.Error() + " false"} {
		if !seen[ev] {
			t.Fatalf("completions %v: missing %q", seen, ev)
		}
	}
}
