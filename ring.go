package ioloop

import (
	"errors"
	"syscall"

	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
)

// With Options.IOUring a loop still learns readiness from its poller, but
// makes the reads and writes of an iteration in batches instead of one
// system call each:
//
//   - The connections the poller reports readable (and that have nothing
//     special to handle: no error, hang-up, blocked output or pending
//     redelivery) get a receive queued into a slot of the loop's read
//     arena. Before any other socket's event runs (it could close a queued
//     socket), and at the end of the events, runReads submits them all in
//     one call and delivers each result in order, as read would have.
//   - A write that OnData kept by reference (an echo of its input, see
//     Conn.Write) points into the arena, which stays unchanged until the
//     round ends: writeDirect queues it as a send instead of writing, and
//     marks the connection fInFlight. At the end of the round finishWrites
//     submits every queued send in one call, then queues whatever the
//     kernel did not take in front of the connection's output, as
//     writeDirect would have.
//   - Anything that needs a connection's output to be in order with the
//     kernel's (flush, FIN, close, another direct write) first finishes the
//     queued writes, so the batching changes when the system calls happen,
//     never their order.
//
// So an iteration with k readable connections costs about 2 system calls
// instead of 2k. A receive on a socket with nothing to read completes
// with EAGAIN inside the submit (MSG_DONTWAIT; NewRing checks it), so a
// submit never waits.
const (
	ringSlots   = 32            // reads per submit
	ringSlot    = 16 << 10      // bytes per read slot
	ringEntries = 2 * ringSlots // ring capacity: a round's reads, or its writes
)

// ringWrite is a send queued on the ring.
type ringWrite struct {
	c *Conn
	b []byte
}

// initRing sets up the loop's ring, or leaves l.ring nil (one system call per
// read and write) when the kernel has none.
func (l *Loop) initRing() {
	r, err := sock.NewRing(ringEntries)
	if err != nil {
		if !errors.Is(err, sock.ErrRingUnavailable) {
			l.opts.Logger.Warn("ioloop: io_uring set-up failed; using plain reads and writes", "loop", l.idx, "err", err)
		}
		return
	}
	l.ring = r
	l.arena = make([]byte, ringSlots*min(ringSlot, l.opts.ReadBufferSize))
	l.rq = make([]*Conn, 0, ringSlots)
	l.wq = make([]ringWrite, 0, ringEntries)
	l.wqSpare = make([]ringWrite, 0, ringEntries)
}

func (l *Loop) closeRing() {
	if l.ring != nil {
		_ = l.ring.Close()
		l.ring = nil
	}
}

// slot returns read slot i of the arena.
func (l *Loop) slot(i int) []byte {
	n := len(l.arena) / ringSlots
	return l.arena[i*n : (i+1)*n : (i+1)*n]
}

// batchable reports whether an event with flags f is only "readable" for c,
// so its read can be batched: onEvent would do nothing but read.
func (c *Conn) batchable(f poller.Flags) bool {
	return f&poller.Readable != 0 && f&^(poller.Readable|poller.Writable) == 0 &&
		c.state == StateOpen && c.flags&(fWriteBlocked|fRedeliver|fEOF|fRdhup|fInFlight) == 0 &&
		!c.readPaused()
}

// queueRead queues a receive for c into the next read slot.
func (l *Loop) queueRead(c *Conn) {
	if len(l.rq) == ringSlots {
		l.runReads()
	}
	if len(l.wq) > 0 {
		l.finishWrites() // never happens: a round ends with its writes done
	}
	c.flags |= fReadReady
	l.ring.Read(int(c.fd), l.slot(len(l.rq)))
	l.rq = append(l.rq, c)
}

// runReads submits the queued receives and hands each result to its
// connection in order, then finishes the writes the round queued.
func (l *Loop) runReads() {
	var res [ringSlots]int32
	k := copy(res[:], l.ring.Submit())
	l.submits++
	l.ringOps += k
	rq := l.rq
	left := l.left
	for i, c := range rq[:k] {
		rq[i] = nil
		l.left = left + k - i - 1
		n, err := sock.RingResult("read", res[i])
		c.readBatched(l.slot(i), n, err)
	}
	l.rq = rq[:0]
	l.left = left
	l.finishWrites()
}

// readBatched handles the result of a batched read into buf, like the first
// turn of read, then goes on reading like read if the slot was filled.
func (c *Conn) readBatched(buf []byte, n int, err error) {
	switch {
	case c.state == StateClosed:
		return
	case n > 0 && c.state == StateOpen && c.readPaused():
		// Another connection's callback paused c after its read was
		// queued: keep the input for the resume.
		if c.inLen()+n > c.l.opts.MaxInput {
			c.fail(ErrInputLimit)
			return
		}
		c.lastActive = c.l.now
		c.getIO().in.Append(c.l.pool, buf[:n])
		return
	}
	total := 0
	if c.readDone(buf, n, err, &total) {
		c.readOn(total, readBudget-1)
	}
}

// queueWrite queues a send of b, which lies in the read arena, for c.
func (l *Loop) queueWrite(c *Conn, b []byte) {
	if l.ring.Queued() == ringEntries {
		l.finishWrites()
	}
	l.ring.Write(int(c.fd), b)
	l.wq = append(l.wq, ringWrite{c, b})
	c.flags |= fInFlight
}

// finishWrites submits the queued sends and settles each like writeDirect:
// what the kernel did not take is queued in front of the connection's
// output. Handling a result can run callbacks (backpressure, OnClose) that
// queue more: the loop takes those too.
func (l *Loop) finishWrites() {
	for len(l.wq) > 0 {
		var res [ringEntries]int32
		l.ringOps += copy(res[:], l.ring.Submit())
		l.submits++
		wq := l.wq
		l.wq, l.wqSpare = l.wqSpare, nil // a callback below may queue more
		for _, w := range wq {
			w.c.flags &^= fInFlight
		}
		for i, w := range wq {
			wq[i] = ringWrite{}
			n, err := sock.RingResult("write", res[i])
			w.c.wrote(w.b, n, err)
		}
		if l.wqSpare == nil {
			l.wqSpare = wq[:0]
		}
	}
}

// wrote settles a batched send of b: n bytes went out, or err.
func (c *Conn) wrote(b []byte, n int, err error) {
	l := c.l
	if l.onWritev != nil {
		l.onWritev(int(c.fd), 1, n)
	}
	if c.state == StateClosed {
		return
	}
	if n > 0 {
		c.lastActive = l.now
	}
	switch err {
	case nil:
		if n < len(b) {
			c.flags |= fWriteBlocked // a short write: the send buffer is full
		}
	case syscall.EAGAIN:
		c.flags |= fWriteBlocked
	}
	if n < len(b) {
		// A hard error stays queued too: the flush meets it again and
		// closes the connection there.
		c.getIO().out.Prepend(l.pool, b[n:])
		c.queued()
	}
}
