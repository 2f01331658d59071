package tlsio

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func counting() (*Conn, *atomic.Int32) {
	var wakes atomic.Int32
	return New(nil, nil, 10, func() { wakes.Add(1) }), &wakes
}

func TestFeedBound(t *testing.T) {
	c, wakes := counting()
	c.SetBlocking(false)
	if n := c.Feed([]byte("0123456789abcde")); n != 10 {
		t.Fatalf("Feed took %d at a bound of 10", n)
	}
	if n := c.Feed([]byte("x")); n != 0 {
		t.Fatalf("Feed into a full buffer took %d", n)
	}
	buf := make([]byte, 4)
	if n, err := c.Read(buf); n != 4 || err != nil || string(buf) != "0123" {
		t.Fatalf("Read: %d %v %q", n, err, buf[:n])
	}
	if wakes.Load() != 1 {
		t.Fatalf("%d wake-ups after a Read freed room for a short Feed, want 1", wakes.Load())
	}
	if n, _ := c.Read(buf); n != 4 || wakes.Load() != 1 {
		t.Fatalf("second Read: %d bytes, %d wake-ups; want 4, 1", n, wakes.Load())
	}
	if n := c.Feed([]byte("abcdefghijkl")); n != 8 {
		t.Fatalf("Feed took %d with 8 free", n)
	}
	var got []byte
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == ErrWouldBlock {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "89abcdefgh" {
		t.Fatalf("read %q", got)
	}
}

func TestWouldBlockError(t *testing.T) {
	c := New(nil, nil, 0, nil)
	c.SetBlocking(false)
	n, err := c.Read(make([]byte, 8))
	if n != 0 || err != ErrWouldBlock {
		t.Fatalf("Read: %d, %v", n, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !ne.Temporary() {
		t.Fatalf("%v is not a Temporary, Timeout net.Error", err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil): %d, %v", n, err)
	}
}

func TestEndOfInput(t *testing.T) {
	for _, c := range []struct {
		name string
		end  func(*Conn)
		want error
	}{
		{name: "EOF", end: (*Conn).SetEOF, want: io.EOF},
		{name: "error", end: func(c *Conn) { c.SetErr(os.ErrPermission) }, want: os.ErrPermission},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := New(nil, nil, 0, nil)
			conn.Feed([]byte("last"))
			c.end(conn)
			if n := conn.Feed([]byte("more")); n != 0 {
				t.Fatalf("Feed after the end took %d", n)
			}
			buf := make([]byte, 10)
			if n, err := conn.Read(buf); string(buf[:n]) != "last" || err != nil {
				t.Fatalf("Read: %q, %v; want the buffered bytes first", buf[:n], err)
			}
			if conn.EOFRead() {
				t.Fatal("EOFRead before Read returned io.EOF")
			}
			if _, err := conn.Read(buf); err != c.want {
				t.Fatalf("Read: %v, want %v", err, c.want)
			}
			if conn.EOFRead() != (c.want == io.EOF) {
				t.Fatalf("EOFRead %v", conn.EOFRead())
			}
		})
	}
}

// TestBlockingRead: a Read in blocking mode waits until each of the loop
// side's events, and until the deadline.
func TestBlockingRead(t *testing.T) {
	for _, c := range []struct {
		name  string
		event func(*Conn)
		n     int
		want  error
	}{
		{name: "Feed", event: func(c *Conn) { c.Feed([]byte("hi")) }, n: 2},
		{name: "SetEOF", event: (*Conn).SetEOF, want: io.EOF},
		{name: "SetErr", event: func(c *Conn) { c.SetErr(io.ErrClosedPipe) }, want: io.ErrClosedPipe},
		{name: "Close", event: func(c *Conn) { c.Close() }, want: net.ErrClosed},
		{name: "SetBlocking", event: func(c *Conn) { c.SetBlocking(false) }, want: ErrWouldBlock},
		{name: "SetReadDeadline", event: func(c *Conn) { c.SetReadDeadline(time.Now()) }, want: os.ErrDeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := New(nil, nil, 0, nil)
			conn.SetReadDeadline(time.Now().Add(time.Hour))
			done := make(chan error, 1)
			var n int
			go func() {
				var err error
				n, err = conn.Read(make([]byte, 10))
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("Read returned %v before the event", err)
			case <-time.After(20 * time.Millisecond):
			}
			c.event(conn)
			select {
			case err := <-done:
				if err != c.want || n != c.n {
					t.Fatalf("Read: %d, %v; want %d, %v", n, err, c.n, c.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Read still waits after the event")
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		conn := New(nil, nil, 0, nil)
		conn.SetDeadline(time.Now().Add(30 * time.Millisecond))
		start := time.Now()
		if _, err := conn.Read(make([]byte, 1)); err != os.ErrDeadlineExceeded {
			t.Fatalf("Read: %v", err)
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Fatalf("returned after %v", d)
		}
	})
}

func TestWriteOutput(t *testing.T) {
	c, wakes := counting()
	c.Write([]byte("abc"))
	c.Write([]byte("def"))
	if wakes.Load() != 1 {
		t.Fatalf("%d wake-ups for two Writes into an empty output, want 1", wakes.Load())
	}
	out := c.Output()
	if string(out) != "abcdef" {
		t.Fatalf("Output %q", out)
	}
	c.Write([]byte("ghi"))
	if string(out) != "abcdef" {
		t.Fatalf("a Write changed the bytes Output returned: %q", out)
	}
	c.Consume(4)
	if string(c.Output()) != "efghi" {
		t.Fatalf("after Consume(4): %q", c.Output())
	}
	c.Consume(100)
	if len(c.Output()) != 0 {
		t.Fatalf("after Consume of all: %q", c.Output())
	}
	c.Write([]byte("j"))
	if wakes.Load() != 2 {
		t.Fatalf("%d wake-ups, want 2 after the output emptied", wakes.Load())
	}
	c.Write(nil)
	if err := c.SetWriteDeadline(time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write([]byte("k")); n != 1 || err != nil {
		t.Fatalf("Write past a write deadline: %d, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if wakes.Load() != 3 || !c.Closed() {
		t.Fatalf("Close: %d wake-ups, Closed %v", wakes.Load(), c.Closed())
	}
	if err := c.Close(); err != net.ErrClosed {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); err != net.ErrClosed {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != net.ErrClosed {
		t.Fatalf("Read after Close: %v", err)
	}
	if string(c.Output()) != "jk" {
		t.Fatalf("Output after Close: %q", c.Output())
	}
}

// TestConcurrentWriteConsume: a writer goroutine (the handshake) and the
// loop side taking the output lose and reorder nothing.
func TestConcurrentWriteConsume(t *testing.T) {
	wake := make(chan struct{}, 1)
	c := New(nil, nil, 0, func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	const total = 200000
	var want bytes.Buffer
	for i := range total {
		want.WriteByte(byte(i % 251))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		b := want.Bytes()
		for len(b) > 0 {
			k := min(len(b), 1+len(b)%97)
			c.Write(b[:k])
			b = b[k:]
		}
	})
	var got []byte
	for len(got) < total {
		out := c.Output()
		if len(out) == 0 {
			select {
			case <-wake:
			case <-time.After(time.Millisecond):
			}
			continue
		}
		k := (len(out) + 1) / 2
		got = append(got, out[:k]...)
		c.Consume(k)
	}
	wg.Wait()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("output differs at %d", firstDiff(got, want.Bytes()))
	}
}

func TestAddrs(t *testing.T) {
	l, r := &net.TCPAddr{Port: 1}, &net.TCPAddr{Port: 2}
	c := New(l, r, 0, nil)
	if c.LocalAddr() != l || c.RemoteAddr() != r {
		t.Fatal("addresses not passed through")
	}
}

// TestSteadyStateAllocs: once the buffers have grown, Feed, Read, Write,
// Output and Consume allocate nothing.
func TestSteadyStateAllocs(t *testing.T) {
	c := New(nil, nil, 0, func() {})
	c.SetBlocking(false)
	in, buf := make([]byte, 1500), make([]byte, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		c.Feed(in)
		c.Read(buf)
		c.Read(buf)
		c.Write(in)
		c.Consume(len(c.Output()))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round", allocs)
	}
}

// TestRelease: Release drops empty buffers only, and the Conn works after.
func TestRelease(t *testing.T) {
	c := New(nil, nil, 0, nil)
	c.SetBlocking(false)
	c.Feed([]byte("abc"))
	c.Write([]byte("out"))
	c.Release()
	if c.in == nil || c.out == nil {
		t.Fatal("Release dropped buffers that hold bytes")
	}
	buf := make([]byte, 8)
	if n, _ := c.Read(buf); string(buf[:n]) != "abc" {
		t.Fatalf("Read %q", buf[:n])
	}
	c.Consume(len(c.Output()))
	c.Release()
	if c.in != nil || c.out != nil {
		t.Fatal("Release kept empty buffers")
	}
	c.Feed([]byte("again"))
	c.Write([]byte("more"))
	if n, _ := c.Read(buf); string(buf[:n]) != "again" || string(c.Output()) != "more" {
		t.Fatalf("after Release: read %q, output %q", buf[:n], c.Output())
	}
}

// TestReadStopsAtRecordEnd: however much was fed at once, one tls.Conn.Read
// takes one record from the Conn, so crypto/tls never buffers more than
// one record of ciphertext.
func TestReadStopsAtRecordEnd(t *testing.T) {
	p := handshake(t, tls.VersionTLS13, splitter{whole: true})
	p.srv.io.SetBlocking(false)
	p.cli.io.SetBlocking(false)
	msg := bytes.Repeat([]byte("x"), 1000)
	for range 8 {
		if _, err := p.client.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	out := bytes.Clone(p.cli.io.Output())
	p.cli.io.Consume(len(out))
	ends := recordEnds(t, out)
	if len(ends) != 8 {
		t.Fatalf("%d records, want 8", len(ends))
	}
	if n := p.srv.io.Feed(out); n != len(out) {
		t.Fatalf("Feed took %d of %d", n, len(out))
	}
	buf := make([]byte, 4096)
	for i := range 8 {
		n, err := p.server.Read(buf)
		if n != len(msg) || err != nil {
			t.Fatalf("Read %d: %d, %v", i, n, err)
		}
		if left := p.srv.io.buffered(); left != len(out)-ends[i] {
			t.Fatalf("after Read %d: %d bytes left here, want %d (one record taken)", i, left, len(out)-ends[i])
		}
	}
	if _, err := p.server.Read(buf); err != ErrWouldBlock {
		t.Fatalf("Read with nothing fed: %v, want ErrWouldBlock", err)
	}
}

// TestSinkAndGate: with a sink, Write hands records straight to it while
// nothing is pending; a blocking Read calls leave before it waits and
// enter after it woke.
func TestSinkAndGate(t *testing.T) {
	var got [][]byte
	var events []string
	c := New(nil, nil, 0, nil)
	waiting := make(chan struct{})
	c.SetGate(func() { events = append(events, "leave"); close(waiting) }, func() { events = append(events, "enter") })
	if _, err := c.Write([]byte("pending")); err != nil {
		t.Fatal(err)
	}
	c.SetSink(func(b []byte) { got = append(got, bytes.Clone(b)) })
	if _, err := c.Write([]byte("behind")); err != nil { // output not empty: appended
		t.Fatal(err)
	}
	if string(c.Output()) != "pendingbehind" || len(got) != 0 {
		t.Fatalf("output %q, sink %q", c.Output(), got)
	}
	c.Consume(len(c.Output()))
	if _, err := c.Write([]byte("direct")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got[0]) != "direct" || len(c.Output()) != 0 {
		t.Fatalf("output %q, sink %q", c.Output(), got)
	}
	done := make(chan []byte)
	go func() {
		b := make([]byte, 8)
		n, _ := c.Read(b)
		done <- b[:n]
	}()
	<-waiting
	c.Feed([]byte("in"))
	if b := <-done; string(b) != "in" {
		t.Fatalf("Read %q", b)
	}
	if len(events) != 2 || events[0] != "leave" || events[1] != "enter" {
		t.Fatalf("gate events %q, want leave, enter", events)
	}
}

// TestLendReclaim: records read from a lent slice come out whole, the
// incomplete record at its end comes back from Reclaim, and lending that
// rest with the next bytes behind it goes on where crypto/tls stopped.
func TestLendReclaim(t *testing.T) {
	p := handshake(t, tls.VersionTLS13, splitter{whole: true})
	p.srv.io.SetBlocking(false)
	p.cli.io.SetBlocking(false)
	if b := p.srv.io.Take(); len(b) != 0 { // nothing left from the handshake
		p.srv.io.Feed(b)
	}
	for range 3 { // the client drops its session tickets
		if _, err := p.client.Read(make([]byte, 64)); err != ErrWouldBlock {
			break
		}
	}
	want := message(3000, 9)
	for i := 0; i < len(want); i += 1000 {
		if _, err := p.client.Write(want[i : i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	out := bytes.Clone(p.cli.io.Output())
	p.cli.io.Consume(len(out))
	ends := recordEnds(t, out)
	cut := ends[1] + 7 // two records and 7 bytes of the third
	buf := make([]byte, 4096)
	var got []byte
	p.srv.io.Lend(out[:cut])
	if n := p.srv.io.Feed([]byte("x")); n != 0 {
		t.Fatalf("Feed during a Lend took %d bytes", n)
	}
	for {
		n, err := p.server.Read(buf)
		got = append(got, buf[:n]...)
		if err == ErrWouldBlock {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// crypto/tls took the 7 bytes of the incomplete record into its own
	// buffer or left them here; Reclaim returns what it left.
	rest := p.srv.io.Reclaim()
	if len(got) != 2000 || len(rest) > 7 {
		t.Fatalf("read %d bytes from two whole records (want 2000), %d left (want ≤ 7)", len(got), len(rest))
	}
	next := append(bytes.Clone(rest), out[cut:]...)
	p.srv.io.Lend(next)
	for {
		n, err := p.server.Read(buf)
		got = append(got, buf[:n]...)
		if err == ErrWouldBlock {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if r := p.srv.io.Reclaim(); len(r) != 0 {
		t.Fatalf("%d bytes left after whole records", len(r))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
}
