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
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// MaxIovecs is the largest number of buffers one Writev passes to the
// kernel (Linux's IOV_MAX).
const MaxIovecs = 1024

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

// wrap names the system call in err, except for EAGAIN and EINTR, which
// stay bare for == comparisons (see the package contract).
func wrap(call string, err error) error {
	if err == nil || err == unix.EAGAIN || err == unix.EINTR {
		return err
	}
	return os.NewSyscallError(call, err)
}

// wrapErrno is wrap for a raw errno; 0 means success.
func wrapErrno(call string, e unix.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return unix.EAGAIN
	case unix.EINTR:
		return unix.EINTR
	}
	return os.NewSyscallError(call, e)
}

// Read reads into p with read(2). It returns (0, nil) at end of stream,
// (0, unix.EAGAIN) when nothing is buffered, and never a negative count.
// One system call, no allocation. Any goroutine (the owning loop).
func Read(fd int, p []byte) (int, error) {
	n, e := sysRead(fd, p)
	if e != 0 {
		return 0, wrapErrno("read", e)
	}
	return n, nil
}

// Write writes p with write(2) and returns how many bytes the kernel took,
// possibly fewer than len(p); (0, unix.EAGAIN) when the send buffer is
// full. One system call, no allocation. Any goroutine (the owning loop).
func Write(fd int, p []byte) (int, error) {
	n, err := unix.Write(fd, p)
	if err != nil {
		return 0, wrap("write", err)
	}
	return n, nil
}

// ShutdownWrite half-closes fd (shutdown SHUT_WR): the peer reads end of
// stream after the queued bytes, and fd can still read. One system call.
func ShutdownWrite(fd int) error {
	if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
		return os.NewSyscallError("shutdown", err)
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

func setBool(fd, level, opt int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return setInt(fd, level, opt, v)
}

// SetNoDelay sets TCP_NODELAY (on: send small segments at once instead of
// waiting to coalesce them, Nagle off). One system call.
func SetNoDelay(fd int, on bool) error {
	return setBool(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, on)
}

// maxKeepAliveSeconds is Linux's upper bound for TCP_KEEPIDLE and
// TCP_KEEPINTVL.
const maxKeepAliveSeconds = 32767

// SetKeepAlive turns TCP keep-alive on, probing after period of idleness and
// then every period (rounded up to whole seconds, at least 1 s, at most
// 32767 s), or off when period <= 0. Up to three system calls. On OpenBSD
// the timing is system-wide and only SO_KEEPALIVE is set.
func SetKeepAlive(fd int, period time.Duration) error {
	if period <= 0 {
		return setBool(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, false)
	}
	secs := min((period+time.Second-1)/time.Second, maxKeepAliveSeconds)
	if err := setBool(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, true); err != nil {
		return err
	}
	return setKeepAlivePeriod(fd, int(secs))
}

// SetLingerZero sets SO_LINGER to {on, 0 s}, so that Close discards unsent
// data and sends a reset (RST) instead of a FIN: this is how Abort is done.
// One system call.
func SetLingerZero(fd int) error {
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// SetSendBuffer sets SO_SNDBUF to bytes (Linux doubles the value for its
// bookkeeping and clamps it to net.core.wmem_max). One system call.
func SetSendBuffer(fd, bytes int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bytes); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// SetRecvBuffer sets SO_RCVBUF to bytes (Linux doubles the value for its
// bookkeeping and clamps it to net.core.rmem_max). One system call.
func SetRecvBuffer(fd, bytes int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bytes); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
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

// errnoOf extracts the errno from err (bare or inside *os.SyscallError)
// without allocating.
func errnoOf(err error) (unix.Errno, bool) {
	switch e := err.(type) {
	case unix.Errno:
		return e, true
	case *os.SyscallError:
		errno, ok := e.Err.(unix.Errno)
		return errno, ok
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno, true
	}
	return 0, false
}

// IsTemporaryAcceptError reports whether an Accept error concerns only the
// connection being accepted (ECONNABORTED, ECONNRESET, EPROTO, EPERM, and
// the network errors Linux's accept(2) passes on: ENETDOWN, ENOPROTOOPT,
// EHOSTDOWN, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH): skip it and keep
// accepting. No allocation; any goroutine.
func IsTemporaryAcceptError(err error) bool {
	e, ok := errnoOf(err)
	if !ok {
		return false
	}
	switch e {
	case unix.ECONNABORTED, unix.ECONNRESET, unix.EPROTO, unix.EPERM,
		unix.ENETDOWN, unix.ENOPROTOOPT, unix.EHOSTDOWN, unix.EHOSTUNREACH,
		unix.EOPNOTSUPP, unix.ENETUNREACH:
		return true
	}
	return false
}

// IsResourceError reports whether err means the process or system ran out
// of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): back off and
// retry later rather than spin or give up. No allocation; any goroutine.
func IsResourceError(err error) bool {
	e, ok := errnoOf(err)
	if !ok {
		return false
	}
	switch e {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return true
	}
	return false
}

func setInt(fd, level, opt, v int) error {
	if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}
