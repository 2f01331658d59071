//go:build darwin || openbsd

package sock

import "golang.org/x/sys/unix"

// Writer gathers buffers into one writev(2). It keeps a reusable list of
// the non-empty buffers; on darwin and OpenBSD system calls go through libc
// and the x/sys wrapper allocates the iovec array on every call. The zero
// value is ready to use. A Writer is used by one goroutine at a time; a
// loop keeps one for all its connections.
type Writer struct {
	bufs [][]byte
}

// Writev writes bufs with one writev(2) of at most MaxIovecs buffers,
// skipping empty ones, and returns the number of bytes the kernel took
// (which may end inside any buffer). Buffers past the first MaxIovecs
// non-empty ones are left for the next call. With nothing to write it
// returns (0, nil) without a system call; when the send buffer is full,
// (0, unix.EAGAIN). The Writer does not keep bufs alive after the call.
func (w *Writer) Writev(fd int, bufs [][]byte) (int, error) {
	list := w.bufs[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(list) == MaxIovecs {
			break
		}
		list = append(list, b)
	}
	if len(list) == 0 {
		return 0, nil
	}
	n, err := unix.Writev(fd, list)
	clear(list)
	w.bufs = list[:0]
	if err != nil {
		return 0, wrap("writev", err)
	}
	return n, nil
}
