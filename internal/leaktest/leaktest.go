// Package leaktest checks, for the project's tests, that a test leaves no
// goroutine or file descriptor behind.
//
// Check records the goroutines and the process's open descriptors when it is
// called; when the test ends (after the cleanups registered later, which run
// first) it waits up to five seconds for both counts to come back, and fails
// the test with every goroutine's stack if they do not. The workers of the
// async package's shared default pool live as long as the process and are
// not counted. Descriptors are counted in /proc/self/fd: on systems without
// it the test is skipped.
package leaktest

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Grace is how long Check waits for goroutines and descriptors to go away.
const Grace = 5 * time.Second

// Check records the counts now and checks them when t ends. Call it first
// in a test, before it opens anything. Before each count it runs every
// function of before (closing idle client connections, say).
func Check(t testing.TB, before ...func()) {
	t.Helper()
	settle := func() {
		for _, f := range before {
			f()
		}
	}
	settle()
	runtimePoller.Do(startRuntimePoller)
	fds, gs := FDs(t), Goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(Grace)
		for {
			settle()
			nfd, ng := FDs(t), Goroutines()
			if nfd <= fds && ng <= gs {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leak: %d descriptors (had %d), %d goroutines (had %d)\n%s", nfd, fds, ng, gs, stacks())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// FDs returns the number of open descriptors of the process; it skips t
// where /proc/self/fd does not exist.
func FDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd: leak checks need Linux")
	}
	return len(ents)
}

// Goroutines counts goroutines, leaving out the async default pool's
// workers.
func Goroutines() int {
	count := 0
	for _, g := range strings.Split(stacks(), "\n\n") {
		if strings.TrimSpace(g) != "" && !strings.Contains(g, "async.(*Pool).work") {
			count++
		}
	}
	return count
}

func stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// runtimePoller starts the Go runtime's network poller once, before the
// first count: the runtime opens its descriptors (an epoll instance and a
// wake-up descriptor) on first use and keeps them for good, and a test
// that happens to be the first user (a loop parking in it, say) would
// otherwise see them as its leak. Under go test the test log file already
// starts it; a test binary run directly does not.
var runtimePoller sync.Once

func startRuntimePoller() {
	if r, w, err := os.Pipe(); err == nil { // pipes are registered with the poller
		r.Close()
		w.Close()
	}
}
