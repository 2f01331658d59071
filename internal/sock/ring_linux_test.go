package sock

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// newTestRing returns a ring closed at the end of the test, or skips the
// test where the kernel has none.
func newTestRing(t *testing.T, entries int) *Ring {
	t.Helper()
	r, err := NewRing(entries)
	if errors.Is(err, ErrRingUnavailable) {
		t.Skipf("no io_uring here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// tcpPairs returns n connected loopback TCP pairs (client, server), closed
// at the end of the test, or earlier by closeCli[i].
func tcpPairs(t *testing.T, n int) (cli, srv []int, closeCli []func()) {
	t.Helper()
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	for range n {
		p := dial(t, "tcp4", lfd, addr)
		cli, srv, closeCli = append(cli, p.client), append(srv, p.server), append(closeCli, p.closeClient)
	}
	return cli, srv, closeCli
}

func TestRingBatchesReadsAndWrites(t *testing.T) {
	checkLeaks(t)
	r := newTestRing(t, 64)
	if r.Cap() != 64 {
		t.Fatalf("Cap = %d, want 64", r.Cap())
	}
	const n = 20
	cli, srv, _ := tcpPairs(t, n)
	msgs := make([][]byte, n)
	for i := range n {
		msgs[i] = bytes.Repeat([]byte(fmt.Sprintf("<%d>", i)), i*37+1)
		if k := r.Write(cli[i], msgs[i]); k != i {
			t.Fatalf("Write %d got index %d", i, k)
		}
	}
	if r.Queued() != n {
		t.Fatalf("Queued = %d, want %d", r.Queued(), n)
	}
	for i, res := range r.Submit() {
		if int(res) != len(msgs[i]) {
			t.Fatalf("write %d: result %d, want %d", i, res, len(msgs[i]))
		}
	}
	if r.Queued() != 0 {
		t.Fatalf("Queued = %d after Submit", r.Queued())
	}
	bufs := make([][]byte, n+1)
	for i := range n {
		waitFor(t, srv[i], unix.POLLIN)
		bufs[i] = make([]byte, 4096)
		r.Read(srv[i], bufs[i])
	}
	bufs[n] = make([]byte, 16)
	r.Read(srv[0], bufs[n]) // drained by the read before it
	res := r.Submit()
	if len(res) != n+1 {
		t.Fatalf("%d results for %d reads", len(res), n+1)
	}
	for i := range n {
		got, err := RingResult("read", res[i])
		if err != nil || !bytes.Equal(bufs[i][:got], msgs[i]) {
			t.Fatalf("read %d: %d bytes %q, err %v; want %q", i, got, bufs[i][:got], err, msgs[i])
		}
	}
	if got, err := RingResult("read", res[n]); got != 0 || err != unix.EAGAIN {
		t.Fatalf("read of a drained socket: %d, %v; want EAGAIN at once", got, err)
	}
}

func TestRingEndOfStreamAndErrors(t *testing.T) {
	checkLeaks(t)
	r := newTestRing(t, 8)
	cli, srv, closeCli := tcpPairs(t, 2)
	if err := ShutdownWrite(cli[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv[0], unix.POLLIN)
	// The peer of srv[1] resets: a send to it fails (EPIPE or ECONNRESET,
	// and no SIGPIPE kills the test).
	if err := SetLingerZero(cli[1]); err != nil {
		t.Fatal(err)
	}
	closeCli[1]()
	waitFor(t, srv[1], unix.POLLIN)
	var b [8]byte
	r.Read(srv[0], b[:])
	r.Write(srv[1], []byte("to a reset peer"))
	r.Read(1<<20, b[:]) // not a descriptor
	res := r.Submit()
	if n, err := RingResult("read", res[0]); n != 0 || err != nil {
		t.Fatalf("read at end of stream: %d, %v; want 0, nil", n, err)
	}
	if _, err := RingResult("write", res[1]); !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("write to a reset peer: %v", err)
	}
	if _, err := RingResult("read", res[2]); !errors.Is(err, unix.EBADF) {
		t.Fatalf("read of a bad descriptor: %v", err)
	}
}

func TestRingWriteNeverWaits(t *testing.T) {
	checkLeaks(t)
	r := newTestRing(t, 8)
	_, srv, _ := tcpPairs(t, 1) // the client never reads
	big := make([]byte, 32<<20)
	r.Write(srv[0], big)
	r.Write(srv[0], big)
	res := r.Submit()
	n, err := RingResult("write", res[0])
	if err != nil || n <= 0 || n >= len(big) {
		t.Fatalf("first write: %d, %v; want a short count", n, err)
	}
	if n, err := RingResult("write", res[1]); n != 0 || err != unix.EAGAIN {
		t.Fatalf("write to a full socket: %d, %v; want EAGAIN at once", n, err)
	}
}

func TestRingSubmitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	checkLeaks(t)
	r := newTestRing(t, 16)
	cli, srv, _ := tcpPairs(t, 4)
	msg := []byte("ping")
	buf := make([]byte, 64)
	if a := testing.AllocsPerRun(50, func() {
		for _, c := range cli {
			r.Write(c, msg)
		}
		r.Submit()
		for _, s := range srv {
			waitFor(t, s, unix.POLLIN)
			r.Read(s, buf)
		}
		for _, res := range r.Submit() {
			if res != int32(len(msg)) {
				t.Fatalf("read %d bytes, want %d", res, len(msg))
			}
		}
	}); a != 0 {
		t.Fatalf("a round of writes and reads allocated %.1f times", a)
	}
}

func TestNewRingRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, -1, 3, 8192} {
		if r, err := NewRing(n); err == nil || errors.Is(err, ErrRingUnavailable) {
			if r != nil {
				r.Close()
			}
			t.Errorf("NewRing(%d): %v, want a size error", n, err)
		}
	}
}

