package poller

import "golang.org/x/sys/unix"

// signalFD opens the eventfd behind a Signal. Its counter only grows (a
// write per Notify, never read): the runtime's poller watches it
// edge-triggered, and every write is an edge.
func signalFD() (int, bool) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	return fd, err == nil
}

// signalWrite adds one to the eventfd's counter.
func signalWrite(fd int) {
	b := [8]byte{1}
	for {
		if _, err := unix.Write(fd, b[:]); err != unix.EINTR {
			return // nil; EAGAIN (counter saturated) is still readable
		}
	}
}
