package sock

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

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

func setInt(fd, level, opt, v int) error {
	if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}
