package http1

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time (user and system) the calling OS thread
// has used, or 0 when it cannot tell. A loop's goroutine is locked to its
// thread, so on a loop it measures the loop's own work, whatever else runs
// on the machine.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
