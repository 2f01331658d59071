//go:build ioloopdebug

package ioloop

import (
	"strconv"

	"github.com/ioloop/ioloop/internal/onloop"
)

// debugChecks is true in the debug build (-tags ioloopdebug): every loop-only
// method checks that its caller is the loop that owns its object.
const debugChecks = true

// mustOwn panics, naming method, unless the caller is l's goroutine (or l
// has stopped: tasks that arrive later run after its end, one at a time).
func (l *Loop) mustOwn(method string) {
	if l.stopped() {
		return
	}
	if onloop.Self() != l.owner.Load() {
		panic("ioloop: " + method + " is loop only, but was called from goroutine " +
			strconv.FormatUint(onloop.ID(), 10) + ", not from its loop (loop " + strconv.Itoa(l.idx) + ")")
	}
}
