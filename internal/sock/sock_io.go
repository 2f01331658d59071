package sock

import (
	"os"

	"golang.org/x/sys/unix"
)

// MaxIovecs is the largest number of buffers one Writev passes to the
// kernel (Linux's IOV_MAX).
const MaxIovecs = 1024

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
