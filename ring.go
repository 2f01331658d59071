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
//     submits every queued send in one call and settles each: what the
//     kernel did not take goes in front of the connection's output, as
//     writeDirect would have put it.
//   - flushDirty queues a send (or a sendmsg of up to 16 buffers) of each
//     dirty connection's output, which stays queued and unchanged until
//     the send is settled, and submits them together.
//   - Anything that needs a connection's output to be in order with the
//     kernel's (flush, FIN, close, another direct write) first settles the
//     connection's send (settle), so the batching changes when the system
//     calls happen, never their order.
//
// So an iteration with k readable connections costs about 2 system calls
// instead of 2k. Every operation carries MSG_DONTWAIT, so it completes
// inside the submit (EAGAIN where a plain call would; NewRing checks it) and
// a submit never waits. If the ring fails, the operations it did not
// perform come back as EINTR, are redone with plain calls, and the loop
// makes plain calls from then on.
const (
	ringSlots   = 32            // reads per submit
	ringSlot    = 16 << 10      // bytes per read slot in a full round
	ringEntries = 2 * ringSlots // ring capacity: a round's reads, or its writes
)

// ringWrite is a send on the ring: of b (an echo kept by reference, in
// the read arena), or of the first want bytes of c's output (b nil), in
// nbufs buffers.
type ringWrite struct {
	c       *Conn
	b       []byte
	want    int
	nbufs   int
	res     int32 // the result, once submitted
	settled bool
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
}

// batching reports whether the loop batches through its ring: it has one,
// and the ring has not failed.
func (l *Loop) batching() bool { return l.ring != nil && !l.ringOff }

// IOUring reports whether the loop batches its socket reads and writes
// through io_uring now (Options.IOUring, a kernel that has it, and a ring
// that has not failed). Output queued by reference (Conn.WriteShared) then
// goes out with the other flushes of the iteration in one system call,
// which beats writing it at once (Conn.WriteNow). Loop only; O(1).
func (l *Loop) IOUring() bool { return l.batching() }

// checkRing stops the batching for good if the ring failed: the
// operations it could not perform came back as EINTR and are redone with
// plain calls.
func (l *Loop) checkRing() {
	if err := l.ring.Err(); err != nil && !l.ringOff {
		l.ringOff = true
		l.opts.Logger.Error("ioloop: io_uring failed; the loop goes on with plain reads and writes", "loop", l.idx, "err", err)
	}
}

func (l *Loop) closeRing() {
	if l.ring != nil {
		_ = l.ring.Close()
		l.ring = nil
	}
}

// slot returns read slot i of the arena for a round of k reads: the arena
// is shared out evenly, up to Options.ReadBufferSize each, so a lone
// connection reads as much at once as a plain read would.
func (l *Loop) slot(i, k int) []byte {
	n := min(len(l.arena)/k, l.opts.ReadBufferSize)
	return l.arena[i*n : (i+1)*n : (i+1)*n]
}

// batchable reports whether an event with flags f is only "readable" for c,
// so its read can be batched: onEvent would do nothing but read.
func (c *Conn) batchable(f poller.Flags) bool {
	return f&poller.Readable != 0 && f&^(poller.Readable|poller.Writable) == 0 &&
		c.state == StateOpen && c.flags&(fWriteBlocked|fRedeliver|fEOF|fRdhup|fInFlight) == 0 &&
		!c.readPaused()
}

// queueRead adds c to the round of reads.
func (l *Loop) queueRead(c *Conn) {
	if len(l.rq) == ringSlots {
		l.runReads()
	}
	c.flags |= fReadReady
	l.rq = append(l.rq, c)
}

