package sock

import (
	"bytes"
	"errors"
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
