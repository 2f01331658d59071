package ioloop

import (
	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/sock"
)

func (c *Conn) closeErr() error {
	if c.ext == nil {
		return nil
	}
	return c.ext.closeErr
}

func (c *Conn) setCloseErr(err error) {
	if err != nil && c.closeErr() == nil {
		c.extra().closeErr = err
	}
}

// Close closes the connection gracefully: no more input is delivered, the
// queued output is flushed (for at most Options.Linger), then FIN is sent and,
// once the peer finishes too (or Linger passes), the socket is closed and
// OnClose runs. Later calls do nothing. It returns nil (errors reach
// OnClose). From a callback it takes effect when the callback returns; from
// another goroutine, in the loop's next iteration, even when the loop's
// mailbox is full (the request is never refused). Safe from any goroutine.
func (c *Conn) Close() error {
	c.request(reqClose)
	return nil
}

// CloseWrite sends FIN after the queued output (half-close); the connection
// keeps reading until the peer closes too. It takes effect as promptly as
// Close. Safe from any goroutine.
func (c *Conn) CloseWrite() error {
	c.request(reqCloseWrite)
	return nil
}

// Abort closes the connection at once with a reset (RST), dropping queued
// input and output. OnClose gets ErrAborted. It takes effect as promptly as
// Close. Safe from any goroutine.
func (c *Conn) Abort() error {
	c.request(reqAbort)
	return nil
}

func (c *Conn) request(r uint32) {
	for {
		old := c.req.Load()
		if old&r != 0 {
			return
		}
		if c.req.CompareAndSwap(old, old|r) {
			break
		}
	}
	// The loop also checks requests after every callback, so a request made
	// inside a callback takes effect before the next one; this task covers
	// requests from other goroutines.
	c.l.pushUrgent(mailbox.Func(c.handleRequests)) // never refused, and ahead of any backlog
}

// handleRequests carries out Close/CloseWrite/Abort requests. Loop only.
func (c *Conn) handleRequests() {
	r := c.req.Load()
	if r == 0 || c.state == StateClosed {
		return
	}
	switch {
	case r&reqAbort != 0:
		_ = sock.SetLingerZero(int(c.fd))
		c.destroy(ErrAborted)
	case r&reqClose != 0:
		c.beginClose(nil)
	case r&reqCloseWrite != 0:
		if c.is(fTLS) && c.state == StateOpen {
			c.tlsCloseNotify()
		}
		if c.state == StateOpen && !c.is(fWriteShut) && c.outLen() == 0 {
			c.shutWrite()
		}
	}
}

// shutWrite sends FIN. A closing connection then waits for the peer's FIN
// (reading and dropping input) so that its last bytes are not lost to a
// reset, bounded by Options.Linger.
func (c *Conn) shutWrite() {
	if c.is(fInFlight) {
		c.settle() // FIN goes after the send
		if c.state == StateClosed || c.is(fWriteShut) || c.outLen() > 0 {
			return // closed, or shut meanwhile, or the flush of what the send left sends the FIN
		}
	}
	c.flags |= fWriteShut
	if err := sock.ShutdownWrite(int(c.fd)); err != nil {
		c.destroy(c.closeErrOr(err))
		return
	}
	if c.is(fEOF) && c.state == StateClosing || c.is(fEOF) && c.req.Load()&reqCloseWrite != 0 {
		c.destroy(c.closeErr())
		return
	}
	if c.state == StateClosing {
		c.flags |= fReadReady
		c.l.addReady(c) // read to the peer's FIN
	}
}

func (c *Conn) closeErrOr(err error) error {
	if e := c.closeErr(); e != nil {
		return e
	}
	return err
}

// beginClose starts a graceful close; err (may be nil) goes to OnClose.
func (c *Conn) beginClose(err error) {
	if c.is(fInFlight) {
		c.settle() // so the output below is all there is (its callbacks may close c)
	}
	switch c.state {
	case StateClosed, StateClosing:
		return
	case StateConnecting:
		c.destroy(c.closeErrOr(err))
		return
	}
	if c.is(fTLS) {
		c.tlsCloseNotify() // before the state changes: writes are refused after
	}
	c.state = StateClosing
	c.setCloseErr(err)
	c.l.timers.Cancel(c.tm)
	c.tm = c.l.timers.ScheduleTask(c.l.now+int64(c.l.opts.Linger), 0, (*connTimer)(c))
	if c.io != nil && c.l.viewConn != c {
		c.io.in.Release(c.l.pool) // else deliver releases it when OnData returns
		c.releaseIO()
	}
	if c.outLen() == 0 {
		if !c.is(fWriteShut) {
			c.shutWrite()
		} else if c.is(fEOF) {
			c.destroy(c.closeErr())
		}
		return
	}
	if !c.is(fDirty) && !c.is(fWriteBlocked) {
		c.flags |= fDirty
		c.l.dirty = append(c.l.dirty, c)
	}
}

// fail closes the connection at once because of err.
func (c *Conn) fail(err error) { c.destroy(c.closeErrOr(err)) }

// destroy closes the socket, releases the buffers and runs OnClose, once.
func (c *Conn) destroy(err error) {
	if c.state == StateClosed {
		return
	}
	if c.is(fInFlight) {
		c.settle() // before the descriptor closes (and may be reused)
		if c.state == StateClosed {
			return
		}
	}
	c.state = StateClosed
	l := c.l
	if l.viewConn == c {
		l.pend = nil // a write kept by reference is dropped like queued output
	}
	if c.gen != 0 {
		l.unregister(c.slot)
	}
	_ = sock.Close(int(c.fd))
	l.timers.Cancel(c.tm)
	if c.ext != nil {
		l.timers.Cancel(c.ext.readT)
		l.timers.Cancel(c.ext.writeT)
	}
	if io := c.io; io != nil {
		c.io = nil
		outErr := err
		if outErr == nil {
			outErr = ErrClosed
		}
		io.out.Reset(l.pool, outErr)
		if l.viewConn != c { // else deliver releases the input when OnData returns
			io.in.Release(l.pool)
			l.putIO(io)
		}
	}
	if c.is(fTLS) {
		err = c.tlsDestroy(err)
	}
	l.nconns.Add(-1)
	l.g.connDone()
	c.callClose(err)
	if c.ext != nil && c.ext.dialed != nil {
		if err == nil {
			err = ErrClosed
		}
		c.ext.dialed.Reject(err) // no-op when the dial had succeeded
	}
}
