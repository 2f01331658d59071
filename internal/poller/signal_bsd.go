//go:build darwin || freebsd || netbsd || openbsd

package poller

// signalFD: a Signal is a channel on the kqueue systems.
func signalFD() (int, bool) { return -1, false }

func signalWrite(int) {}
