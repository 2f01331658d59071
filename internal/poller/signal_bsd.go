//go:build darwin || freebsd || netbsd || openbsd

package poller

import (
	"runtime"
	"time"
)

var noDeadline time.Time

// signalFD: a Signal is a channel on the kqueue systems.
func signalFD() (int, bool) { return -1, false }

func signalWrite(int) {}

func yield() { runtime.Gosched() }
