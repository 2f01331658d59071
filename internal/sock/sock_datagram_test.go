package sock

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

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
