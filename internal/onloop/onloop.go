// Package onloop tells whether the calling goroutine is an event loop's.
//
// A loop goroutine registers itself with Enter when it starts and removes
// itself with Leave when it ends. Current reports whether the caller is a
// registered loop: the blocking doors of the library (Group.Listen,
// Group.Close, Future.Await, ...) ask it before they block, and fail at once
// instead of waiting on the loop that would have to answer them.
//
// Cost: Current is one atomic load while no loop runs in the process;
// otherwise it reads the calling goroutine's identity (Self: a few
// instructions on amd64 and arm64, a parse of the stack header elsewhere)
// and scans the registered loops, without a lock or an allocation.
package onloop

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	count atomic.Int64              // loops registered now
	mu    sync.Mutex                // serializes Enter and Leave
	loops atomic.Pointer[[]uintptr] // Self of each loop; copied on write, read without a lock
	bufs  = sync.Pool{New: func() any { return new([32]byte) }}
)

// Self returns an identity of the calling goroutine, unique among the
// goroutines alive now. Safe from any goroutine; no allocation.
func Self() uintptr { return getg() }

// Enter registers the calling goroutine as a loop and returns its
// identity (Self), which the caller passes to Leave. Safe from any
// goroutine.
func Enter() uintptr {
	self := Self()
	mu.Lock()
	defer mu.Unlock()
	var m []uintptr
	if old := loops.Load(); old != nil {
		m = append(m, *old...)
	}
	m = append(m, self)
	loops.Store(&m)
	count.Add(1)
	return self
}

// Leave removes the registration Enter made. Safe from any goroutine.
func Leave(self uintptr) {
	mu.Lock()
	defer mu.Unlock()
	old := loops.Load()
	if old == nil {
		return
	}
	m := make([]uintptr, 0, len(*old))
	for _, g := range *old {
		if g != self {
			m = append(m, g)
		}
	}
	if len(m) == len(*old) {
		return
	}
	loops.Store(&m)
	count.Add(-1)
}

// Current reports whether the calling goroutine is a registered loop. Safe
// from any goroutine.
func Current() bool {
	if count.Load() == 0 {
		return false
	}
	m := loops.Load()
	if m == nil {
		return false
	}
	self := Self()
	for _, g := range *m {
		if g == self {
			return true
		}
	}
	return false
}

// ID returns the calling goroutine's id, parsed from the header of its
// stack trace ("goroutine 42 [running]:"). Safe from any goroutine; no
// allocation.
func ID() uint64 {
	buf := bufs.Get().(*[32]byte)
	defer bufs.Put(buf)
	n := runtime.Stack(buf[:], false)
	b := buf[:n]
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
