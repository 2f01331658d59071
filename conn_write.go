package ioloop

import (
	"syscall"

	"github.com/ioloop/ioloop/internal/sock"
)

// Write queues b to be sent; b may be reused as soon as Write returns.
// Output is flushed once per loop iteration with one writev per connection,
// so many small writes in one callback cost one system call. It fails with
// ErrClosed after Close or CloseWrite, and closes the connection with
// ErrOutputLimit if the queued output would pass Options.MaxOutput. Loop
// only.
//
// Cost: b is copied into pooled chunks, with one exception that makes an
// echo or a proxy copy-free. When b lies within the input this OnData call
// was lent (by Peek or Next) and is the call's first write to a connection
// with nothing queued, the loop keeps b and writes it as soon as OnData
// returns, copying only what the kernel does not take; so do not modify lent
// input after writing it.
func (c *Conn) Write(b []byte) (int, error) {
	l := c.l
	keep := l.viewConn == c && l.pend == nil && len(b) > 0 && within(b, l.lent) && c.outLen() == 0 && !c.is(fWriteBlocked)
	if !keep {
		c.unpend()
	}
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	if keep {
		l.pend = b // written by writePend when OnData returns
		return len(b), nil
	}
	c.getIO().out.Write(l.pool, b)
	c.queued()
	return len(b), nil
}

// unpend copies the write that Write kept by reference (if c has one) into
// the output queue, ahead of what follows. Loop only.
func (c *Conn) unpend() {
	l := c.l
	if l.pend == nil || l.viewConn != c {
		return
	}
	b := l.pend
	l.pend = nil
	c.getIO().out.Write(l.pool, b)
	c.queued()
}

// writePend writes the write that Write kept by reference, right after
// OnData returned (nothing else is queued for c then). Loop only.
func (c *Conn) writePend() {
	l := c.l
	b := l.pend
	l.pend = nil
	if c.state == StateClosed {
		return
	}
	c.writeDirect(b)
}

// WriteNow writes b at once: when nothing is queued for the connection, b
// goes to the kernel in this call (one write system call) and only what the
// kernel does not take is copied and queued; otherwise b is queued like
// Write. b may be reused as soon as WriteNow returns. It suits output that
// is gathered whole before it is written, in a buffer the caller reuses (a
// protocol's response): unlike Write, it saves the copy, but it does not
// batch with later writes of the same callback. A failed write is reported
// through the connection's close (OnClose), never from inside this call.
// Loop only.
func (c *Conn) WriteNow(b []byte) (int, error) {
	c.unpend()
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	if c.outLen() > 0 || c.is(fWriteBlocked) {
		c.getIO().out.Write(c.l.pool, b)
		c.queued()
		return len(b), nil
	}
	c.writeDirect(b)
	return len(b), nil
}

// writeDirect writes b with nothing queued before it, and queues a copy of
// what the kernel did not take. A hard error leaves b queued: the flush at
// the end of the iteration meets the error again and closes the connection
// there, outside the caller's stack. Loop only.
func (c *Conn) writeDirect(b []byte) {
	l := c.l
	if c.is(fInFlight) {
		c.settle() // its callbacks may close c or leave output queued
		if c.state == StateClosed {
			return
		}
		if c.outLen() > 0 || c.is(fWriteBlocked) {
			c.getIO().out.Write(l.pool, b) // behind what the send left
			c.queued()
			return
		}
	}
	if l.ur.batching() && within(b, l.ur.arena) {
		l.queueWrite(c, b) // the arena holds b until the round's writes are done
		return
	}
	iov := append(l.iov[:0], b)
	n, err := l.w.Writev(int(c.fd), iov)
	clear(iov)
	if l.onWritev != nil {
		l.onWritev(int(c.fd), 1, n)
	}
	c.wrote(b, max(n, 0), err)
}

// wrote settles a write of b that nothing queued preceded (writeDirect's,
// or its batched send): n bytes went out, or err. What the kernel did not
// take goes in front of the output queued since, if any (with a hard
// error too: the flush meets the error again and closes the connection
// there, outside the writer's stack).
func (c *Conn) wrote(b []byte, n int, err error) {
	l := c.l
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
		c.getIO().out.Prepend(l.pool, b[n:])
		c.queued()
	}
}

// WriteShared queues b by reference instead of copying it: b must not change
// until it has been written, which suits an immutable buffer sent to many
// connections (a prepared broadcast frame). Otherwise it is Write. Loop
// only; no copy, no allocation once the loop has recycled buffers.
func (c *Conn) WriteShared(b []byte) (int, error) {
	c.unpend()
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	c.getIO().out.WriteRef(b, nil)
	c.queued()
	return len(b), nil
}

