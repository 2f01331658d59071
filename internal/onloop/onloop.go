// Package onloop tells whether the calling goroutine is an event loop's.
//
// A loop goroutine registers itself with Enter when it starts and removes
// itself with Leave when it ends. Current reports whether the caller is a
// registered loop: the blocking doors of the library (Group.Listen,
// Group.Close, Future.Await, ...) ask it before they block, and fail at once
// instead of waiting on the loop that would have to answer them.
//
// Cost: Current is one atomic load while no loop runs in the process;
// otherwise it reads the goroutine's id from its stack header (a short
// runtime.Stack call, no allocation) and looks it up in a map copied on
// write, without a lock.
// It is meant for doors that are about to block, never for a hot path.
package onloop

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	count atomic.Int64                        // loops registered now
	mu    sync.Mutex                          // serializes Enter and Leave
	loops atomic.Pointer[map[uint64]struct{}] // copied on write: read without a lock
	bufs  = sync.Pool{New: func() any { return new([32]byte) }}
)

// Enter registers the calling goroutine as a loop and returns its id, which
// the caller passes to Leave. Safe from any goroutine.
func Enter() uint64 {
	id := ID()
	mu.Lock()
	defer mu.Unlock()
	m := map[uint64]struct{}{id: {}}
	if old := loops.Load(); old != nil {
		for k := range *old {
			m[k] = struct{}{}
		}
	}
	loops.Store(&m)
	count.Add(1)
	return id
}

// Leave removes the registration Enter made. Safe from any goroutine.
func Leave(id uint64) {
	mu.Lock()
	defer mu.Unlock()
	old := loops.Load()
	if old == nil {
		return
	}
	if _, ok := (*old)[id]; !ok {
		return
	}
	m := make(map[uint64]struct{}, len(*old))
	for k := range *old {
		if k != id {
			m[k] = struct{}{}
		}
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
	_, ok := (*m)[ID()]
	return ok
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
