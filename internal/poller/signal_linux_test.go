package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A Notify after Close writes nothing, not even to a descriptor that took
// the closed one's number (the waiter may close as soon as Wait returns,
// before the notifier's write).
func TestSignalNotifyAfterClose(t *testing.T) {
	checkLeaks(t)
	s := NewSignal()
	if s.f == nil {
		t.Skip("no eventfd")
	}
	num := -1
	if err := s.rc.Control(func(fd uintptr) { num = int(fd) }); err != nil {
		t.Fatal(err)
	}
	s.Notify()
	s.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	s.Notify()
	s.NotifyNow()
	peer := -1
	switch num {
	case fds[0]:
		peer = fds[1]
	case fds[1]:
		peer = fds[0]
	default:
		t.Logf("descriptor %d was not reused (socket pair %v): nothing to check", num, fds)
		return
	}
	var b [16]byte
	if n, err := unix.Read(peer, b[:]); err != unix.EAGAIN {
		t.Fatalf("a Notify after Close wrote to the descriptor that took its number: read %d, %v", n, err)
	}
}
