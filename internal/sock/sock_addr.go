package sock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// inetAddr is a resolved internet socket address with the family to open
// the socket in.
type inetAddr struct {
	family int // unix.AF_INET or unix.AF_INET6
	ap     netip.AddrPort
	scope  uint32 // IPv6 zone as an interface index
	v6only bool   // for AF_INET6: set IPV6_V6ONLY
}

// sockaddr returns the unix.Sockaddr for a; it allocates and is used only
// on the set-up paths.
func (a inetAddr) sockaddr() unix.Sockaddr {
	if a.family == unix.AF_INET {
		return &unix.SockaddrInet4{Port: int(a.ap.Port()), Addr: a.ap.Addr().Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.ap.Port()), ZoneId: a.scope, Addr: a.ap.Addr().As16()}
}

// resolve turns network and address, as net.Listen and net.Dial take them,
// into an inetAddr. kind is "tcp" or "udp"; listening chooses what an empty
// host means: the wildcard address for a listener, the loopback address for
// a dialer. Host names go through the standard resolver and may block.
func resolve(kind, network, address string, listening bool) (inetAddr, error) {
	var ip net.IP
	var port int
	var zone string
	switch kind {
	case "tcp":
		a, err := net.ResolveTCPAddr(network, address)
		if err != nil {
			return inetAddr{}, fmt.Errorf("sock: %w", err)
		}
		ip, port, zone = a.IP, a.Port, a.Zone
	default:
		a, err := net.ResolveUDPAddr(network, address)
		if err != nil {
			return inetAddr{}, fmt.Errorf("sock: %w", err)
		}
		ip, port, zone = a.IP, a.Port, a.Zone
	}
	v6 := network == kind+"6"
	v4 := network == kind+"4"
	var out inetAddr
	switch {
	case ip == nil && listening:
		// Empty host: the wildcard. Plain "tcp"/"udp" listens dual-stack
		// on [::] (IPV6_V6ONLY=0); openSocket falls back to 0.0.0.0 where
		// IPv6 is unavailable.
		if v4 {
			out = inetAddr{family: unix.AF_INET, ap: netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))}
		} else {
			out = inetAddr{family: unix.AF_INET6, ap: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)), v6only: v6}
		}
	case ip == nil:
		// Empty host when dialing: the local system.
		if v6 {
			out = inetAddr{family: unix.AF_INET6, ap: netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port)), v6only: true}
		} else {
			out = inetAddr{family: unix.AF_INET, ap: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))}
		}
	case ip.To4() != nil && !v6:
		out = inetAddr{family: unix.AF_INET, ap: netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip.To4())), uint16(port))}
	default:
		out = inetAddr{family: unix.AF_INET6, ap: netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip.To16())), uint16(port)), v6only: v6}
		if zone != "" {
			idx, err := zoneIndex(zone)
			if err != nil {
				return inetAddr{}, err
			}
			out.scope = idx
		}
	}
	return out, nil
}

// zoneIndex maps an IPv6 zone (interface name or number) to its index.
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("sock: IPv6 zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}

// LocalAddr returns the address fd is bound to (getsockname); the zero
// AddrPort for a unix-domain socket. One system call and one small
// allocation.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getsockname", err)
	}
	return sockaddrToAddrPort(sa), nil
}

// sockaddrToAddrPort converts an internet Sockaddr; IPv4-mapped IPv6
// addresses come out as IPv4, other kinds as the zero AddrPort.
func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(ip6(sa.Addr, sa.ZoneId), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// ip6 builds an address from IPv6 bytes and a scope id, unmapping IPv4.
// A non-zero scope becomes a numeric zone, which allocates.
func ip6(b [16]byte, scope uint32) netip.Addr {
	a := netip.AddrFrom16(b)
	if a.Is4In6() {
		return a.Unmap()
	}
	if scope != 0 {
		a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
	}
	return a
}

// inetSockaddr builds the Sockaddr for a datagram destination, mapped into
// IPv6 when mapped is set.
func inetSockaddr(to netip.AddrPort, mapped bool) (unix.Sockaddr, error) {
	a := to.Addr()
	if a.Is4() && !mapped {
		return &unix.SockaddrInet4{Port: int(to.Port()), Addr: a.As4()}, nil
	}
	if !a.IsValid() {
		return nil, errInvalidAddr
	}
	sa := &unix.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		idx, err := zoneIndex(z)
		if err != nil {
			return nil, err
		}
		sa.ZoneId = idx
	}
	return sa, nil
}

var errInvalidAddr = errors.New("sock: invalid destination address")
