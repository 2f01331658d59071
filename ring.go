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

// uring is a loop's io_uring state (Options.IOUring): the ring, its read
// arena and the round's queued reads and sends. Without a ring (no
// Options.IOUring, or a kernel that has none) ring is nil and the loop makes
// one system call per read and write. Owned by the loop goroutine.
type uring struct {
	ring    *sock.Ring
	off     bool        // the ring failed: plain calls from then on
	arena   []byte      // ringSlots read slots of ringSlot bytes
	slotMax int         // Options.ReadBufferSize: the most a read slot holds
	rq      []*Conn     // connections whose read is queued, by slot
	wq      []ringWrite // sends: [:wsub] submitted, [wsub:] queued
	wsub    int         // sends submitted
	wdone   int         // sends before it are settled (later ones may be too)
	submits int         // ring submits and operations, for tests
	ops     int
}

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

// initRing sets up the loop's ring, or leaves l.ur.ring nil (one system call per
// read and write) when the kernel has none.
func (l *Loop) initRing() {
	r, err := sock.NewRing(ringEntries)
	if err != nil {
		if !errors.Is(err, sock.ErrRingUnavailable) {
			l.opts.Logger.Warn("ioloop: io_uring set-up failed; using plain reads and writes", "loop", l.idx, "err", err)
		}
		return
	}
	l.ur = uring{
		ring:    r,
		arena:   make([]byte, ringSlots*min(ringSlot, l.opts.ReadBufferSize)),
		slotMax: l.opts.ReadBufferSize,
		rq:      make([]*Conn, 0, ringSlots),
		wq:      make([]ringWrite, 0, ringEntries),
	}
}

// batching reports whether the loop batches through its ring: it has one,
// and the ring has not failed.
func (u *uring) batching() bool { return u.ring != nil && !u.off }

// checkRing stops the batching for good if the ring failed: the
// operations it could not perform came back as EINTR and are redone with
// plain calls.
func (l *Loop) checkRing() {
	if err := l.ur.ring.Err(); err != nil && !l.ur.off {
		l.ur.off = true
		l.opts.Logger.Error("ioloop: io_uring failed; the loop goes on with plain reads and writes", "loop", l.idx, "err", err)
	}
}

// submit hands the queued operations to the kernel and returns their
// results, valid until the next submit; it counts the submit and its
// operations for tests.
func (u *uring) submit() []int32 {
	res := u.ring.Submit()
	u.submits++
	u.ops += len(res)
	return res
}

// close closes the ring, if there is one.
func (u *uring) close() {
	if u.ring != nil {
		_ = u.ring.Close()
		u.ring = nil
	}
}

// slot returns read slot i of the arena for a round of k reads: the arena
// is shared out evenly, up to Options.ReadBufferSize each, so a lone
// connection reads as much at once as a plain read would.
func (u *uring) slot(i, k int) []byte {
	n := min(len(u.arena)/k, u.slotMax)
	return u.arena[i*n : (i+1)*n : (i+1)*n]
}

// batchable reports whether an event with flags f is only "readable" for c,
// so its read can be batched: onEvent would do nothing but read.
func (c *Conn) batchable(f poller.Flags) bool {
	return f&poller.Readable != 0 && f&^(poller.Readable|poller.Writable) == 0 &&
		c.state == StateOpen && c.flags&(fWriteBlocked|fRedeliver|fEOF|fTLSFin|fRdhup|fInFlight) == 0 &&
		!c.readPaused()
}

// queueRead adds c to the round of reads.
func (l *Loop) queueRead(c *Conn) {
	if len(l.ur.rq) == ringSlots {
		l.runReads()
	}
	c.flags |= fReadReady
	l.ur.rq = append(l.ur.rq, c)
}

// runReads submits a receive for each connection of the round, each into
// its slot of the arena, and hands each result to its connection in order,
// then finishes the writes the round queued.
func (l *Loop) runReads() {
	if len(l.ur.wq) > 0 {
		// Sends queued outside a round: a round and flushDirty each end
		// with their sends done, so only a callback writing arena bytes it
		// kept past their callback gets here. Finish them first: the reads
		// below reuse the arena.
		l.finishWrites()
	}
	rq := l.ur.rq
	for i, c := range rq {
		l.ur.ring.Read(int(c.fd), l.ur.slot(i, len(rq)))
	}
	var res [ringSlots]int32 // a callback below may submit sends
	k := copy(res[:], l.ur.submit())
	l.checkRing()
	left := l.left
	for i, c := range rq[:k] {
		rq[i] = nil
		l.left = left + k - i - 1
		n, err := sock.RingResult("read", res[i])
		c.readBatched(l.ur.slot(i, k), n, err)
	}
	l.ur.rq = rq[:0]
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
	l.ur.ring.Write(int(c.fd), b)
	l.ur.wq = append(l.ur.wq, ringWrite{c: c, b: b, want: len(b), nbufs: 1})
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
		l.ur.ring.Write(int(c.fd), iov[0])
	} else {
		l.ur.ring.Writev(int(c.fd), iov)
	}
	l.ur.wq = append(l.ur.wq, ringWrite{c: c, want: want, nbufs: len(iov)})
	clear(iov)
	c.flags |= fInFlight
	return true
}

// reserve makes room on the ring for one more send.
func (l *Loop) reserve() {
	if l.ur.ring.Queued() == ringEntries {
		l.finishWrites()
	}
}

// finishWrites submits the queued sends and settles each. Settling runs
// callbacks (WriteRef completions, backpressure, OnClose) that may queue
// more sends or settle one out of turn (settle): the loop takes those too,
// so when it returns nothing is on the ring.
func (l *Loop) finishWrites() {
	for {
		for l.ur.wdone < l.ur.wsub {
			i := l.ur.wdone
			l.ur.wdone++
			if !l.ur.wq[i].settled {
				l.settleAt(i)
			}
		}
		if l.ur.wsub == len(l.ur.wq) {
			break
		}
		res := l.ur.submit()
		l.checkRing()
		for j, r := range res {
			l.ur.wq[l.ur.wsub+j].res = r
		}
		l.ur.wsub += len(res)
	}
	clear(l.ur.wq)
	l.ur.wq, l.ur.wsub, l.ur.wdone = l.ur.wq[:0], 0, 0
}

// settle makes sure c has no send on the ring, so that what it does next
// (write, flush, FIN, close) follows the send: it settles c's send if it
// was submitted, else submits the queued sends, c's among them.
func (c *Conn) settle() {
	l := c.l
	for i := l.ur.wdone; i < l.ur.wsub; i++ {
		if w := &l.ur.wq[i]; w.c == c && !w.settled {
			l.settleAt(i)
			return
		}
	}
	l.finishWrites()
}

// settleAt settles submitted send i. The entry is copied first: a callback
// may finish every write and clear the queue.
func (l *Loop) settleAt(i int) {
	w := l.ur.wq[i]
	l.ur.wq[i].settled = true
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
