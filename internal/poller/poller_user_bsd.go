//go:build darwin || freebsd

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// wakeSource on darwin and FreeBSD is an EVFILT_USER event with ident 0,
// registered with EV_CLEAR so that retrieving it resets it.
type wakeSource struct{}

// wakeIdent is the ident of the EVFILT_USER wake event. It cannot collide
// with a descriptor: kqueue keys events by ident and filter together.
const wakeIdent = 0

func (w *wakeSource) open(kq int) error {
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], wakeIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(kq, ev[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

func (w *wakeSource) is(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_USER && ev.Ident == wakeIdent
}

// drain has nothing to read: EV_CLEAR reset the event when Wait retrieved
// it.
func (w *wakeSource) drain() {}

func (w *wakeSource) trigger(kq int) error {
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], wakeIdent, unix.EVFILT_USER, 0)
	ev[0].Fflags = unix.NOTE_TRIGGER
	for {
		_, err := unix.Kevent(kq, ev[:], nil, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("kevent", err)
		}
		return nil
	}
}

func (w *wakeSource) close() error { return nil }
