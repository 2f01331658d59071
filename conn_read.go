package ioloop

import (
	"io"
	"syscall"

	"github.com/ioloop/ioloop/internal/sock"
)

// EOF reports whether the peer has finished sending. Loop only.
func (c *Conn) EOF() bool {
	c.l.mustOwn("Conn.EOF")
	return c.is(fEOF)
}

// input returns the unconsumed input: the bytes lent to the running OnData
// callback, or the connection's buffer.
func (c *Conn) input() []byte {
	if c.l.viewConn == c {
		return c.l.view
	}
	if c.io == nil {
		return nil
	}
	return c.io.in.Bytes()
}

// Buffered returns the number of input bytes not yet consumed. Loop only.
func (c *Conn) Buffered() int {
	c.l.mustOwn("Conn.Buffered")
	if c.l.viewConn == c {
		return len(c.l.view)
	}
	return c.inLen()
}

// Peek returns the next n input bytes without consuming them; n < 0 returns
// all of them. With fewer than n bytes buffered it returns what there is and
// io.ErrShortBuffer. The bytes are lent: valid only until the callback
// returns. Loop only; no copy, no allocation.
func (c *Conn) Peek(n int) ([]byte, error) {
	c.l.mustOwn("Conn.Peek")
	b := c.input()
	if n < 0 {
		return b, nil
	}
	if n > len(b) {
		return b, io.ErrShortBuffer
	}
	return b[:n:n], nil
}

// Next consumes and returns the next n input bytes; n < 0 consumes all of
// them. With fewer than n bytes buffered it consumes nothing and returns
// io.ErrShortBuffer. The bytes are lent: valid only until the callback
// returns. Loop only; no copy, no allocation.
func (c *Conn) Next(n int) ([]byte, error) {
	c.l.mustOwn("Conn.Next")
	b := c.input()
	if n < 0 {
		n = len(b)
	}
	if n > len(b) {
		return nil, io.ErrShortBuffer
	}
	c.consume(n)
	return b[:n:n], nil
}

// Discard consumes up to n input bytes and returns how many it consumed; n < 0
// discards everything buffered. Loop only.
func (c *Conn) Discard(n int) int {
	c.l.mustOwn("Conn.Discard")
	b := len(c.input())
	if n < 0 || n > b {
		n = b
	}
	c.consume(n)
	return n
}

func (c *Conn) consume(n int) {
	if c.l.viewConn == c {
		c.l.view = c.l.view[n:]
	} else if n > 0 {
		c.io.in.Discard(c.l.pool, n)
		c.releaseIO()
	}
}

// PauseRead stops delivering input (and reading from the socket) until
// ResumeRead: the kernel's buffers then push back on the peer. Loop only.
func (c *Conn) PauseRead() {
	c.l.mustOwn("Conn.PauseRead")
	c.flags |= fUserPaused
}

// ResumeRead undoes PauseRead; buffered input is offered again to OnData.
// Loop only.
func (c *Conn) ResumeRead() {
	c.l.mustOwn("Conn.ResumeRead")
	if c.is(fUserPaused) {
		c.flags &^= fUserPaused
		c.resume()
	}
}

func (c *Conn) resume() {
	if c.state != StateOpen || c.readPaused() {
		return
	}
	c.setFlag(fRedeliver, c.inLen() > 0 || c.is(fTLS))
	c.l.addReady(c)
}

func (c *Conn) readPaused() bool {
	return c.is(fBpPaused) && !c.is(fKeepReading) || c.flags&(fUserPaused|fTLSHold) != 0
}

// SetPauseOnBackpressure chooses whether reading pauses while the queued
// output is above Options.HighWater (true, the default) or goes on (false).
// OnBackpressure is called at the marks either way, and Options.MaxOutput
// still bounds the output. Keep reading when the handler applies its own
// policy to a slow peer (drop or close, as the websocket package's
// Config.SlowConsumer does), or when pausing could deadlock: two peers that
// each write more than the mark to the other before reading would both stop
// reading. Loop only; no allocation.
func (c *Conn) SetPauseOnBackpressure(pause bool) {
	c.l.mustOwn("Conn.SetPauseOnBackpressure")
	c.setFlag(fKeepReading, !pause)
	if !pause && c.is(fBpPaused) {
		c.resume()
	}
}

// read reads what the socket has, within the loop's per-connection budget.
func (c *Conn) read() { c.readOn(0, readBudget) }

// readOn reads up to reads times more, total bytes having been read already.
func (c *Conn) readOn(total, reads int) {
	l := c.l
	for range reads {
		if c.state == StateClosed || c.flags&(fEOF|fTLSFin) != 0 || (c.state == StateOpen && c.readPaused()) {
			return
		}
		n, err := sock.Read(int(c.fd), l.scratch)
		if !c.readDone(l.scratch, n, err, &total) {
			return
		}
	}
	l.addReady(c)
}

// readDone handles the result of one read into buf (n bytes, or err) and
// reports whether to read again.
func (c *Conn) readDone(buf []byte, n int, err error, total *int) bool {
	l := c.l
	if n > 0 {
		c.lastActive = l.now
		if c.state == StateOpen {
			c.received(buf[:n])
		} // while closing, input is read and dropped
		*total += n
		if n < len(buf) && !c.is(fRdhup) {
			c.flags &^= fReadReady // a short read drained the socket
			return false
		}
		if *total >= readBytesBudget {
			l.addReady(c)
			return false
		}
		return true
	}
	switch err {
	case nil:
		c.flags &^= fReadReady
		if c.is(fTLS) && c.state == StateOpen {
			c.tlsEOF()
		} else {
			c.peerEOF()
		}
		return false
	case syscall.EAGAIN:
		c.flags &^= fReadReady
		return false
	case syscall.EINTR:
		return true
	}
	c.fail(err)
	return false
}

// deliver offers data (and whatever input was left before it) to OnData and
// keeps what the handler left.
func (c *Conn) deliver(data []byte) {
	l := c.l
	if c.ext != nil && c.ext.read != 0 && len(data) > 0 {
		c.ext.read = 0
		l.timers.Cancel(c.ext.readT)
	}
	if c.inLen() == 0 {
		l.viewConn, l.view, l.lent = c, data, data
		c.callData()
		rest := l.view
		l.viewConn, l.view, l.lent = nil, nil, nil
		if len(rest) > 0 && c.state == StateOpen {
			if len(rest) > l.opts.MaxInput {
				c.fail(ErrInputLimit)
				return
			}
			c.getIO().in.Append(l.pool, rest)
		}
		return
	}
	if c.io.in.Len()+len(data) > l.opts.MaxInput {
		c.fail(ErrInputLimit)
		return
	}
	io := c.io
	io.in.Append(l.pool, data)
	view := io.in.Bytes()
	l.viewConn, l.view, l.lent = c, view, view
	c.callData()
	consumed := len(view) - len(l.view)
	l.viewConn, l.view, l.lent = nil, nil, nil
	if c.state == StateOpen {
		io.in.Discard(l.pool, consumed)
	} else {
		io.in.Release(l.pool) // closing or closed: input is no longer delivered
	}
	if c.io == io {
		c.releaseIO()
	} else if io.out.Len() == 0 {
		l.putIO(io) // destroy left it to us: the handler's view pointed into it
	}
}

func (c *Conn) peerEOF() {
	c.flags |= fEOF
	if c.state == StateClosing {
		if c.is(fWriteShut) {
			c.destroy(c.closeErr())
		}
		return
	}
	c.callEOF()
	if c.state == StateOpen && c.is(fWriteShut) {
		c.destroy(c.closeErr()) // both directions are finished
	}
}