// Writev queues the buffers in order, like one Write of their concatenation.
// Loop only.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	c.unpend()
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if err := c.writable(n); err != nil {
		return 0, err
	}
	io := c.getIO()
	for _, b := range bufs {
		io.out.Write(c.l.pool, b)
	}
	c.queued()
	return n, nil
}

// WriteString is Write for a string. Loop only.
func (c *Conn) WriteString(s string) (int, error) {
	return c.Write(unsafeBytes(s)) // Write never modifies b
}

func (c *Conn) writable(n int) error {
	if c.state > StateOpen || c.is(fWriteShut) || c.req.Load()&(reqClose|reqCloseWrite|reqAbort) != 0 {
		return ErrClosed
	}
	if c.outLen()+n > c.l.opts.MaxOutput {
		c.fail(ErrOutputLimit)
		return ErrOutputLimit
	}
	return nil
}

// queued runs after output was queued: mark for flushing, apply the water marks.
func (c *Conn) queued() {
	if !c.is(fDirty) {
		c.flags |= fDirty
		c.l.dirty = append(c.l.dirty, c)
	}
	if !c.is(fBpPaused) && c.l.flow.Next(false, c.io.out.Len()) {
		c.flags |= fBpPaused
		c.callBackpressure(true)
	}
}

// OutputLen returns the bytes queued and not yet handed to the kernel. Loop only.
func (c *Conn) OutputLen() int {
	if c.l.viewConn == c {
		return c.outLen() + len(c.l.pend)
	}
	return c.outLen()
}

// Flush tries to hand the queued output to the kernel now instead of at the
// end of the loop iteration. Loop only.
func (c *Conn) Flush() error {
	if c.state == StateClosed {
		return ErrClosed
	}
	if c.l.viewConn == c && c.l.pend != nil {
		c.writePend()
	}
	if !c.is(fWriteBlocked) {
		c.flush()
	}
	if c.state == StateClosed {
		return c.closeErr()
	}
	return nil
}

// AsyncWrite queues b from any goroutine. b is kept by reference, not copied:
// the caller must not change it until done runs. done, if not nil, runs on
// the connection's loop once all of b was handed to the kernel (n = len(b),
// err = nil), or when the connection closed first (err says why; n is 0).
// If the write cannot even be queued (the group is closed) done runs on the
// calling goroutine. Cost: one posted task.
func (c *Conn) AsyncWrite(b []byte, done func(n int, err error)) {
	err := c.l.Post(func() {
		if err := c.writable(len(b)); err != nil {
			if done != nil {
				done(0, err)
			}
			return
		}
		if done == nil {
			c.getIO().out.WriteRef(b, nil)
		} else {
			c.getIO().out.WriteRef(b, func(err error) {
				if err != nil {
					done(0, err)
				} else {
					done(len(b), nil)
				}
			})
		}
		c.queued()
	})
	if err != nil && done != nil {
		done(0, err)
	}
}

// flush hands queued output to the kernel.
func (c *Conn) flush() {
	l := c.l
	if c.is(fInFlight) {
		c.settle()
	}
	for c.outLen() > 0 {
		out := &c.io.out
		iov := out.Iovecs(l.iov[:0], sock.MaxIovecs)
		want := 0
		for _, b := range iov {
			want += len(b)
		}
		n, err := l.w.Writev(int(c.fd), iov)
		clear(iov)
		if l.onWritev != nil {
			l.onWritev(int(c.fd), len(iov), n)
		}
		if n > 0 {
			out.Advance(l.pool, n)
			c.lastActive = l.now
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			if err == syscall.EAGAIN {
				c.flags |= fWriteBlocked
				break
			}
			c.fail(err)
			return
		}
		if n < want {
			c.flags |= fWriteBlocked
			break
		}
	}
	c.flushed()
}

// flushed runs once the output went to the kernel as far as it took it:
// resume reading below the low water mark, release empty buffers, and send
// the FIN a close or CloseWrite waits for.
func (c *Conn) flushed() {
	l := c.l
	if c.state == StateClosed {
		return
	}
	size := c.outLen()
	if c.is(fBpPaused) && !l.flow.Next(true, size) {
		c.flags &^= fBpPaused
		c.callBackpressure(false)
		c.resume()
		if c.state == StateClosed {
			return
		}
	}
	if size == 0 {
		c.releaseIO()
		switch {
		case c.state == StateClosing && !c.is(fWriteShut):
			c.shutWrite()
		case c.req.Load()&reqCloseWrite != 0 && !c.is(fWriteShut):
			c.shutWrite()
		}
	}
}
