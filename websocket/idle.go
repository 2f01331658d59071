package websocket

import "github.com/ioloop/ioloop"

// The idle limit. ioloop.Options.IdleTimeout ends an ioloop connection
// that had no reads or writes for that long by closing its socket, which a
// WebSocket peer sees as 1006 (no close frame). So an open WebSocket
// connection takes the limit over: it switches its ioloop connection's own
// idle timer off and checks idleness itself, on WebSocket terms, ending an
// idle connection with the close handshake (see the package doc).
//
// Idle means that no frame went either way: nothing arrived from the peer
// (any frame, a pong included) and the application sent nothing (a
// message, a fragment or a Ping). The keep-alive pings this side sends on
// its own (Config.PingInterval) do not count: only the peer's answers do.
//
// Cost: activity stamps idleAt with the loop's cached time, once per input
// batch and once per send; one timer per connection runs at most once per
// IdleTimeout and re-arms itself for the rest when activity moved the
// deadline (no timer operation per frame).

// idleReason is the reason text of the close frame an idle connection gets.
const idleReason = "idle timeout"

// startIdle takes the idle limit over from the ioloop connection when the
// group sets one. Loop only.
func (c *Conn) startIdle() {
	d := c.c.Loop().Group().Options().IdleTimeout
	if d <= 0 {
		return
	}
	c.idle = d
	c.c.SetIdleTimeout(0)
	c.touch()
	c.idleFn = c.idleCheck
	c.idleTimer = c.c.Loop().AfterFunc(d, c.idleFn)
}

// touch records activity for the idle limit. Loop only; cost: none without
// an idle limit, one read of the loop's cached time with it.
func (c *Conn) touch() {
	if c.idle > 0 {
		c.idleAt = c.c.Loop().Now()
	}
}

// idleCheck is idleTimer's function: it re-arms for the rest of the limit
// when the connection was active since the timer was set, and otherwise
// starts the close handshake with 1001 (going away) and the cause
// ioloop.ErrIdleTimeout, bounded by Config.CloseTimeout.
func (c *Conn) idleCheck() {
	if c.state != stOpen {
		return
	}
	l := c.c.Loop()
	if rest := c.idle - l.Now().Sub(c.idleAt); rest > 0 {
		c.idleTimer = l.AfterFunc(rest, c.idleFn)
		return
	}
	_ = c.closeLocal(CloseGoingAway, idleReason, ioloop.ErrIdleTimeout)
}

// stopIdle cancels the idle timer. Loop only.
func (c *Conn) stopIdle() { c.idleTimer.Stop() }
