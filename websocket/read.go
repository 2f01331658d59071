package websocket

import (
	"errors"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// OnData implements ioloop.Handler.
func (lh *loopHandler) OnData(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	defer c.recoverHandler(c.hs)
	if c.hs != nil {
		if !c.hs.read(c) {
			return
		}
	}
	c.read()
}

// read decodes the buffered input and dispatches its events.
func (c *Conn) read() {
	ic := c.c
	c.touch()
	for c.state == stOpen || (c.state == stClosing && !c.closeRecv && c.dec.Err() == nil) {
		buf, _ := ic.Peek(-1)
		if len(buf) == 0 {
			return
		}
		c.heard = true
		ev, n, err := c.dec.Next(buf)
		if err != nil {
			c.protocolError(err)
			return
		}
		ic.Discard(n)
		switch ev.Kind {
		case frame.EventNone:
			if n == 0 {
				return
			}
		case frame.EventData:
			if c.state != stOpen {
				continue // data after our close frame is dropped (RFC 6455 5.5.1)
			}
			c.onData(&ev)
		case frame.EventControl:
			c.onControl(&ev)
		}
	}
	if c.state >= stClosing {
		ic.Discard(-1)
	}
}

func (c *Conn) onData(ev *frame.Event) {
	mt := MessageType(ev.Opcode)
	if ev.First {
		c.msgType = mt
	}
	if !ev.Compressed {
		if c.fh != nil {
			c.fh.OnFragment(c, c.msgType, ev.Payload, ev.First, ev.Final)
			return
		}
		if ev.First && ev.Final {
			c.h.OnMessage(c, mt, ev.Payload)
			return
		}
	}
	c.msg = append(c.msg, ev.Payload...)
	if !ev.Final {
		return
	}
	data := c.msg
	if ev.Compressed {
		out, err := c.decomp.Decompress(c.inflated[:0], c.msg, int(c.cfg.maxMessage()))
		if err != nil {
			c.protocolError(err)
			return
		}
		c.inflated = out
		data = out
		if c.msgType == TextMessage && !frame.ValidUTF8(data) {
			c.protocolError(&frame.Error{Code: CloseInvalidPayload, Reason: "invalid UTF-8 in a text message"})
			return
		}
	}
	c.h.OnMessage(c, c.msgType, data)
	c.msg = trim(c.msg)
	c.inflated = trim(c.inflated)
}

// trim empties a message buffer, dropping it when it grew past 64 KiB.
func trim(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

func (c *Conn) onControl(ev *frame.Event) {
	switch ev.Opcode {
	case frame.Ping:
		if !c.closeSent {
			_ = c.writeFrame(frame.Pong, 0, ev.Payload, true)
		}
	case frame.Pong: // a sign of life, as any input (see read)
	case frame.Close:
		code, reason, _ := frame.ParseClose(ev.Payload) // checked by the decoder
		c.closeRecv = true
		if c.closeErr == nil {
			c.closeErr = &CloseError{Code: code, Reason: string(reason), Remote: true}
		}
		if !c.closeSent {
			c.closeSent = true
			echo := code
			if code == CloseNoStatus {
				echo = 0
			}
			c.writeClose(echo, reason)
		}
		c.state = stClosing
		c.closeTimer.Stop()
		c.closeTransport()
	}
}

// protocolError answers a violation by the peer with its close code.
func (c *Conn) protocolError(err error) {
	code, reason := CloseProtocolError, "protocol error"
	var fe *frame.Error
	if errors.As(err, &fe) {
		code, reason = fe.Code, fe.Reason
	}
	c.closeErr = &CloseError{Code: code, Reason: reason, Err: err}
	if !c.closeSent {
		c.closeSent = true
		c.writeClose(code, []byte(reason))
	}
	c.state = stClosing
	c.c.Discard(-1)
	c.closeTransport()
}