func TestRingWritevSendsBuffersInOrder(t *testing.T) {
	checkLeaks(t)
	r := newTestRing(t, 8)
	cli, srv, _ := tcpPairs(t, 3)
	var want [3][]byte
	for i := range 3 {
		var bufs [][]byte
		for j := range RingIovecs - i {
			b := []byte(fmt.Sprintf("[%d.%d]", i, j))
			bufs = append(bufs, b)
			want[i] = append(want[i], b...)
		}
		r.Writev(cli[i], bufs)
	}
	r.Write(cli[0], []byte("!")) // after the sendmsg on the same socket
	res := r.Submit()
	for i := range 3 {
		if int(res[i]) != len(want[i]) {
			t.Fatalf("sendmsg %d: %d, want %d", i, res[i], len(want[i]))
		}
	}
	want[0] = append(want[0], '!')
	for i := range 3 {
		got := make([]byte, 0, len(want[i]))
		for len(got) < len(want[i]) {
			waitFor(t, srv[i], unix.POLLIN)
			n, err := Read(srv[i], got[len(got):cap(got)])
			if err != nil {
				t.Fatal(err)
			}
			got = got[:len(got)+n]
		}
		if !bytes.Equal(got, want[i]) {
			t.Fatalf("socket %d got %q, want %q", i, got, want[i])
		}
	}
	for _, iov := range r.iovs {
		if iov.Base != nil {
			t.Fatal("the ring holds a buffer after the submit")
		}
	}
}

func TestRingFailureHandsOperationsBack(t *testing.T) {
	checkLeaks(t)
	r := newTestRing(t, 8)
	cli, srv, _ := tcpPairs(t, 1)
	if err := r.Break(); err != nil {
		t.Fatal(err)
	}
	r.Write(cli[0], []byte("x"))
	r.Read(srv[0], make([]byte, 8))
	for i, res := range r.Submit() {
		if _, err := RingResult("op", res); err != unix.EINTR {
			t.Fatalf("operation %d after the failure: %v, want EINTR (redo it)", i, err)
		}
	}
	if r.Err() == nil {
		t.Fatal("Err is nil after a failed submit")
	}
	r.Write(cli[0], []byte("y"))
	if res := r.Submit(); len(res) != 1 || res[0] != -int32(unix.EINTR) {
		t.Fatalf("a later submit: %v, want EINTR", res)
	}
	if n, err := Read(srv[0], make([]byte, 8)); n != 0 || err != unix.EAGAIN {
		t.Fatalf("the failed ring wrote %d bytes (%v)", n, err)
	}
}
