//go:build darwin || freebsd || netbsd || openbsd

package sock

import "golang.org/x/sys/unix"

func sysRead(fd int, p []byte) (int, unix.Errno) {
	n, err := unix.Read(fd, p)
	if err != nil {
		if e, ok := err.(unix.Errno); ok {
			return 0, e
		}
		return 0, unix.EIO
	}
	return n, 0
}
