//go:build netbsd || openbsd

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// wakeSource on NetBSD and OpenBSD is a non-blocking close-on-exec pipe
// whose read end is registered for EVFILT_READ with EV_CLEAR; Wake writes
// one byte, Wait reads the pipe empty.
type wakeSource struct {
	r, w int // pipe ends; immutable until close
}

func (s *wakeSource) open(kq int) error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], fds[0], unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(kq, ev[:], nil, nil); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return os.NewSyscallError("kevent", err)
	}
	s.r, s.w = fds[0], fds[1]
	return nil
}

func (s *wakeSource) is(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_READ && ev.Ident == uint64(s.r)
}

func (s *wakeSource) drain() {
	var b [64]byte
	for {
		n, err := unix.Read(s.r, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n < len(b) {
			return
		}
	}
}

func (s *wakeSource) trigger(int) error {
	b := [1]byte{1}
	for {
		_, err := unix.Write(s.w, b[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the pipe is full, a wake-up is pending anyway
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("write", err)
	}
}

func (s *wakeSource) close() error {
	err1 := unix.Close(s.r)
	err2 := unix.Close(s.w)
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}
