package sock

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestZeroAllocs checks the Linux promise: the per-packet paths allocate
// nothing, on success and on EAGAIN. (The race detector allocates on its
// own, so the test needs a normal build.)
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	checkLeaks(t)
	lfd, addr, err := Listen("tcp4", "127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	owned(t, lfd)
	const runs = 50
	var clients []int
	for range runs + 1 { // AllocsPerRun calls once more to warm up
		c, _, err := Connect("tcp4", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		owned(t, c)
		clients = append(clients, c)
	}
	accepted := 0
	if a := testing.AllocsPerRun(runs, func() {
		for {
			s, _, err := Accept(lfd)
			if err == unix.EAGAIN {
				unix.Poll([]unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}, 1000)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(s)
			accepted++
			return
		}
	}); a != 0 {
		t.Errorf("Accept: %v allocations per call", a)
	}
	if accepted != runs+1 {
		t.Fatalf("accepted %d connections, want %d", accepted, runs+1)
	}
	if a := testing.AllocsPerRun(runs, func() {
		if _, _, err := Accept(lfd); err != unix.EAGAIN {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Accept (EAGAIN): %v allocations per call", a)
	}

	p := dial(t, "tcp", lfd, addr)
	bufs := [][]byte{[]byte("ab"), nil, []byte("cde")}
	var w Writer
	w.Writev(p.client, bufs) // allocates the iovec array once
	buf := make([]byte, 64)
	if a := testing.AllocsPerRun(runs, func() {
		if n, err := w.Writev(p.client, bufs); n != 5 || err != nil {
			t.Fatal(n, err)
		}
	}); a != 0 {
		t.Errorf("Writev: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(runs, func() {
		if _, err := Write(p.client, bufs[0]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Write: %v allocations per call", a)
	}
	readN(t, p.server, 5+(5+2)*(runs+1))
	if a := testing.AllocsPerRun(runs, func() {
		if _, err := Read(p.server, buf); err != unix.EAGAIN {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Read (EAGAIN): %v allocations per call", a)
	}

	u, uAddr, err := ListenPacket("udp4", "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	owned(t, u)
	to := uAddr.(*net.UDPAddr).AddrPort()
	if a := testing.AllocsPerRun(runs, func() {
		if _, err := SendTo(u, buf[:8], to); err != nil {
			t.Fatal(err)
		}
		waitFor(t, u, unix.POLLIN)
	}); a != 0 {
		t.Errorf("SendTo: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(runs, func() {
		if n, from, err := RecvFrom(u, buf); n != 8 || from != to || err != nil {
			t.Fatal(n, from, err)
		}
	}); a != 0 {
		t.Errorf("RecvFrom: %v allocations per call", a)
	}
}
