package websocket

import (
	"errors"
	"runtime/debug"
	"strconv"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// CloseError says how a connection ended; Handler.OnClose always gets one.
type CloseError struct {
	// Code is the close code: the peer's (Remote), the one this side sent,
	// or CloseAbnormal (1006) when no close frame was exchanged.
	Code int
	// Reason is the close frame's reason text.
	Reason string
	// Remote is set when the peer started the close handshake or sent a
	// close frame first.
	Remote bool
	// Err is the cause when the connection ended for a reason other than
	// a close frame the peer sent: a protocol violation, a time-out, the
	// transport's error. Nil after a clean handshake.
	Err error
}

// Error returns "websocket: close CODE REASON" and the cause, if any.
func (e *CloseError) Error() string {
	s := "websocket: close " + strconv.Itoa(e.Code)
	if e.Reason != "" {
		s += " " + strconv.Quote(e.Reason)
	}
	if e.Remote {
		s += " (by peer)"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *CloseError) Unwrap() error { return e.Err }

// OnEOF implements ioloop.Handler: the peer stopped sending without
// finishing the close handshake (or after it).
func (lh *loopHandler) OnEOF(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	if c.hs != nil {
		c.hs.fail(c, errors.New("websocket: handshake: connection closed by the server"))
		return
	}
	if c.closeErr == nil {
		c.closeErr = &CloseError{Code: CloseAbnormal, Err: errors.New("websocket: connection closed without a close frame")}
	}
	c.state = stClosing
	c.closeTransport()
}

// OnShutdown implements ioloop.Handler: a server shutting down closes with
// 1001 (going away).
func (lh *loopHandler) OnShutdown(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	if c.hs != nil {
		_ = ic.Close()
		return
	}
	_ = c.closeLocal(CloseGoingAway, "going away", nil)
}

// OnClose implements ioloop.Handler.
func (lh *loopHandler) OnClose(ic *ioloop.Conn, err error) {
	c := (*Conn)(lh)
	if c.c == nil {
		c.c = ic
	}
	if c.hs != nil {
		if err == nil {
			err = errors.New("websocket: handshake: connection closed")
		}
		c.hs.fail(c, err)
		return
	}
	wasOpen := c.state != stHandshake && c.state != stClosed
	c.state = stClosed
	c.closeTimer.Stop()
	c.pingTimer.Stop()
	c.drainTimer.Stop()
	c.stopIdle()
	if c.comp != nil {
		c.comp.Release()
	}
	if c.decomp != nil {
		c.decomp.Release()
	}
	c.msg, c.inflated, c.wbuf, c.spill = nil, nil, nil, nil
	if !wasOpen {
		return
	}
	ce := c.closeErr
	if ce == nil {
		ce = &CloseError{Code: CloseAbnormal, Err: err}
		if err == nil {
			ce.Err = errors.New("websocket: connection closed without a close frame")
			if c.closeReq.Load() == reqCloseNow {
				ce.Err = errClosedNow
			}
		}
	} else if ce.Err == nil && err != nil && !c.closeRecv {
		ce.Err = err
	}
	c.h.OnClose(c, ce)
}

// closeLocal starts the close handshake from this side.
func (c *Conn) closeLocal(code int, reason string, cause error) error {
	if c.state != stOpen {
		return ErrClosed
	}
	c.state = stClosing
	c.closeErr = &CloseError{Code: code, Reason: reason, Err: cause}
	if code == 0 {
		c.closeErr.Code = CloseNoStatus
	}
	c.closeSent = true
	c.writeClose(code, []byte(reason))
	c.closeTimer = c.c.Loop().AfterFunc(c.cfg.closeTimeout(), c.closeExpired)
	return nil
}

// closeTransport closes the ioloop connection gracefully (queued output
// first) once the close handshake is over on this side; with a spill left,
// when the spill has drained, bounded by Config.CloseTimeout.
func (c *Conn) closeTransport() {
	if len(c.spill) == 0 {
		_ = c.c.Close()
		return
	}
	c.closeAfter = true
	c.closeTimer.Stop()
	c.closeTimer = c.c.Loop().AfterFunc(c.cfg.closeTimeout(), c.closeExpired)
}

func (c *Conn) closeExpired() {
	if c.state == stClosed {
		return
	}
	if c.closeErr != nil && c.closeErr.Err == nil {
		c.closeErr.Err = ErrCloseTimeout
	}
	_ = c.c.Abort()
}

func (c *Conn) writeClose(code int, reason []byte) {
	var p [frame.MaxControlPayload]byte
	b := frame.AppendClose(p[:0], code, string(reason))
	_ = c.writeFrame(frame.Close, 0, b, true)
}

// Close starts the close handshake with code (CloseNormal, another code
// that may be sent, or 0 for none) and reason (at most 123 bytes): the loop
// sends the close frame, waits for the peer's (at most Config.CloseTimeout),
// then closes the connection; OnClose follows. From the moment Close
// returns nil, Send, SendText, SendFragment, SendPrepared and Ping fail with
// ErrClosed, even before the loop has sent the close frame. Later calls, and
// calls after the peer started closing, do nothing. Safe from any
// goroutine: it always hands the close to the loop (a close request is
// never refused) and returns at once; cost one task.
func (c *Conn) Close(code int, reason string) error {
	if code != 0 && !frame.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if len(reason) > frame.MaxCloseReason {
		return ErrControlTooLong
	}
	if !c.closeReq.CompareAndSwap(0, reqClose) {
		return nil
	}
	c.c.Loop().Execute(async.TaskFunc(func() { _ = c.closeLocal(code, reason, nil) }))
	return nil
}

// CloseNow closes the connection at once, without the close handshake: no
// close frame is sent, output already queued is still flushed, and
// OnClose follows with CloseAbnormal. Sends fail with ErrClosed from the
// moment it returns. Safe from any goroutine; no allocation.
func (c *Conn) CloseNow() error {
	c.closeReq.Store(reqCloseNow)
	return c.c.Close()
}

// Close requests made from any goroutine (Conn.closeReq).
const (
	reqClose    = 1 // Close: the handshake is posted
	reqCloseNow = 2 // CloseNow: closed without a handshake
)

// errClosedNow is the cause OnClose reports after CloseNow.
var errClosedNow = errors.New("websocket: closed by CloseNow without a close handshake")

// recoverHandler, deferred around the calls into the Handler, turns a
// panic of the handler into the end of this connection only: the panic is
// logged with its stack (ioloop.Options.Logger), a close frame with 1011
// (internal error) goes out, and OnClose gets a *CloseError whose Err is
// an *async.PanicError. hs is the client handshake that was under way:
// Dial's future fails with the panic if OnOpen panicked before it settled.
// Loop only.
func (c *Conn) recoverHandler(hs *clientHandshake) {
	r := recover()
	if r == nil {
		return
	}
	stack := debug.Stack()
	c.c.Loop().Group().Options().Logger.Error("websocket: panic in a Handler recovered; closing the connection with 1011",
		"remote", c.c.RemoteAddrPort(), "panic", r, "stack", string(stack))
	err := &async.PanicError{Value: r, Stack: stack}
	if hs != nil {
		hs.p.Reject(err)
	}
	if c.state != stOpen {
		if c.closeErr != nil && c.closeErr.Err == nil {
			c.closeErr.Err = err
		}
		_ = c.c.Close()
		return
	}
	c.closeErr = &CloseError{Code: CloseInternalError, Reason: "internal error", Err: err}
	c.closeSent = true
	c.writeClose(CloseInternalError, []byte("internal error"))
	c.state = stClosing
	c.c.Discard(-1)
	c.closeTransport()
}
