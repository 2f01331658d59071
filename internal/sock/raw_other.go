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
