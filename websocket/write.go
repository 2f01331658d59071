package websocket

import (
	"math/rand/v2"
	"time"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// writeFrame queues one frame: the header and the payload, masked with a
// fresh key when this side is a client. It checks the output budget first
// (see room).
func (c *Conn) writeFrame(op frame.Opcode, rsv byte, payload []byte, fin bool) error {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(payload)), Masked: c.role == frame.Client}
	if err := c.room(op, h.Len()+len(payload)); err != nil {
		return err
	}
	if c.role == frame.Client {
		k := rand.Uint32()
		h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		b := frame.AppendHeader(c.wbuf[:0], h)
		hl := len(b)
		b = append(b, payload...)
		frame.Mask(h.Key, 0, b[hl:])
		err := c.put(b, false)
		c.wbuf = trim(b)
		return err
	}
	if err := c.put(frame.AppendHeader(c.hdr[:0], h), false); err != nil || len(payload) == 0 {
		return err
	}
	return c.put(payload, false)
}

// room checks that a frame of n bytes may join the connection's output:
// what is queued (in the ioloop connection and in the spill) plus n must
// stay within the budget (see Policy). Past it the peer does not read what
// it is sent: the connection is closed with 1008 ("slow consumer") and the
// send fails with ErrSlowConsumer. The close frame itself always goes.
func (c *Conn) room(op frame.Opcode, n int) error {
	if op == frame.Close {
		return nil
	}
	if c.c.OutputLen()+len(c.spill)+n <= c.budget {
		return nil
	}
	_ = c.closeLocal(ClosePolicyViolation, "slow consumer", ErrSlowConsumer)
	return ErrSlowConsumer
}

// put queues b after everything queued before: in the ioloop connection
// while it stays within ioloop.Options.MaxOutput (by reference when ref is
// set: b must then not change until written), and in the spill, copied,
// beyond it. The spill moves into the ioloop connection as its output
// drains (OnBackpressure), so the ioloop connection never reaches its
// limit and a message as large as Config.MaxMessageSize can always be
// sent. Loop only.
func (c *Conn) put(b []byte, ref bool) error {
	if len(c.spill) == 0 && len(b) <= c.maxOut-c.c.OutputLen() {
		var err error
		if ref {
			err = c.c.WriteRef(b, nil)
		} else {
			_, err = c.c.Write(b)
		}
		return err
	}
	c.spill = append(c.spill, b...)
	return c.drain()
}

// drain moves as much of the spill into the ioloop connection as its
// MaxOutput allows, and closes the transport once the spill is empty if a
// close waits for it (closeTransport). Loop only.
func (c *Conn) drain() error {
	if n := min(len(c.spill), c.maxOut-c.c.OutputLen()); n > 0 {
		if _, err := c.c.Write(c.spill[:n]); err != nil {
			c.spill = nil
			return err
		}
		c.spill = c.spill[n:]
	}
	if len(c.spill) > 0 {
		if !c.slow && !c.drainTimer.Pending() {
			// No OnBackpressure will come (MaxOutput is not above
			// HighWater): look again shortly.
			if c.drainFn == nil {
				c.drainFn = c.retryDrain
			}
			c.drainTimer = c.c.Loop().AfterFunc(drainRetry, c.drainFn)
		}
		return nil
	}
	c.spill = nil
	if c.closeAfter {
		c.closeAfter = false
		_ = c.c.Close()
	}
	return nil
}

// drainRetry is how soon drain looks again at a spill that no
// OnBackpressure will move on.
const drainRetry = time.Millisecond

// retryDrain is drainTimer's function.
func (c *Conn) retryDrain() {
	if c.state != stClosed && len(c.spill) > 0 {
		if err := c.drain(); err != nil {
			_ = c.c.Abort()
		}
	}
}

// admit applies Config.SlowConsumer to a data message of n bytes about to
// be sent, after checking that it may be sent at all.
func (c *Conn) admit(n int) error {
	if c.state != stOpen || c.closeReq.Load() != 0 {
		return ErrClosed
	}
	if n > c.maxSend {
		return ErrTooLarge
	}
	c.touch()
	if !c.slow {
		return nil
	}
	switch c.cfg.SlowConsumer {
	case PolicyDrop:
		c.dropped++
		return ErrDropped
	case PolicyClose:
		_ = c.closeLocal(ClosePolicyViolation, "slow consumer", ErrSlowConsumer)
		return ErrSlowConsumer
	}
	return nil
}

