package sock

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// advance drops the first n bytes of bufs, as a loop does after a partial
// writev.
func advance(bufs [][]byte, n int) [][]byte {
	for n > 0 && len(bufs) > 0 {
		if n < len(bufs[0]) {
			bufs[0] = bufs[0][n:]
			return bufs
		}
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	for len(bufs) > 0 && len(bufs[0]) == 0 {
		bufs = bufs[1:]
	}
	return bufs
}

func TestWritevManyBuffers(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	p := dial(t, "tcp", lfd, addr)

	// 1500 buffers of 1..7 bytes, every tenth one empty.
	var bufs [][]byte
	var all []byte
	firstBatch := 0 // bytes in the first MaxIovecs non-empty buffers
	nonEmpty := 0
	for i := range 1500 {
		var b []byte
		if i%10 != 3 {
			b = bytes.Repeat([]byte{byte('A' + i%26)}, 1+i%7)
			if nonEmpty < MaxIovecs {
				firstBatch += len(b)
			}
			nonEmpty++
		}
		bufs = append(bufs, b)
		all = append(all, b...)
	}
	if nonEmpty <= MaxIovecs {
		t.Fatalf("test needs more than %d non-empty buffers, has %d", MaxIovecs, nonEmpty)
	}
	var w Writer
	n, err := w.Writev(p.client, bufs)
	if err != nil {
		t.Fatal(err)
	}
	if n != firstBatch {
		t.Fatalf("first Writev wrote %d bytes, want %d (the first %d non-empty buffers)", n, firstBatch, MaxIovecs)
	}
	rest := advance(bufs, n)
	total := n
	for len(rest) > 0 {
		n, err := w.Writev(p.client, rest)
		if err == unix.EAGAIN {
			waitFor(t, p.client, unix.POLLOUT)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
		rest = advance(rest, n)
	}
	if total != len(all) {
		t.Fatalf("wrote %d bytes, want %d", total, len(all))
	}
	if got := readN(t, p.server, len(all)); !bytes.Equal(got, all) {
		t.Fatal("bytes read differ from the buffers written")
	}
	// Nothing to write: no system call, no error.
	if n, err := w.Writev(p.client, [][]byte{nil, {}}); n != 0 || err != nil {
		t.Fatalf("Writev of empty buffers = %d, %v", n, err)
	}
	if n, err := w.Writev(p.client, nil); n != 0 || err != nil {
		t.Fatalf("Writev(nil) = %d, %v", n, err)
	}
	// The Writer does not keep the caller's buffers reachable.
	for _, iov := range w.iovecsForTest() {
		if iov != nil {
			t.Fatal("Writer retains a pointer into a written buffer")
		}
	}
}

// TestWritevFull fills a small send buffer: Writev reports a partial write,
// then a bare EAGAIN, and every byte still arrives in order.
func TestWritevFull(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	p := dial(t, "tcp", lfd, addr)
	if err := SetSendBuffer(p.client, 4096); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 32<<10)
	var all []byte
	var bufs [][]byte
	for i := range 64 {
		b := bytes.Repeat([]byte{byte(i)}, len(chunk))
		bufs = append(bufs, b)
		all = append(all, b...)
	}
	var w Writer
	sent := 0
	sawPartial, sawEAGAIN := false, false
	for sent < len(all) && !sawEAGAIN {
		n, err := w.Writev(p.client, bufs)
		if err == unix.EAGAIN {
			if n != 0 {
				t.Fatalf("EAGAIN with n=%d", n)
			}
			sawEAGAIN = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n < len(all)-sent {
			sawPartial = true
		}
		sent += n
		bufs = advance(bufs, n)
	}
	if !sawPartial || !sawEAGAIN {
		t.Fatalf("2 MiB into a 4 KiB send buffer: partial=%v EAGAIN=%v", sawPartial, sawEAGAIN)
	}
	done := make(chan []byte)
	go func() {
		got := make([]byte, 0, len(all))
		buf := make([]byte, 64<<10)
		for len(got) < len(all) {
			n, err := Read(p.server, buf)
			if err == unix.EAGAIN {
				pfd := []unix.PollFd{{Fd: int32(p.server), Events: unix.POLLIN}}
				unix.Poll(pfd, 100)
				continue
			}
			if err != nil || n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		done <- got
	}()
	for len(bufs) > 0 {
		n, err := w.Writev(p.client, bufs)
		if err == unix.EAGAIN {
			waitFor(t, p.client, unix.POLLOUT)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		bufs = advance(bufs, n)
	}
	if got := <-done; !bytes.Equal(got, all) {
		t.Fatalf("peer got %d bytes, want %d identical", len(got), len(all))
	}
}

func TestShutdownWriteGivesEOF(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	p := dial(t, "tcp", lfd, addr)
	writeAll(t, p.client, []byte("last words"))
	if err := ShutdownWrite(p.client); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p.server, 10); string(got) != "last words" {
		t.Fatalf("read %q", got)
	}
	waitFor(t, p.server, unix.POLLIN)
	if n, err := Read(p.server, make([]byte, 8)); n != 0 || err != nil {
		t.Fatalf("Read after peer's ShutdownWrite = %d, %v; want 0, nil (EOF)", n, err)
	}
	// Half-closed: the other direction still works.
	writeAll(t, p.server, []byte("ack"))
	if got := readN(t, p.client, 3); string(got) != "ack" {
		t.Fatalf("client read %q", got)
	}
	if _, err := Write(p.client, []byte("x")); !errors.Is(err, unix.EPIPE) {
		t.Fatalf("Write after ShutdownWrite = %v, want EPIPE", err)
	}
}

func BenchmarkWriteRead(b *testing.B) {
	c, s, l := streamPair(b)
	defer Close(l)
	defer Close(c)
	defer Close(s)
	msg := make([]byte, 64)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Write(c, msg); err != nil {
			b.Fatal(err)
		}
		for {
			_, err := Read(s, buf)
			if err == nil {
				break
			}
			if err != unix.EAGAIN {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadEAGAIN(b *testing.B) {
	c, s, l := streamPair(b)
	defer Close(l)
	defer Close(c)
	defer Close(s)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(s, buf); err != unix.EAGAIN {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritev16(b *testing.B) {
	c, s, l := streamPair(b)
	defer Close(l)
	defer Close(c)
	defer Close(s)
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 64)
	}
	buf := make([]byte, 4096)
	var w Writer
	b.ReportAllocs()
	b.SetBytes(16 * 64)
	for b.Loop() {
		if n, err := w.Writev(c, bufs); err != nil || n != 16*64 {
			b.Fatal(n, err)
		}
		for got := 0; got < 16*64; {
			n, err := Read(s, buf)
			if err == unix.EAGAIN {
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}
