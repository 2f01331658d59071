// Package sock opens and drives non-blocking sockets for the ioloop
// runtime: listen, accept, connect, read, writev, datagrams and socket
// options, with no allocation on the per-packet paths on Linux.
//
// # Contract
//
// Descriptors. Every descriptor this package returns is non-blocking and
// close-on-exec (SOCK_NONBLOCK|SOCK_CLOEXEC where the system offers it;
// otherwise fcntl under syscall.ForkLock, so that a concurrent fork+exec does
// not inherit it). The caller owns it and closes it with Close.
//
// Addresses. Internet addresses travel as netip.AddrPort, a value type, so
// that Accept, RecvFrom and SendTo allocate nothing. IPv4 peers of an IPv6
// dual-stack socket are reported unmapped (1.2.3.4, not ::ffff:1.2.3.4), and
// SendTo accepts a plain IPv4 destination on such a socket. Unix-domain
// sockets report the zero AddrPort; their path is the caller's business (it
// gave it), and so is removing the socket file.
//
// Errors. Every error starts with "sock: " or is an *os.SyscallError naming
// the failed system call ("accept4", "writev", "connect", ...), so
// errors.Is(err, unix.ECONNRESET) works. Two errno values are returned bare,
// NOT wrapped, so that the loop's hot paths can compare them with ==:
// unix.EAGAIN (nothing to read, no room to write, nothing to accept: wait
// for readiness) and unix.EINTR (retry). Byte counts are never negative: a
// failed call returns 0 bytes.
//
// Goroutines. Functions take a descriptor and keep no state, so any goroutine
// may call them; the loop that owns a descriptor is the only one that
// should. A Writer holds scratch space and is used by one goroutine at a
// time.
//
// Platforms. Linux is the reference: there Accept, Read, Writev, RecvFrom
// and SendTo make one system call each and allocate nothing. darwin,
// FreeBSD, NetBSD and OpenBSD build and behave the same, but some of those
// paths go through allocating x/sys wrappers, and OpenBSD has no
// per-socket keep-alive timing (SetKeepAlive only switches it on).
package sock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// DefaultBacklog is the listen backlog used when ListenConfig.Backlog is 0.
// The kernel silently lowers it to its own limit (net.core.somaxconn on
// Linux, kern.ipc.somaxconn on BSD).
const DefaultBacklog = 4096

// ListenConfig holds the options of Listen. The zero value is ready to use.
type ListenConfig struct {
	// ReusePort sets SO_REUSEPORT, so that several listeners (one per loop)
	// can bind the same address and the kernel spreads connections over
	// them. TCP only. SO_REUSEADDR is always set for TCP.
	ReusePort bool
	// Backlog is the accept queue length passed to listen(2); 0 means
	// DefaultBacklog, negative is an error.
	Backlog int
}