// Send queues data as one message of type mt; data is copied (compressed
// first when compression was negotiated and data is at least
// Config.CompressThreshold bytes long) and may be reused at once. It fails
// with ErrClosed once the close handshake started or Close was called, with
// ErrTooLarge for a message longer than the connection sends (see Policy),
// and applies Config.SlowConsumer and the output budget when the peer does
// not read. No allocation in the steady state. Loop only.
func (c *Conn) Send(mt MessageType, data []byte) error {
	if mt != TextMessage && mt != BinaryMessage {
		return ErrMessageType
	}
	if c.fragType != 0 {
		return ErrFragment
	}
	if err := c.admit(len(data)); err != nil {
		return err
	}
	if c.deflate && len(data) >= c.cfg.threshold() {
		z := c.comp.Compress(c.wbuf[:0], data)
		// writeFrame may reuse wbuf for masking: move the payload aside.
		if c.role == frame.Client {
			h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(mt), Length: int64(len(z)), Masked: true}
			if err := c.room(h.Opcode, h.Len()+len(z)); err != nil {
				c.wbuf = trim(z)
				return err
			}
			k := rand.Uint32()
			h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
			var hb [frame.MaxHeaderLen]byte
			frame.Mask(h.Key, 0, z)
			err := c.put(frame.AppendHeader(hb[:0], h), false)
			if err == nil {
				err = c.put(z, false)
			}
			c.wbuf = trim(z)
			return err
		}
		err := c.writeFrame(frame.Opcode(mt), frame.Rsv1, z, true)
		c.wbuf = trim(z)
		return err
	}
	return c.writeFrame(frame.Opcode(mt), 0, data, true)
}

// SendText is Send(TextMessage, []byte(s)) without the conversion's copy.
// Loop only.
func (c *Conn) SendText(s string) error {
	return c.Send(TextMessage, unsafeBytes(s))
}

// SendFragment queues one frame of a message sent in pieces (never
// compressed): the first call starts a message of type mt, later calls must
// pass the same mt, and final ends it. Other sends fail with ErrFragment
// while a fragmented message is open; control frames (pings, close) may be
// interleaved. data is copied. Loop only.
func (c *Conn) SendFragment(mt MessageType, data []byte, final bool) error {
	if mt != TextMessage && mt != BinaryMessage {
		return ErrMessageType
	}
	if c.fragType != 0 && c.fragType != mt {
		return ErrFragment
	}
	op := frame.Continuation
	if c.fragType == 0 {
		if err := c.admit(len(data)); err != nil {
			return err
		}
		op = frame.Opcode(mt)
	} else if c.state != stOpen || c.closeReq.Load() != 0 {
		return ErrClosed
	} else if len(data) > c.maxSend {
		return ErrTooLarge
	} else {
		c.touch()
	}
	if err := c.writeFrame(op, 0, data, final); err != nil {
		return err
	}
	c.fragType = mt
	if final {
		c.fragType = 0
	}
	return nil
}

// Ping queues a ping with payload (at most 125 bytes). The pong comes back
// automatically from a conforming peer and counts as a sign of life.
// Loop only.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return ErrControlTooLong
	}
	if c.state != stOpen || c.closeReq.Load() != 0 {
		return ErrClosed
	}
	c.touch()
	return c.writeFrame(frame.Ping, 0, payload, true)
}

// WriteMessage sends data as one message. The returned future settles, on
// the connection's loop, with len(data) once the message is queued on the
// connection in order with other sends, or with the error of Send (or the
// loop's ioloop.ErrMailboxFull: retry later or apply backpressure upstream). data
// must not change until the future settles. Cost: one posted task and one
// future. Safe from any goroutine.
func (c *Conn) WriteMessage(mt MessageType, data []byte) *async.Future[int] {
	p := async.NewPromise[int](c.c.Loop())
	if err := c.c.Loop().Post(func() {
		if err := c.Send(mt, data); err != nil {
			p.Reject(err)
			return
		}
		p.Resolve(len(data))
	}); err != nil {
		p.Reject(err)
	}
	return p.Future()
}
