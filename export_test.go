package ioloop

import (
	"unsafe"

	"github.com/ioloop/ioloop/internal/sock"
)

// SetWritevHook installs a hook called after every writev of every loop of g,
// with the number of buffers and bytes written. For tests that count system
// calls. Call it before the loops have connections.
func SetWritevHook(g *Group, f func(fd, nbufs, n int)) {
	for _, l := range g.loops {
		done := make(chan struct{})
		_ = l.Post(func() { l.onWritev = f; close(done) })
		<-done
	}
}

// ConnSize is the size of a Conn, which is most of an idle connection's
// cost.
const ConnSize = unsafe.Sizeof(Conn{})

// ConnIOSize is the size of a connection's buffers (connIO) without their
// chunks and segment ring.
const ConnIOSize = unsafe.Sizeof(connIO{})

// RingArenaMax is the most a loop's io_uring read area holds.
const RingArenaMax = ringSlots * ringSlot

// RingStats reports whether loop i of g batches through io_uring, and how
// many submits and operations its ring has made.
func RingStats(g *Group, i int) (on bool, submits, ops int) {
	l := g.loops[i]
	done := make(chan struct{})
	_ = l.Post(func() { on, submits, ops = l.ur.ring != nil, l.ur.submits, l.ur.ops; close(done) })
	<-done
	return on, submits, ops
}

// SetSendBuffer sets the connection's SO_SNDBUF, so that tests can make
// the kernel take writes in part. Loop only.
func SetSendBuffer(c *Conn, bytes int) error { return sock.SetSendBuffer(int(c.fd), bytes) }

// BreakRing makes loop i's ring fail at its next submit, as a broken kernel
// would.
func BreakRing(g *Group, i int) error {
	l := g.loops[i]
	errc := make(chan error, 1)
	_ = l.Post(func() { errc <- l.ur.ring.Break() })
	return <-errc
}

// LoopGoroutine returns the identity of l's goroutine (internal/onloop.Self),
// so that a test can tell whether a callback runs on its loop.
func LoopGoroutine(l *Loop) uintptr { return l.owner.Load() }

// DebugChecks reports whether this is the debug build (-tags ioloopdebug).
const DebugChecks = debugChecks

// IdleBuffers returns what c holds in buffers of ioloop's: its input and
// output buffers, and for TLS the bytes kept between reads and the
// tlsio.Conn's own buffers. Runs on c's loop; waits for it.
func IdleBuffers(c *Conn) int {
	n := 0
	done := make(chan struct{})
	_ = c.l.Post(func() {
		if c.io != nil {
			n += c.io.in.Cap() + c.io.out.Len() + 1 // holding the connIO at all counts
		}
		if c.is(fTLS) {
			t := c.ext.tls
			n += t.rest.Cap() + cap(t.held) + cap(t.first) + len(t.early) + t.raw.Retained()
		}
		close(done)
	})
	<-done
	return n
}
