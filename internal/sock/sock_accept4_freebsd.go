package sock

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Accept accepts one pending connection on the listening socket fd with
// accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) and returns the new descriptor and,
// for internet sockets, the peer address (zero for unix sockets). When
// nothing is pending it returns (-1, zero, unix.EAGAIN), bare. One system
// call; the x/sys wrapper allocates the peer address. Any goroutine (the
// owning loop).
func Accept(fd int) (nfd int, remote netip.AddrPort, err error) {
	nfd, sa, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return -1, netip.AddrPort{}, wrap("accept4", err)
	}
	return nfd, sockaddrToAddrPort(sa), nil
}
