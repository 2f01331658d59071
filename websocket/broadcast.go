package websocket

import (
	"sync"
	"sync/atomic"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// PreparedMessage is a message encoded once for many connections: the
// frame a server sends (unmasked), and, the first time a connection that
// negotiated compression without context takeover needs it, the compressed
// frame. Connections that keep a compression context get the uncompressed
// frame (a message compressed alone would break their context); client
// connections, which mask every frame with their own key, encode it with
// Send. A PreparedMessage is immutable and safe for any goroutine.
type PreparedMessage struct {
	mt    MessageType
	data  []byte
	plain []byte

	once  sync.Once
	level int
	z     []byte
}

// NewPreparedMessage encodes data (copied) as one message of type mt. It
// allocates the frame. Safe from any goroutine.
func NewPreparedMessage(mt MessageType, data []byte) (*PreparedMessage, error) {
	if mt != TextMessage && mt != BinaryMessage {
		return nil, ErrMessageType
	}
	h := frame.Header{Fin: true, Opcode: frame.Opcode(mt), Length: int64(len(data))}
	plain := frame.AppendFrame(make([]byte, 0, h.Len()+len(data)), h, data)
	return &PreparedMessage{mt: mt, data: plain[h.Len():], plain: plain}, nil
}

// compressed returns the frame compressed alone at level (the level of the
// first connection that asks; later ones share it).
func (pm *PreparedMessage) compressed(level int) []byte {
	pm.once.Do(func() {
		comp, err := frame.NewCompressor(level, false)
		if err != nil {
			return
		}
		payload := comp.Compress(nil, pm.data)
		h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(pm.mt), Length: int64(len(payload))}
		pm.z = frame.AppendFrame(make([]byte, 0, h.Len()+len(payload)), h, payload)
	})
	return pm.z
}

// SendPrepared queues pm on c like Send(pm's type, pm's data), but with the
// frame encoded once and queued by reference (beyond
// ioloop.Options.MaxOutput, copied; see Policy). It applies
// Config.SlowConsumer and the output budget. No allocation. Loop only.
func (c *Conn) SendPrepared(pm *PreparedMessage) error {
	if c.fragType != 0 {
		return ErrFragment
	}
	if err := c.admit(len(pm.data)); err != nil {
		return err
	}
	if c.role == frame.Client || (c.deflate && c.ownCtx && len(pm.data) >= c.cfg.threshold()) {
		return c.Send(pm.mt, pm.data)
	}
	b := pm.plain
	if c.deflate && len(pm.data) >= c.cfg.threshold() {
		if z := pm.compressed(c.cfg.level()); z != nil {
			b = z
		}
	}
	if err := c.room(frame.Opcode(pm.mt), len(b)); err != nil {
		return err
	}
	// By reference (Conn.WriteRef): the loop chooses between a direct and a
	// batched send itself.
	return c.put(b, true)
}

// Broadcast sends pm to every connection of conns with SendPrepared: it
// posts one task per loop that owns some of them. The future settles, on no
// loop, with the number of connections the message was queued on (closed
// connections and drops by PolicyDrop are not counted) once every loop has
// run its task. conns is read before Broadcast returns. Cost: one slice per
// loop involved and one task per loop. Safe from any goroutine.
func Broadcast(pm *PreparedMessage, conns []*Conn) *async.Future[int] {
	p := async.NewPromise[int](nil)
	byLoop := make(map[*ioloop.Loop][]*Conn)
	for _, c := range conns {
		if c != nil && c.c != nil {
			l := c.c.Loop()
			byLoop[l] = append(byLoop[l], c)
		}
	}
	if len(byLoop) == 0 {
		p.Resolve(0)
		return p.Future()
	}
	var left atomic.Int32
	var sent atomic.Int64
	left.Store(int32(len(byLoop)))
	for l, cs := range byLoop {
		task := func() {
			n := 0
			for _, c := range cs {
				if c.SendPrepared(pm) == nil {
					n++
				}
			}
			sent.Add(int64(n))
			if left.Add(-1) == 0 {
				p.Resolve(int(sent.Load()))
			}
		}
		if l.Post(task) != nil { // the group is closing: nothing to send to
			if left.Add(-1) == 0 {
				p.Resolve(int(sent.Load()))
			}
		}
	}
	return p.Future()
}
