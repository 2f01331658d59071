//go:build darwin || netbsd || openbsd

package sock

import (
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Accept accepts one pending connection on the listening socket fd and
// returns the new descriptor, made close-on-exec and non-blocking, and for
// internet sockets the peer address (zero for unix sockets). These systems
// have no accept4 in x/sys, so it is accept(2) then fcntl, under
// syscall.ForkLock. When nothing is pending it returns (-1, zero,
// unix.EAGAIN), bare. Three system calls; the x/sys wrapper allocates the
// peer address. Any goroutine (the owning loop).
func Accept(fd int) (nfd int, remote netip.AddrPort, err error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, netip.AddrPort{}, wrap("accept", err)
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, netip.AddrPort{}, os.NewSyscallError("fcntl", err)
	}
	return nfd, sockaddrToAddrPort(sa), nil
}
