package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSocketPairReadiness(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	const tag = 11
	if err := p.Add(a, tag); err != nil {
		t.Fatal(err)
	}
	// Registering a socket with room to write reports Writable at once.
	if f := waitTag(t, p, tag, Writable); f&(Readable|HangUp|Error) != 0 {
		t.Fatalf("fresh socket reported %v", f)
	}
	settle(t, p)
	writeAll(t, b, "ping")
	f := waitTag(t, p, tag, Readable)
	if f&(ReadHangUp|HangUp|Error) != 0 {
		t.Fatalf("data arrival reported %v", f)
	}
	if got := readAll(t, a); got != "ping" {
		t.Fatalf("read %q, want %q", got, "ping")
	}
}

func TestEdgeTriggered(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	const tag = 5
	if err := p.Add(a, tag); err != nil {
		t.Fatal(err)
	}
	settle(t, p)

	writeAll(t, b, "abc")
	waitTag(t, p, tag, Readable)
	// Not drained, but no new data: edge-triggered means no new report.
	if got := poll(t, p, 20*time.Millisecond); len(got) != 0 {
		t.Fatalf("undrained socket reported again without new data: %v", got)
	}
	// New data is a new edge, even though older data is still unread.
	writeAll(t, b, "de")
	waitTag(t, p, tag, Readable)
	if got := poll(t, p, 0); len(got) != 0 {
		t.Fatalf("one arrival reported twice: %v", got)
	}
	if got := readAll(t, a); got != "abcde" {
		t.Fatalf("read %q, want %q", got, "abcde")
	}
	// Reading is not an edge.
	if got := poll(t, p, 20*time.Millisecond); len(got) != 0 {
		t.Fatalf("drained socket reported: %v", got)
	}
}

func TestPipe(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := fds[0], fds[1]
	closeLater(t, r)
	wClosed := false
	t.Cleanup(func() {
		if !wClosed {
			unix.Close(w)
		}
	})
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	const rTag, wTag = 100, 200
	if err := p.Add(r, rTag); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(w, wTag); err != nil {
		t.Fatal(err)
	}
	if f := waitTag(t, p, wTag, Writable); f&Readable != 0 {
		t.Fatalf("write end reported %v", f)
	}
	settle(t, p)

	writeAll(t, w, "hi")
	if f := waitTag(t, p, rTag, Readable); f&(HangUp|ReadHangUp|Error) != 0 {
		t.Fatalf("read end reported %v", f)
	}
	if err := p.Del(w); err != nil {
		t.Fatal(err)
	}
	unix.Close(w)
	wClosed = true
	// The writer went away: the read end reports the hang-up (EPOLLHUP on
	// epoll, EV_EOF on kqueue) and still yields the buffered bytes, then EOF.
	f := waitTag(t, p, rTag, Readable)
	for f&(HangUp|ReadHangUp) == 0 {
		f |= waitTag(t, p, rTag, Readable)
	}
	if got := readAll(t, r); got != "hi" {
		t.Fatalf("read %q, want %q", got, "hi")
	}
	if n, err := unix.Read(r, make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("read after writer closed: n=%d err=%v, want EOF", n, err)
	}
}

func TestReadHangUp(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 3); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	writeAll(t, b, "bye")
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	f := waitTag(t, p, 3, Readable|ReadHangUp)
	if f&(HangUp|Error) != 0 {
		t.Fatalf("half-close reported %v; the write side is still open", f)
	}
	if got := readAll(t, a); got != "bye" {
		t.Fatalf("read %q, want %q", got, "bye")
	}
	// The half-closed side can still send.
	writeAll(t, a, "ok")
	if got := readAll(t, b); got != "ok" {
		t.Fatalf("peer read %q, want %q", got, "ok")
	}
}

// tcpPair returns a connected loopback TCP pair, both non-blocking. The
// server end is closed by the test's cleanup, the client end by the caller.
func tcpPair(t *testing.T) (client, server int) {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		t.Fatal(err)
	}
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(client, sa); err != nil {
		unix.Close(client)
		t.Fatal(err)
	}
	server, _, err = unix.Accept(ln)
	if err != nil {
		unix.Close(client)
		t.Fatal(err)
	}
	closeLater(t, server)
	for _, fd := range []int{client, server} {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(client)
			t.Fatal(err)
		}
	}
	return client, server
}

func TestPeerReset(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	client, server := tcpPair(t)
	const tag = 0x77
	if err := p.Add(server, tag); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	err := unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	if cerr := unix.Close(client); cerr != nil { // with linger 0: sends RST
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	f := waitTag(t, p, tag, Readable|Error)
	for f&(HangUp|ReadHangUp) == 0 {
		f |= waitTag(t, p, tag, Readable)
	}
	soErr, err := unix.GetsockoptInt(server, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		t.Fatal(err)
	}
	if unix.Errno(soErr) != unix.ECONNRESET {
		t.Fatalf("SO_ERROR = %v, want ECONNRESET", unix.Errno(soErr))
	}
}
