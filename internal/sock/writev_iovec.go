//go:build linux || freebsd || netbsd

package sock

import "golang.org/x/sys/unix"

// Writer gathers buffers into one writev(2). It holds a reusable array of
// MaxIovecs iovecs (allocated on first use), so that Writev
// allocates nothing afterwards. The zero value is ready to use. A Writer is
// used by one goroutine at a time; a loop keeps one for all its
// connections.
type Writer struct {
	iov *[MaxIovecs]unix.Iovec
}

// Writev writes bufs with one writev(2) of at most MaxIovecs buffers,
// skipping empty ones, and returns the number of bytes the kernel took
// (which may end inside any buffer). Buffers past the first MaxIovecs
// non-empty ones are left for the next call. With nothing to write it
// returns (0, nil) without a system call; when the send buffer is full,
// (0, unix.EAGAIN). No allocation after the first call. The iovec array
// does not keep bufs alive after the call.
func (w *Writer) Writev(fd int, bufs [][]byte) (int, error) {
	if w.iov == nil {
		w.iov = new([MaxIovecs]unix.Iovec)
	}
	iov := w.iov
	n := 0
	var one []byte
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if n == MaxIovecs {
			break
		}
		if n == 0 {
			one = b
		}
		iov[n].Base = &b[0]
		iov[n].SetLen(len(b))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	var r int
	var e unix.Errno
	if n == 1 {
		// One buffer: write(2) skips the kernel's iovec import.
		r, e = sysWrite(fd, one)
	} else {
		r, e = sysWritev(fd, &iov[0], n)
	}
	clear(iov[:n])
	if e != 0 {
		return 0, wrapErrno("writev", e)
	}
	return r, nil
}
