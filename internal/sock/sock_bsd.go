//go:build darwin || freebsd || netbsd || openbsd

package sock

import (
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysSocket opens a socket and makes it close-on-exec and non-blocking.
// syscall.ForkLock keeps a concurrent fork+exec from inheriting it between
// the two steps.
func sysSocket(family, typ, proto int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, typ, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// RecvFrom receives one datagram into p with recvfrom(2) and returns its
// length (truncated to len(p)) and sender; (0, zero, unix.EAGAIN) when none
// is queued. One system call; on these systems the x/sys wrapper allocates
// the sender address. Any goroutine (the owning loop).
func RecvFrom(fd int, p []byte) (n int, from netip.AddrPort, err error) {
	n, sa, err := unix.Recvfrom(fd, p, 0)
	if err != nil {
		return 0, netip.AddrPort{}, wrap("recvfrom", err)
	}
	return n, sockaddrToAddrPort(sa), nil
}

// SendTo sends p as one datagram to to with sendto(2) and returns len(p);
// (0, unix.EAGAIN) when the socket buffer is full. An IPv4 destination that
// an IPv6 socket refuses is retried in its IPv4-mapped form. One system
// call (two on that retry); the x/sys wrapper allocates the sockaddr. Any
// goroutine (the owning loop).
func SendTo(fd int, p []byte, to netip.AddrPort) (int, error) {
	sa, err := inetSockaddr(to, false)
	if err != nil {
		return 0, err
	}
	err = unix.Sendto(fd, p, 0, sa)
	if (err == unix.EAFNOSUPPORT || err == unix.EINVAL) && to.Addr().Is4() {
		if sa, err = inetSockaddr(to, true); err != nil {
			return 0, err
		}
		err = unix.Sendto(fd, p, 0, sa)
	}
	if err != nil {
		return 0, wrap("sendto", err)
	}
	return len(p), nil
}

// NumFDs returns -1: these systems have no /proc/self/fd to count, so
// descriptor leak checks are skipped there.
func NumFDs() int { return -1 }
