package sock

import (
	"encoding/binary"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysSocket opens a non-blocking close-on-exec socket in one system call.
func sysSocket(family, typ, proto int) (int, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// Accept accepts one pending connection on the listening socket fd with
// accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) and returns the new descriptor and,
// for internet sockets, the peer address (zero for unix sockets). When
// nothing is pending it returns (-1, zero, unix.EAGAIN), bare. One system
// call into a stack-allocated sockaddr: no allocation. Any goroutine (the
// owning loop).
func Accept(fd int) (nfd int, remote netip.AddrPort, err error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd),
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, wrapErrno("accept4", e)
	}
	return int(r), rawToAddrPort(&rsa), nil
}

// rawToAddrPort decodes an AF_INET or AF_INET6 raw sockaddr without
// allocating (unless the address carries an IPv6 zone); other families give
// the zero AddrPort.
func rawToAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), portOf(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(ip6(sa.Addr, sa.Scope_id), portOf(&sa.Port))
	}
	return netip.AddrPort{}
}

// portOf reads a port stored in network byte order.
func portOf(p *uint16) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:])
}

// putPort stores a port in network byte order.
func putPort(p *uint16, port uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(p))[:], port)
}

// putRaw encodes to into rsa and returns the sockaddr length. An IPv4
// destination is encoded as AF_INET even for an AF_INET6 socket: Linux
// sends it over a dual-stack socket as it is.
func putRaw(rsa *unix.RawSockaddrAny, to netip.AddrPort) (uint32, error) {
	a := to.Addr()
	if a.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET
		putPort(&sa.Port, to.Port())
		sa.Addr = a.As4()
		return unix.SizeofSockaddrInet4, nil
	}
	if !a.IsValid() {
		return 0, errInvalidAddr
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
	sa.Family = unix.AF_INET6
	putPort(&sa.Port, to.Port())
	sa.Addr = a.As16()
	if z := a.Zone(); z != "" {
		idx, err := zoneIndex(z)
		if err != nil {
			return 0, err
		}
		sa.Scope_id = idx
	}
	return unix.SizeofSockaddrInet6, nil
}

// RecvFrom receives one datagram into p with recvfrom(2) and returns its
// length (truncated to len(p)) and sender; (0, zero, unix.EAGAIN) when none
// is queued. One system call, no allocation. Any goroutine (the owning
// loop).
func RecvFrom(fd int, p []byte) (n int, from netip.AddrPort, err error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return 0, netip.AddrPort{}, wrapErrno("recvfrom", e)
	}
	return int(r), rawToAddrPort(&rsa), nil
}

// SendTo sends p as one datagram to to with sendto(2) and returns len(p);
// (0, unix.EAGAIN) when the socket buffer is full. IPv4 destinations work
// on IPv4 and dual-stack IPv6 sockets. One system call, no allocation
// (unless to carries an IPv6 zone name). Any goroutine (the owning loop).
func SendTo(fd int, p []byte, to netip.AddrPort) (int, error) {
	var rsa unix.RawSockaddrAny
	l, err := putRaw(&rsa, to)
	if err != nil {
		return 0, err
	}
	r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(&rsa)), uintptr(l))
	if e != 0 {
		return 0, wrapErrno("sendto", e)
	}
	return int(r), nil
}

// NumFDs returns the number of open descriptors of the process, counted in
// /proc/self/fd (not counting the one used to read it), or -1 if that fails.
// It allocates; it is meant for leak checks in tests.
func NumFDs() int {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1
}
