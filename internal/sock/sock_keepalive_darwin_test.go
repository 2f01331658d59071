package sock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func checkKeepAlivePeriod(t *testing.T, fd, secs int) {
	t.Helper()
	for _, opt := range []int{unix.TCP_KEEPALIVE, unix.TCP_KEEPINTVL} {
		v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, opt)
		if err != nil || v != secs {
			t.Errorf("keep-alive option %#x = %d, %v; want %d", opt, v, err, secs)
		}
	}
}
