package ioloop

import (
	"syscall"

	"github.com/ioloop/ioloop/internal/mailbox"
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
	c.l.mustOwn("Conn.Write")
	l := c.l
	keep := l.viewConn == c && l.pend == nil && !c.is(fTLS) && len(b) > 0 && within(b, l.lent) && c.outLen() == 0 && !c.is(fWriteBlocked)
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
	if c.is(fTLS) {
		if err := c.tlsWrite(b, nil); err != nil {
			return 0, err
		}
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

// WriteRef queues b by reference instead of copying it: hand over a buffer
// and get it back in done. b must not change until done runs, which suits
// a buffer the caller recycles or an immutable one sent to many
// connections (a prepared broadcast frame). done, if not nil, runs exactly
// once, on the loop and never inside WriteRef: with nil once all of b was
// handed to the kernel, or with the error that stopped it (the connection
// closed first, or the error WriteRef returns). WriteRef fails with
// ErrClosed after Close or CloseWrite, and closes the connection with
// ErrOutputLimit if the queued output would pass Options.MaxOutput; its
// writes are ordered with Write's. Loop only. Cost: no copy; no allocation
// once the loop has recycled buffers (a failed call allocates done's task).
func (c *Conn) WriteRef(b []byte, done func(error)) error {
	c.l.mustOwn("Conn.WriteRef")
	c.unpend()
	if err := c.writable(len(b)); err != nil {
		if done != nil {
			c.l.push(mailbox.Func(func() { done(err) }))
		}
		return err
	}
	if c.is(fTLS) {
		return c.tlsWrite(b, done)
	}
	c.getIO().out.WriteRef(b, done)
	c.queued()
	return nil
}

func (c *Conn) writable(n int) error {
	if c.state > StateOpen || c.is(fWriteShut) || c.req.Load()&(reqClose|reqCloseWrite|reqAbort) != 0 {
		return ErrClosed
	}
	if c.outLen()+c.earlyLen()+n > c.l.opts.MaxOutput {
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
	c.l.mustOwn("Conn.OutputLen")
	if c.l.viewConn == c {
		return c.outLen() + len(c.l.pend)
	}
	return c.outLen()
}

// AsyncWrite is WriteRef from any goroutine: it hands b to the
// connection's loop, which queues it by reference after everything written
// before. b must not change until done runs. done, if not nil, runs exactly
// once, on the connection's loop: with nil once all of b was handed to the
// kernel, or with the error that stopped it (ErrClosed when the connection
// closed first, ErrOutputLimit, ...). AsyncWrite is never refused, even
// when the loop's mailbox is full (see Options.MailboxSize): a goroutine
// that writes faster than the peer reads bounds its own writes in flight
// by waiting for done (or for WriteFuture's future). Safe from any
// goroutine. Cost: one queued task and its closure.
func (c *Conn) AsyncWrite(b []byte, done func(error)) {
	c.l.push(mailbox.Func(func() { _ = c.WriteRef(b, done) }))
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
