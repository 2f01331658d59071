package ioloop

import (
	"time"

	"github.com/ioloop/ioloop/internal/timer"
)

func (c *Conn) idle() time.Duration {
	if c.ext != nil && c.ext.idleSet {
		return c.ext.idle
	}
	return c.l.opts.IdleTimeout
}

// SetIdleTimeout changes this connection's idle timeout (0 disables it).
// Loop only.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.l.mustOwn("Conn.SetIdleTimeout")
	e := c.extra()
	e.idle, e.idleSet = d, true
	c.armTimer()
}

// SetReadDeadline closes the connection with ErrReadDeadline if no input
// arrives by t; the zero time removes the deadline. Any input arriving clears
// it (set it again for the next read). Loop only.
func (c *Conn) SetReadDeadline(t time.Time) {
	c.l.mustOwn("Conn.SetReadDeadline")
	d := c.deadlines()
	d.readT = c.setDeadline(d.readT, t, &d.read, d.readFn)
}

// SetWriteDeadline closes the connection with ErrWriteDeadline if output is
// still queued at t; the zero time removes the deadline. Loop only.
func (c *Conn) SetWriteDeadline(t time.Time) {
	c.l.mustOwn("Conn.SetWriteDeadline")
	d := c.deadlines()
	d.writeT = c.setDeadline(d.writeT, t, &d.write, d.writeFn)
}

// extra returns the connection's connExtra, allocating it on first use.
func (c *Conn) extra() *connExtra {
	if c.ext == nil {
		c.ext = &connExtra{}
	}
	return c.ext
}

// deadlines returns extra() with the deadline timers' functions made.
func (c *Conn) deadlines() *connExtra {
	d := c.extra()
	if d.readFn == nil {
		d.readFn = func() {
			if d.read != 0 && c.state == StateOpen {
				c.fail(ErrReadDeadline)
			}
		}
		d.writeFn = func() {
			if d.write != 0 && c.outLen() > 0 && c.state < StateClosed {
				c.fail(ErrWriteDeadline)
			}
		}
	}
	return d
}

func (c *Conn) setDeadline(h timer.Handle, t time.Time, at *int64, fn func()) timer.Handle {
	c.l.timers.Cancel(h)
	if t.IsZero() || c.state == StateClosed {
		*at = 0
		return timer.Handle{}
	}
	*at = c.l.now + int64(t.Sub(c.l.Now()))
	return c.l.timers.Schedule(*at, 0, fn)
}

// armTimer (re)starts the connection's timer for its current phase: idle
// timeout when open.
func (c *Conn) armTimer() {
	if c.state != StateOpen || c.is(fTLS) && c.ext.tls.phase < tlsOpen {
		return // the handshake timeout runs
	}
	c.l.timers.Cancel(c.tm)
	c.tm = timer.Handle{}
	if d := c.idle(); d > 0 {
		c.tm = c.l.timers.ScheduleTask(c.lastActive+int64(d), 0, (*connTimer)(c))
	}
}

// connTimer is a Conn seen as the task of its timer: scheduling it binds no
// closure, so a connection's timer allocates nothing.
type connTimer Conn

func (t *connTimer) Run() { (*Conn)(t).onTimer() }

// onTimer is the connection's one timer: dial timeout, idle timeout or
// linger, by state. The idle timer is lazy: activity only stamps lastActive,
// and the timer, when it fires early, re-arms for the rest.
func (c *Conn) onTimer() {
	c.tm = timer.Handle{}
	switch c.state {
	case StateConnecting:
		c.destroy(ErrDialTimeout)
	case StateOpen:
		if c.is(fTLS) && c.ext.tls.phase < tlsOpen {
			c.fail(ErrTLSHandshakeTimeout)
			return
		}
		d := c.idle()
		if d <= 0 {
			return
		}
		if due := c.lastActive + int64(d); due > c.l.now {
			c.tm = c.l.timers.ScheduleTask(due, 0, (*connTimer)(c))
			return
		}
		c.beginClose(ErrIdleTimeout)
	case StateClosing:
		if c.outLen() > 0 {
			c.destroy(ErrLingerTimeout)
		} else {
			c.destroy(c.closeErr())
		}
	}
}