// runReads submits a receive for each connection of the round, each into
// its slot of the arena, and hands each result to its connection in order,
// then finishes the writes the round queued.
func (l *Loop) runReads() {
	if len(l.wq) > 0 {
		l.finishWrites() // never happens: a round ends with its writes done
	}
	rq := l.rq
	for i, c := range rq {
		l.ring.Read(int(c.fd), l.slot(i, len(rq)))
	}
	var res [ringSlots]int32 // a callback below may submit sends
	k := copy(res[:], l.ring.Submit())
	l.submits++
	l.ringOps += k
	l.checkRing()
	left := l.left
	for i, c := range rq[:k] {
		rq[i] = nil
		l.left = left + k - i - 1
		n, err := sock.RingResult("read", res[i])
		c.readBatched(l.slot(i, k), n, err)
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
	l.reserve()
	l.ring.Write(int(c.fd), b)
	l.wq = append(l.wq, ringWrite{c: c, b: b, want: len(b), nbufs: 1})
	c.flags |= fInFlight
}

// queueFlush queues a send of c's output, if it fits one: the buffers stay
// queued (unchanged) until the send is settled. The caller made room with
// reserve.
func (l *Loop) queueFlush(c *Conn) bool {
	if c.outLen() == 0 || c.is(fInFlight) || c.io.out.Segments() > sock.RingIovecs {
		return false
	}
	iov := c.io.out.Iovecs(l.iov[:0], sock.RingIovecs)
	want := 0
	for _, b := range iov {
		want += len(b)
	}
	if len(iov) == 1 {
		l.ring.Write(int(c.fd), iov[0])
	} else {
		l.ring.Writev(int(c.fd), iov)
	}
	l.wq = append(l.wq, ringWrite{c: c, want: want, nbufs: len(iov)})
	clear(iov)
	c.flags |= fInFlight
	return true
}

// reserve makes room on the ring for one more send.
func (l *Loop) reserve() {
	if l.ring.Queued() == ringEntries {
		l.finishWrites()
	}
}

// finishWrites submits the queued sends and settles each. Settling runs
// callbacks (WriteRef completions, backpressure, OnClose) that may queue
// more sends or settle one out of turn (settle): the loop takes those too,
// so when it returns nothing is on the ring.
func (l *Loop) finishWrites() {
	for {
		for l.wdone < l.wsub {
			i := l.wdone
			l.wdone++
			if !l.wq[i].settled {
				l.settleAt(i)
			}
		}
		if l.wsub == len(l.wq) {
			break
		}
		res := l.ring.Submit()
		l.submits++
		l.ringOps += len(res)
		l.checkRing()
		for j, r := range res {
			l.wq[l.wsub+j].res = r
		}
		l.wsub += len(res)
	}
	clear(l.wq)
	l.wq, l.wsub, l.wdone = l.wq[:0], 0, 0
}

// settle makes sure c has no send on the ring, so that what it does next
// (write, flush, FIN, close) follows the send: it settles c's send if it
// was submitted, else submits the queued sends, c's among them.
func (c *Conn) settle() {
	l := c.l
	for i := l.wdone; i < l.wsub; i++ {
		if w := &l.wq[i]; w.c == c && !w.settled {
			l.settleAt(i)
			return
		}
	}
	l.finishWrites()
}

// settleAt settles submitted send i. The entry is copied first: a callback
// may finish every write and clear the queue.
func (l *Loop) settleAt(i int) {
	w := l.wq[i]
	l.wq[i].settled = true
	w.c.flags &^= fInFlight
	n, err := sock.RingResult("write", w.res)
	if l.onWritev != nil {
		l.onWritev(int(w.c.fd), w.nbufs, n)
	}
	if w.b != nil {
		w.c.wrote(w.b, n, err)
	} else {
		w.c.wroteOut(w.want, n, err)
	}
}

// wroteOut settles a send of want bytes of c's output like one turn of
// flush, then goes on like flush.
func (c *Conn) wroteOut(want, n int, err error) {
	l := c.l
	if c.state == StateClosed {
		return
	}
	if n > 0 {
		c.io.out.Advance(l.pool, n)
		c.lastActive = l.now
	}
	switch {
	case err == syscall.EAGAIN || err == nil && n < want:
		c.flags |= fWriteBlocked
	case err != nil && err != syscall.EINTR:
		c.fail(err)
		return
	}
	if c.is(fWriteBlocked) {
		c.flushed()
	} else {
		c.flush() // what the send did not cover, then flushed
	}
}
