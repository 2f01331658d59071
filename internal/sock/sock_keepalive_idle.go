//go:build linux || freebsd || netbsd

package sock

import "golang.org/x/sys/unix"

// setKeepAlivePeriod sets the idle time before the first probe and the
// interval between probes, in seconds.
func setKeepAlivePeriod(fd, secs int) error {
	if err := setInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs); err != nil {
		return err
	}
	return setInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
}
