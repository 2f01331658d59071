package sock

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
