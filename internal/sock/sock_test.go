package sock

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// checkLeaks fails the test if it leaves descriptors or goroutines behind.
// Register it first, so that its cleanup runs after the test's own.
func checkLeaks(t *testing.T) {
	t.Helper()
	fds := NumFDs()
	gs := runtime.NumGoroutine()
	t.Cleanup(func() {
		if fds >= 0 {
			if now := NumFDs(); now != fds {
				t.Errorf("descriptor leak: %d open before, %d after", fds, now)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > gs && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if now := runtime.NumGoroutine(); now > gs {
			t.Errorf("goroutine leak: %d before, %d after", gs, now)
		}
	})
}

// owned closes fd when the test ends unless the test closed it itself via
// the returned function.
func owned(t *testing.T, fd int) (closeNow func()) {
	done := false
	closeNow = func() {
		if !done {
			done = true
			if err := Close(fd); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(closeNow)
	return closeNow
}

// waitFor blocks (up to 10 s) until fd has one of events.
func waitFor(t *testing.T, fd int, events int16) {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(pfd, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("fd %d: no readiness %#x within 10s", fd, events)
}

// readN reads exactly n bytes from the non-blocking fd.
func readN(t *testing.T, fd, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	buf := make([]byte, 64<<10)
	for len(out) < n {
		m, err := Read(fd, buf[:min(len(buf), n-len(out))])
		if err == unix.EAGAIN {
			waitFor(t, fd, unix.POLLIN)
			continue
		}
		if err != nil {
			t.Fatalf("read after %d of %d bytes: %v", len(out), n, err)
		}
		if m == 0 {
			t.Fatalf("EOF after %d of %d bytes", len(out), n)
		}
		out = append(out, buf[:m]...)
	}
	return out
}

func writeAll(t *testing.T, fd int, p []byte) {
	t.Helper()
	for len(p) > 0 {
		n, err := Write(fd, p)
		if err == unix.EAGAIN {
			waitFor(t, fd, unix.POLLOUT)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}

func checkNonblockCloexec(t *testing.T, fd int) {
	t.Helper()
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_NONBLOCK == 0 {
		t.Errorf("fd %d is blocking", fd)
	}
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d is not close-on-exec", fd)
	}
}

// skipNoIPv6 skips the test when the machine has no IPv6 loopback.
func skipNoIPv6(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skipf("IPv6 unavailable: %v", err)
	}
}

// connPair is a connected pair made by Listen, Connect and Accept.
type connPair struct {
	client, server int
	closeClient    func()
	closeServer    func()
}

// dial connects to the listener lfd at addr over network and accepts the
// connection, checking everything the contract promises on the way.
func dial(t *testing.T, network string, lfd int, addr net.Addr) connPair {
	t.Helper()
	c, remote, err := Connect(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	closeC := owned(t, c)
	checkNonblockCloexec(t, c)
	switch a := addr.(type) {
	case *net.TCPAddr:
		if remote != a.AddrPort() {
			t.Errorf("Connect remote = %v, want %v", remote, a.AddrPort())
		}
	case *net.UnixAddr:
		if remote.IsValid() {
			t.Errorf("unix Connect remote = %v, want zero", remote)
		}
	}
	waitFor(t, c, unix.POLLOUT)
	if err := SocketError(c); err != nil {
		t.Fatalf("connect outcome: %v", err)
	}
	waitFor(t, lfd, unix.POLLIN)
	s, peer, err := Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	closeS := owned(t, s)
	checkNonblockCloexec(t, s)
	if _, ok := addr.(*net.TCPAddr); ok {
		local, err := LocalAddr(c)
		if err != nil {
			t.Fatal(err)
		}
		if peer != local || peer.Port() == 0 {
			t.Errorf("Accept remote = %v, want the client's local address %v", peer, local)
		}
	} else if peer.IsValid() {
		t.Errorf("unix Accept remote = %v, want zero", peer)
	}
	return connPair{client: c, server: s, closeClient: closeC, closeServer: closeS}
}

// testStream runs the listen / accept / connect / exchange scenario.
func testStream(t *testing.T, network, address string) {
	checkLeaks(t)
	lfd, addr, err := Listen(network, address, ListenConfig{})
	if network == "tcp6" || network == "tcp" && address[0] == '[' {
		skipNoIPv6(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	checkNonblockCloexec(t, lfd)
	if a, ok := addr.(*net.TCPAddr); ok {
		if a.Port == 0 {
			t.Fatalf("Listen returned port 0: %v", a)
		}
		local, err := LocalAddr(lfd)
		if err != nil || local != a.AddrPort() {
			t.Fatalf("LocalAddr = %v, %v; Listen said %v", local, err, a)
		}
	}
	// Nothing to accept yet: a bare EAGAIN and no descriptor.
	if nfd, _, err := Accept(lfd); err != unix.EAGAIN || nfd != -1 {
		t.Fatalf("Accept on an idle listener = %d, %v; want -1, bare EAGAIN", nfd, err)
	}
	p := dial(t, network, lfd, addr)
	if n, err := Read(p.server, make([]byte, 8)); err != unix.EAGAIN || n != 0 {
		t.Fatalf("Read with nothing sent = %d, %v; want 0, bare EAGAIN", n, err)
	}
	writeAll(t, p.client, []byte("hello, server"))
	if got := readN(t, p.server, 13); string(got) != "hello, server" {
		t.Fatalf("server read %q", got)
	}
	writeAll(t, p.server, []byte("hello, client"))
	if got := readN(t, p.client, 13); string(got) != "hello, client" {
		t.Fatalf("client read %q", got)
	}
}

func TestStreamTCP4(t *testing.T) { testStream(t, "tcp", "127.0.0.1:0") }
func TestStreamTCP6(t *testing.T) { testStream(t, "tcp6", "[::1]:0") }
func TestStreamTCPv6Literal(t *testing.T) {
	testStream(t, "tcp", "[::1]:0")
}
func TestStreamUnix(t *testing.T) {
	testStream(t, "unix", filepath.Join(t.TempDir(), "s.sock"))
}

// TestAcceptAll connects several clients and checks that Accept yields each
// exactly once, with its address, then EAGAIN.
func TestAcceptAll(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{Backlog: 16})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	want := map[netip.AddrPort]bool{}
	for range 5 {
		c, _, err := Connect("tcp4", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		owned(t, c)
		waitFor(t, c, unix.POLLOUT)
		if err := SocketError(c); err != nil {
			t.Fatal(err)
		}
		local, err := LocalAddr(c)
		if err != nil {
			t.Fatal(err)
		}
		want[local] = true
	}
	got := map[netip.AddrPort]bool{}
	for len(got) < len(want) {
		s, peer, err := Accept(lfd)
		if err == unix.EAGAIN {
			waitFor(t, lfd, unix.POLLIN)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		owned(t, s)
		if got[peer] || !want[peer] {
			t.Fatalf("Accept returned unexpected or repeated peer %v", peer)
		}
		got[peer] = true
	}
	if _, _, err := Accept(lfd); err != unix.EAGAIN {
		t.Fatalf("Accept after draining = %v, want EAGAIN", err)
	}
}

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

func TestReusePort(t *testing.T) {
	checkLeaks(t)
	fd1, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{ReusePort: true})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, fd1)
	fd2, addr2, err := Listen("tcp4", addr.String(), ListenConfig{ReusePort: true})
	if err != nil {
		t.Fatalf("second SO_REUSEPORT listener on %v: %v", addr, err)
	}
	owned(t, fd2)
	if addr2.String() != addr.String() {
		t.Fatalf("second listener bound %v, want %v", addr2, addr)
	}
	v, err := unix.GetsockoptInt(fd2, unix.SOL_SOCKET, unix.SO_REUSEPORT)
	if err != nil || v == 0 {
		t.Fatalf("SO_REUSEPORT = %d, %v", v, err)
	}
	// Without the option the port is taken.
	fd3, _, err := Listen("tcp4", addr.String(), ListenConfig{})
	if err == nil {
		Close(fd3)
		t.Fatal("a listener without SO_REUSEPORT bound a port in use")
	}
	if !errors.Is(err, unix.EADDRINUSE) || fd3 != -1 {
		t.Fatalf("Listen on a used port = %d, %v; want -1, EADDRINUSE", fd3, err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "bind" {
		t.Fatalf("error %v does not name bind", err)
	}
}

func testUDP(t *testing.T, network, address string) {
	checkLeaks(t)
	a, aAddr, err := ListenPacket(network, address, false)
	if network == "udp6" {
		skipNoIPv6(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	owned(t, a)
	b, bAddr, err := ListenPacket(network, address, false)
	if err != nil {
		t.Fatal(err)
	}
	owned(t, b)
	checkNonblockCloexec(t, a)
	ap, bp := aAddr.(*net.UDPAddr).AddrPort(), bAddr.(*net.UDPAddr).AddrPort()
	if ap.Port() == 0 || ap == bp {
		t.Fatalf("bound addresses %v and %v", ap, bp)
	}
	buf := make([]byte, 64)
	if n, _, err := RecvFrom(b, buf); err != unix.EAGAIN || n != 0 {
		t.Fatalf("RecvFrom on an empty socket = %d, %v; want bare EAGAIN", n, err)
	}
	for i, msg := range []string{"one", "two", "three"} {
		if n, err := SendTo(a, []byte(msg), bp); err != nil || n != len(msg) {
			t.Fatalf("SendTo #%d = %d, %v", i, n, err)
		}
	}
	for _, msg := range []string{"one", "two", "three"} {
		waitFor(t, b, unix.POLLIN)
		n, from, err := RecvFrom(b, buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != msg || from != ap {
			t.Fatalf("RecvFrom = %q from %v, want %q from %v", buf[:n], from, msg, ap)
		}
	}
	// A datagram larger than the buffer is truncated, not split.
	if _, err := SendTo(b, []byte("0123456789"), ap); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, unix.POLLIN)
	n, from, err := RecvFrom(a, buf[:4])
	if err != nil || string(buf[:n]) != "0123" || from != bp {
		t.Fatalf("truncated RecvFrom = %q from %v, %v", buf[:n], from, err)
	}
	if _, _, err := RecvFrom(a, buf); err != unix.EAGAIN {
		t.Fatalf("the rest of a truncated datagram was delivered: %v", err)
	}
}

func TestUDP4(t *testing.T) { testUDP(t, "udp4", "127.0.0.1:0") }
func TestUDP6(t *testing.T) { testUDP(t, "udp6", "[::1]:0") }

// TestUDPDualStack sends from an IPv4 socket to a dual-stack wildcard
// socket: the sender shows up unmapped, and replying to that IPv4 address
// through the IPv6 socket works.
func TestUDPDualStack(t *testing.T) {
	checkLeaks(t)
	d, dAddr, err := ListenPacket("udp", ":0", false)
	if err != nil {
		t.Fatal(err)
	}
	owned(t, d)
	if got := dAddr.(*net.UDPAddr); got.IP.To4() != nil {
		t.Skipf("no dual-stack socket on this machine (bound %v)", got)
	}
	v4, v4Addr, err := ListenPacket("udp4", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	owned(t, v4)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), dAddr.(*net.UDPAddr).AddrPort().Port())
	if _, err := SendTo(v4, []byte("hi"), to); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, unix.POLLIN)
	buf := make([]byte, 16)
	n, from, err := RecvFrom(d, buf)
	if err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("RecvFrom = %q, %v", buf[:n], err)
	}
	if want := v4Addr.(*net.UDPAddr).AddrPort(); from != want {
		t.Fatalf("sender %v, want unmapped %v", from, want)
	}
	if _, err := SendTo(d, []byte("back"), from); err != nil {
		t.Fatalf("reply to IPv4 through the dual-stack socket: %v", err)
	}
	waitFor(t, v4, unix.POLLIN)
	if n, _, err := RecvFrom(v4, buf); err != nil || string(buf[:n]) != "back" {
		t.Fatalf("reply = %q, %v", buf[:n], err)
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

func TestLingerZeroResets(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	p := dial(t, "tcp", lfd, addr)
	if err := SetLingerZero(p.client); err != nil {
		t.Fatal(err)
	}
	l, err := unix.GetsockoptLinger(p.client, unix.SOL_SOCKET, unix.SO_LINGER)
	if err != nil || l.Onoff == 0 || l.Linger != 0 {
		t.Fatalf("SO_LINGER = %+v, %v", l, err)
	}
	p.closeClient()
	waitFor(t, p.server, unix.POLLIN)
	n, err := Read(p.server, make([]byte, 8))
	if n != 0 || !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("Read after peer abort = %d, %v; want ECONNRESET", n, err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "read" {
		t.Fatalf("error %v does not name read", err)
	}
}

func TestConnectRefused(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	Close(lfd) // the port is now closed
	c, _, err := Connect("tcp4", addr.String())
	if err != nil {
		// Allowed by the contract: refused before connect(2) returned.
		if !errors.Is(err, unix.ECONNREFUSED) || c != -1 {
			t.Fatalf("Connect = %d, %v", c, err)
		}
		return
	}
	owned(t, c)
	waitFor(t, c, unix.POLLOUT)
	err = SocketError(c)
	if !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("SocketError = %v, want ECONNREFUSED", err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "connect" {
		t.Fatalf("error %v does not name connect", err)
	}
	if err := SocketError(c); err != nil {
		t.Fatalf("SO_ERROR not cleared by reading it: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name string
		run  func() (int, error)
	}{
		{name: "listen udp", run: func() (int, error) { fd, _, err := Listen("udp", "127.0.0.1:0", ListenConfig{}); return fd, err }},
		{name: "negative backlog", run: func() (int, error) {
			fd, _, err := Listen("tcp", "127.0.0.1:0", ListenConfig{Backlog: -1})
			return fd, err
		}},
		{name: "bad port", run: func() (int, error) { fd, _, err := Listen("tcp", "127.0.0.1:99999", ListenConfig{}); return fd, err }},
		{name: "v6 literal on tcp4", run: func() (int, error) { fd, _, err := Listen("tcp4", "[::1]:0", ListenConfig{}); return fd, err }},
		{name: "empty unix path", run: func() (int, error) { fd, _, err := Listen("unix", "", ListenConfig{}); return fd, err }},
		{name: "packet tcp", run: func() (int, error) { fd, _, err := ListenPacket("tcp", "127.0.0.1:0", false); return fd, err }},
		{name: "connect udp", run: func() (int, error) { fd, _, err := Connect("udp", "127.0.0.1:1"); return fd, err }},
		{name: "connect missing unix", run: func() (int, error) {
			fd, _, err := Connect("unix", filepath.Join(t.TempDir(), "absent"))
			return fd, err
		}},
	}
	for _, c := range cases {
		fd, err := c.run()
		if err == nil {
			Close(fd)
			t.Errorf("%s: no error", c.name)
			continue
		}
		if fd != -1 {
			t.Errorf("%s: fd %d with error %v", c.name, fd, err)
		}
		var se *os.SyscallError
		if !errors.As(err, &se) && !bytes.HasPrefix([]byte(err.Error()), []byte("sock: ")) {
			t.Errorf("%s: error %q has neither the package prefix nor a system call name", c.name, err)
		}
	}
}

func TestOptions(t *testing.T) {
	checkLeaks(t)
	lfd, addr, err := Listen("tcp", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	p := dial(t, "tcp", lfd, addr)
	get := func(level, opt int) int {
		t.Helper()
		v, err := unix.GetsockoptInt(p.server, level, opt)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v, _ := unix.GetsockoptInt(p.client, unix.IPPROTO_TCP, unix.TCP_NODELAY); v == 0 {
		t.Error("Connect did not set TCP_NODELAY")
	}
	for _, on := range []bool{true, false} {
		if err := SetNoDelay(p.server, on); err != nil {
			t.Fatal(err)
		}
		if got := get(unix.IPPROTO_TCP, unix.TCP_NODELAY) != 0; got != on {
			t.Errorf("TCP_NODELAY = %v after SetNoDelay(%v)", got, on)
		}
	}
	if err := SetKeepAlive(p.server, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if get(unix.SOL_SOCKET, unix.SO_KEEPALIVE) == 0 {
		t.Error("SO_KEEPALIVE off after SetKeepAlive(30s)")
	}
	checkKeepAlivePeriod(t, p.server, 30)
	if err := SetKeepAlive(p.server, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	checkKeepAlivePeriod(t, p.server, 2) // rounded up
	if err := SetKeepAlive(p.server, 0); err != nil {
		t.Fatal(err)
	}
	if get(unix.SOL_SOCKET, unix.SO_KEEPALIVE) != 0 {
		t.Error("SO_KEEPALIVE on after SetKeepAlive(0)")
	}
	if err := SetSendBuffer(p.server, 64<<10); err != nil {
		t.Fatal(err)
	}
	if v := get(unix.SOL_SOCKET, unix.SO_SNDBUF); v < 64<<10 {
		t.Errorf("SO_SNDBUF = %d after SetSendBuffer(64 KiB)", v)
	}
	if err := SetRecvBuffer(p.server, 32<<10); err != nil {
		t.Fatal(err)
	}
	if v := get(unix.SOL_SOCKET, unix.SO_RCVBUF); v < 32<<10 {
		t.Errorf("SO_RCVBUF = %d after SetRecvBuffer(32 KiB)", v)
	}
	// Errors name the system call.
	err = SetNoDelay(-1, true)
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "setsockopt" || !errors.Is(err, unix.EBADF) {
		t.Errorf("SetNoDelay(-1) = %v", err)
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		err       error
		temporary bool
		resource  bool
	}{
		{err: nil},
		{err: errors.New("sock: other")},
		{err: unix.EAGAIN},
		{err: unix.ECONNABORTED, temporary: true},
		{err: os.NewSyscallError("accept4", unix.ECONNABORTED), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EPROTO), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EPERM), temporary: true},
		{err: fmt.Errorf("wrapped: %w", os.NewSyscallError("accept4", unix.ENETUNREACH)), temporary: true},
		{err: os.NewSyscallError("accept4", unix.EMFILE), resource: true},
		{err: unix.ENFILE, resource: true},
		{err: os.NewSyscallError("accept4", unix.ENOBUFS), resource: true},
		{err: fmt.Errorf("wrapped: %w", unix.ENOMEM), resource: true},
		{err: os.NewSyscallError("accept4", unix.EBADF)},
		{err: os.NewSyscallError("accept4", unix.EINVAL)},
	}
	for _, c := range cases {
		if got := IsTemporaryAcceptError(c.err); got != c.temporary {
			t.Errorf("IsTemporaryAcceptError(%v) = %v", c.err, got)
		}
		if got := IsResourceError(c.err); got != c.resource {
			t.Errorf("IsResourceError(%v) = %v", c.err, got)
		}
	}
}

// streamPair is a connected pair for benchmarks, without test checks.
func streamPair(tb testing.TB) (client, server, listener int) {
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	c, _, err := Connect("tcp4", addr.String())
	if err != nil {
		tb.Fatal(err)
	}
	for {
		s, _, err := Accept(lfd)
		if err == unix.EAGAIN {
			unix.Poll([]unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}, 1000)
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		return c, s, lfd
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

func BenchmarkAccept(b *testing.B) {
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer Close(lfd)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c, _, err := Connect("tcp4", addr.String())
		if err != nil {
			b.Fatal(err)
		}
		unix.Poll([]unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}, 1000)
		b.StartTimer()
		s, _, err := Accept(lfd)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		Close(s)
		Close(c)
		b.StartTimer()
	}
}

func BenchmarkUDPSendRecv(b *testing.B) {
	a, _, err := ListenPacket("udp4", "127.0.0.1:0", false)
	if err != nil {
		b.Fatal(err)
	}
	defer Close(a)
	r, rAddr, err := ListenPacket("udp4", "127.0.0.1:0", false)
	if err != nil {
		b.Fatal(err)
	}
	defer Close(r)
	to := rAddr.(*net.UDPAddr).AddrPort()
	msg := make([]byte, 64)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SendTo(a, msg, to); err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := RecvFrom(r, buf)
			if err == nil {
				break
			}
			if err != unix.EAGAIN {
				b.Fatal(err)
			}
		}
	}
}
