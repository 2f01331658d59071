package sock

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FuzzRawSockaddr round-trips addresses through the raw sockaddr codec used
// by Accept, RecvFrom and SendTo, and checks the bytes against the kernel
// layout (family, big-endian port, address).
func FuzzRawSockaddr(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, uint16(8080))
	f.Add([]byte{0, 0, 0, 0}, uint16(0))
	f.Add(netip.IPv6Loopback().AsSlice(), uint16(443))
	f.Add(netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(), uint16(65535))
	f.Add(netip.MustParseAddr("fe80::1").AsSlice(), uint16(1))
	f.Fuzz(func(t *testing.T, ip []byte, port uint16) {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		ap := netip.AddrPortFrom(addr, port)
		var rsa unix.RawSockaddrAny
		l, err := putRaw(&rsa, ap)
		if err != nil {
			t.Fatal(err)
		}
		raw := (*[unix.SizeofSockaddrAny]byte)(unsafe.Pointer(&rsa))
		// sa_family is host-endian; the port is big-endian right after it.
		if got := binary.BigEndian.Uint16(raw[2:4]); got != port {
			t.Fatalf("port bytes %x, want %d", raw[2:4], port)
		}
		switch {
		case addr.Is4():
			if rsa.Addr.Family != unix.AF_INET || l != unix.SizeofSockaddrInet4 {
				t.Fatalf("IPv4 %v encoded as family %d length %d", addr, rsa.Addr.Family, l)
			}
			if a4 := addr.As4(); string(raw[4:8]) != string(a4[:]) {
				t.Fatalf("address bytes %x, want %x", raw[4:8], a4)
			}
		default:
			if rsa.Addr.Family != unix.AF_INET6 || l != unix.SizeofSockaddrInet6 {
				t.Fatalf("IPv6 %v encoded as family %d length %d", addr, rsa.Addr.Family, l)
			}
			if a16 := addr.As16(); string(raw[8:24]) != string(a16[:]) {
				t.Fatalf("address bytes %x, want %x", raw[8:24], a16)
			}
		}
		back := rawToAddrPort(&rsa)
		want := netip.AddrPortFrom(addr.Unmap(), port) // mapped IPv4 comes back unmapped
		if back != want {
			t.Fatalf("round trip %v -> %v, want %v", ap, back, want)
		}
	})
}
