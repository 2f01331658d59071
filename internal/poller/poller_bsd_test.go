//go:build darwin || freebsd || netbsd || openbsd

package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestKeventFlags(t *testing.T) {
	ev := func(filter, flags int, fflags uint32) *unix.Kevent_t {
		var k unix.Kevent_t
		unix.SetKevent(&k, 3, filter, flags)
		k.Fflags = fflags
		return &k
	}
	cases := []struct {
		name string
		in   *unix.Kevent_t
		want Flags
	}{
		{name: "read", in: ev(unix.EVFILT_READ, 0, 0), want: Readable},
		{name: "read eof", in: ev(unix.EVFILT_READ, unix.EV_EOF, 0), want: Readable | ReadHangUp},
		{name: "read reset", in: ev(unix.EVFILT_READ, unix.EV_EOF, uint32(unix.ECONNRESET)), want: Readable | ReadHangUp | Error},
		{name: "write", in: ev(unix.EVFILT_WRITE, 0, 0), want: Writable},
		{name: "write eof", in: ev(unix.EVFILT_WRITE, unix.EV_EOF, 0), want: Writable | HangUp},
		{name: "error", in: ev(unix.EVFILT_READ, unix.EV_ERROR, 0), want: Readable | Writable | Error},
	}
	for _, c := range cases {
		if got := keventFlags(c.in); got != c.want {
			t.Errorf("%s: keventFlags = %v, want %v", c.name, got, c.want)
		}
	}
}
