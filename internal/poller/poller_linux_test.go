package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestEpollFlags(t *testing.T) {
	cases := []struct {
		in   uint32
		want Flags
	}{
		{in: 0, want: 0},
		{in: unix.EPOLLIN, want: Readable},
		{in: unix.EPOLLOUT, want: Writable},
		{in: unix.EPOLLIN | unix.EPOLLOUT, want: Readable | Writable},
		{in: unix.EPOLLRDHUP, want: ReadHangUp | Readable},
		{in: unix.EPOLLHUP, want: HangUp | Readable | Writable},
		{in: unix.EPOLLERR, want: Error | Readable | Writable},
		{in: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR, want: Readable | Writable | ReadHangUp | HangUp | Error},
		{in: unix.EPOLLPRI, want: 0},
	}
	for _, c := range cases {
		if got := epollFlags(c.in); got != c.want {
			t.Errorf("epollFlags(%#x) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestTagEncoding(t *testing.T) {
	for _, tag := range []uint64{0, 1, 0xdeadbeef_00000007, 0x80000000, 0xffffffff, 1 << 32, 1 << 63, ReservedTag} {
		var ev unix.EpollEvent
		setTag(&ev, tag)
		if got := getTag(&ev); got != tag {
			t.Errorf("tag %#x came back as %#x", tag, got)
		}
	}
}
