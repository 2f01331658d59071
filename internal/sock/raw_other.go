//go:build freebsd || netbsd

package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func sysWritev(fd int, iov *unix.Iovec, n int) (int, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(iov)), uintptr(n))
	return int(r), e
}

func sysWrite(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}