// openInet creates a socket of type typ for a, falling back from a
// dual-stack IPv6 wildcard to IPv4 where IPv6 is not available, and sets
// IPV6_V6ONLY as a asks.
func openInet(a *inetAddr, typ int) (int, error) {
	fd, err := sysSocket(a.family, typ, 0)
	if err != nil && a.family == unix.AF_INET6 && !a.v6only && a.ap.Addr().IsUnspecified() && errors.Is(err, unix.EAFNOSUPPORT) {
		a.family = unix.AF_INET
		a.ap = netip.AddrPortFrom(netip.IPv4Unspecified(), a.ap.Port())
		fd, err = sysSocket(a.family, typ, 0)
	}
	if err != nil {
		return -1, err
	}
	if a.family == unix.AF_INET6 {
		if err := setBool(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, a.v6only); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// Listen creates a bound, listening, non-blocking socket. network is "tcp",
// "tcp4", "tcp6" or "unix"; address is what net.Listen takes
// ("127.0.0.1:0", "[::1]:0", ":8080", "/path/sock"). An IPv4 literal opens
// an AF_INET socket, an IPv6 literal an AF_INET6 one (IPV6_V6ONLY only for
// "tcp6"), an empty host the dual-stack wildcard for "tcp"; host names are
// resolved with the standard (blocking) resolver. It returns the descriptor
// and the bound address: a *net.TCPAddr carrying the real port, or a
// *net.UnixAddr. Several system calls and a few allocations; call it at
// set-up time, from any goroutine.
func Listen(network, address string, cfg ListenConfig) (fd int, addr net.Addr, err error) {
	backlog := cfg.Backlog
	if backlog < 0 {
		return -1, nil, fmt.Errorf("sock: negative listen backlog %d", backlog)
	}
	if backlog == 0 {
		backlog = DefaultBacklog
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "unix":
		return listenUnix(address, backlog)
	default:
		return -1, nil, fmt.Errorf("sock: Listen: unsupported network %q", network)
	}
	a, err := resolve("tcp", network, address, true)
	if err != nil {
		return -1, nil, err
	}
	fd, err = openInet(&a, unix.SOCK_STREAM)
	if err != nil {
		return -1, nil, err
	}
	if err := bindListen(fd, &a, cfg.ReusePort, true, backlog); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	local, err := LocalAddr(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, net.TCPAddrFromAddrPort(local), nil
}

// bindListen sets the reuse options, binds fd to a and, for stream
// sockets, listens.
func bindListen(fd int, a *inetAddr, reusePort, stream bool, backlog int) error {
	if stream {
		if err := setBool(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, true); err != nil {
			return err
		}
	}
	if reusePort {
		if err := setBool(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, true); err != nil {
			return err
		}
	}
	if err := unix.Bind(fd, a.sockaddr()); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if stream {
		if err := unix.Listen(fd, backlog); err != nil {
			return os.NewSyscallError("listen", err)
		}
	}
	return nil
}

func listenUnix(path string, backlog int) (int, net.Addr, error) {
	if path == "" {
		return -1, nil, errors.New("sock: Listen: empty unix socket path")
	}
	fd, err := sysSocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("listen", err)
	}
	return fd, &net.UnixAddr{Name: path, Net: "unix"}, nil
}

// ListenPacket creates a bound non-blocking datagram socket. network is
// "udp", "udp4" or "udp6"; address and address families are as for Listen.
// reusePort sets SO_REUSEPORT. It returns the descriptor and the bound
// address as a *net.UDPAddr with the real port. Set-up cost, like Listen;
// any goroutine.
func ListenPacket(network, address string, reusePort bool) (fd int, addr net.Addr, err error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return -1, nil, fmt.Errorf("sock: ListenPacket: unsupported network %q", network)
	}
	a, err := resolve("udp", network, address, true)
	if err != nil {
		return -1, nil, err
	}
	fd, err = openInet(&a, unix.SOCK_DGRAM)
	if err != nil {
		return -1, nil, err
	}
	if err := bindListen(fd, &a, reusePort, false, 0); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	local, err := LocalAddr(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, net.UDPAddrFromAddrPort(local), nil
}

// Connect creates a non-blocking socket and starts connecting it. network
// is "tcp", "tcp4", "tcp6" or "unix"; an empty host dials the local system.
// err == nil means connected or in progress (EINPROGRESS is not an error):
// the caller registers fd, waits for Writable and then calls SocketError to
// learn the outcome. TCP sockets get TCP_NODELAY. remote is the resolved
// peer address (zero for "unix"). Host names go through the standard,
// blocking resolver: loop code passes literals. On error no descriptor is
// left open and fd is -1. A unix socket whose peer's accept queue is full
// fails with a wrapped EAGAIN. Any goroutine.
func Connect(network, address string) (fd int, remote netip.AddrPort, err error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "unix":
		return connectUnix(address)
	default:
		return -1, netip.AddrPort{}, fmt.Errorf("sock: Connect: unsupported network %q", network)
	}
	a, err := resolve("tcp", network, address, false)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	fd, err = sysSocket(a.family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	if err := SetNoDelay(fd, true); err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	switch err := unix.Connect(fd, a.sockaddr()); err {
	case nil, unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		// EINTR: the connection goes on in the background, as EINPROGRESS.
	default:
		unix.Close(fd)
		return -1, netip.AddrPort{}, os.NewSyscallError("connect", err)
	}
	ap := a.ap
	if ap.Addr().Is4In6() {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return fd, ap, nil
}

func connectUnix(path string) (int, netip.AddrPort, error) {
	if path == "" {
		return -1, netip.AddrPort{}, errors.New("sock: Connect: empty unix socket path")
	}
	fd, err := sysSocket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err {
	case nil, unix.EINPROGRESS, unix.EINTR:
	default:
		unix.Close(fd)
		return -1, netip.AddrPort{}, os.NewSyscallError("connect", err)
	}
	return fd, netip.AddrPort{}, nil
}

// SocketError reads and clears SO_ERROR: nil if no error is pending,
// otherwise the errno wrapped as os.NewSyscallError("connect", errno) (this
// is how a non-blocking connect reports failure, e.g. ECONNREFUSED). One
// system call; allocates only when it returns an error. Any goroutine.
func SocketError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return os.NewSyscallError("connect", unix.Errno(v))
	}
	return nil
}

// Close closes fd. Deregister it from the poller first. One system call.
func Close(fd int) error {
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
