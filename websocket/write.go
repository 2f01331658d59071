package websocket

import (
	"math/rand/v2"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// writeFrame queues one frame: the header and the payload, masked with a
// fresh key when this side is a client.
func (c *Conn) writeFrame(op frame.Opcode, rsv byte, payload []byte, fin bool) error {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(payload))}
	if c.role == frame.Client {
		h.Masked = true
		k := rand.Uint32()
		h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		b := frame.AppendHeader(c.wbuf[:0], h)
		hl := len(b)
		b = append(b, payload...)
		frame.Mask(h.Key, 0, b[hl:])
		_, err := c.c.Write(b)
		c.wbuf = trim(b)
		return err
	}
	hb := frame.AppendHeader(c.hdr[:0], h)
	if len(payload) == 0 {
		_, err := c.c.Write(hb)
		return err
	}
	c.iov[0], c.iov[1] = hb, payload
	_, err := c.c.Writev(c.iov[:])
	c.iov[1] = nil
	return err
}

// admit applies Config.SlowConsumer to a data message about to be sent.
func (c *Conn) admit() error {
	if c.state != stOpen {
		return ErrClosed
	}
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
// with ErrClosed once the close handshake started, and applies
// Config.SlowConsumer when the peer does not read. Loop only; no allocation
// in the steady state.
func (c *Conn) Send(mt MessageType, data []byte) error {
	if mt != TextMessage && mt != BinaryMessage {
		return ErrMessageType
	}
	if c.fragType != 0 {
		return ErrFragment
	}
	if err := c.admit(); err != nil {
		return err
	}
	if c.deflate && len(data) >= c.cfg.threshold() {
		z := c.comp.Compress(c.wbuf[:0], data)
		// writeFrame may reuse wbuf for masking: move the payload aside.
		if c.role == frame.Client {
			h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(mt), Length: int64(len(z)), Masked: true}
			k := rand.Uint32()
			h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
			var hb [frame.MaxHeaderLen]byte
			hdr := frame.AppendHeader(hb[:0], h)
			frame.Mask(h.Key, 0, z)
			c.iov[0], c.iov[1] = hdr, z
			_, err := c.c.Writev(c.iov[:])
			c.iov[1] = nil
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
		if err := c.admit(); err != nil {
			return err
		}
		op = frame.Opcode(mt)
	} else if c.state != stOpen {
		return ErrClosed
	}
	c.fragType = mt
	if final {
		c.fragType = 0
	}
	return c.writeFrame(op, 0, data, final)
}

// Ping queues a ping with payload (at most 125 bytes). The pong comes back
// automatically from a conforming peer and counts as a sign of life.
// Loop only.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return ErrControlTooLong
	}
	if c.state != stOpen {
		return ErrClosed
	}
	return c.writeFrame(frame.Ping, 0, payload, true)
}

// WriteMessage sends data as one message from any goroutine. The returned
// future settles, on the connection's loop, with len(data) once the message
// is queued on the connection in order with other sends (the loop hands it
// to the kernel at the end of that iteration), or with the error of Send.
// data must not change until the future settles. Cost: one posted task and
// one future.
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
