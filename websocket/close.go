package websocket

import (
	"errors"
	"strconv"

	"github.com/ioloop/ioloop"
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
	_ = ic.Close()
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
	if c.comp != nil {
		c.comp.Release()
	}
	if c.decomp != nil {
		c.decomp.Release()
	}
	c.msg, c.inflated, c.wbuf = nil, nil, nil
	if !wasOpen {
		return
	}
	ce := c.closeErr
	if ce == nil {
		ce = &CloseError{Code: CloseAbnormal, Err: err}
		if err == nil {
			ce.Err = errors.New("websocket: connection closed without a close frame")
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
// that may be sent, or 0 for none) and reason (at most 123 bytes): it sends
// the close frame, waits for the peer's (at most Config.CloseTimeout), then
// closes the connection; OnClose follows. Later calls and calls after the
// peer started closing do nothing. Safe from any goroutine: off the loop it
// posts the close to the loop and returns nil.
func (c *Conn) Close(code int, reason string) error {
	if code != 0 && !frame.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if len(reason) > frame.MaxCloseReason {
		return ErrControlTooLong
	}
	return c.c.Loop().Post(func() { _ = c.closeLocal(code, reason, nil) })
}

// CloseNow closes the close handshake's way from a loop callback, at once:
// it returns ErrClosed when the handshake already started. Loop only.
func (c *Conn) CloseNow(code int, reason string) error {
	if code != 0 && !frame.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if len(reason) > frame.MaxCloseReason {
		return ErrControlTooLong
	}
	return c.closeLocal(code, reason, nil)
}
