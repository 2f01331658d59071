package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the calls on non-blocking sockets that the loop makes for every
// message (read, writev) go through RawSyscall: they never block, so telling
// the scheduler about them (entersyscall/exitsyscall) is pure cost, and a P
// that never looks "in a system call" gives the runtime's monitor nothing to
// retake, so it sleeps longer and interrupts the loop's CPU less.

func sysRead(fd int, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	return int(r), e
}

func sysWritev(fd int, iov *unix.Iovec, n int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(iov)), uintptr(n))
	return int(r), e
}

func sysWrite(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}
