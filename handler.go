package ioloop

import "net/netip"

// Handler receives the events of the connections it serves. Every method runs
// on the loop that owns the connection, one call at a time, so a Handler needs
// no locks for per-connection state (keep it in Conn.SetValue). A callback
// must not block: hand blocking work to a goroutine and come back with
// Loop.Post or Conn.AsyncWrite.
//
// Callback order for one connection:
//
//	OnOpen                      once, first (a dialed connection: once connected)
//	OnData                      zero or more times, whenever new input arrived
//	OnBackpressure(true/false)  when queued output crosses the water marks
//	OnEOF                       at most once, when the peer finished sending
//	OnShutdown                  at most once, when Group.Shutdown starts
//	OnClose                     exactly once, last, whatever raced
//
// A dialed connection that never connected gets OnClose with the dial error and
// no OnOpen. A TLS connection (ListenTLS, DialTLS) gets OnOpen after its
// handshake; one whose handshake failed gets only OnClose, with an error
// wrapping ErrTLSHandshake. A panic in any callback is recovered, logged with its stack, and
// closes that connection with a *async.PanicError; the loop goes on.
//
// Embed BaseHandler to implement only the methods you need.
type Handler interface {
	// OnOpen is called once the connection is established and registered.
	OnOpen(c *Conn)
	// OnData is called when new input arrived. The handler consumes what it
	// can with Next or Discard; what it leaves stays buffered (up to
	// Options.MaxInput) and is offered again with the next input.
	OnData(c *Conn)
	// OnEOF is called once when the peer shut down its sending side (FIN).
	// Input may still be buffered and the connection can still write; call
	// Close (BaseHandler's choice) or CloseWrite when done.
	OnEOF(c *Conn)
	// OnBackpressure is called with true when the connection's queued output
	// went above Options.HighWater (reading from it paused), and with false
	// when it fell to Options.LowWater (reading resumed).
	OnBackpressure(c *Conn, paused bool)
	// OnShutdown is called on every open connection when Group.Shutdown
	// starts, so the protocol can finish (for example close an idle
	// keep-alive connection at once). The connection is closed for it when
	// the Shutdown context ends.
	OnShutdown(c *Conn)
	// OnClose is called exactly once, after the connection's socket was
	// closed. err is nil after a clean close by either side, or says what
	// ended it (ErrIdleTimeout, ErrInputLimit, a *async.PanicError, a reset, ...).
	OnClose(c *Conn, err error)
}

// BaseHandler is a Handler that does nothing but close the connection when the
// peer finishes sending, and close connections when a Shutdown starts. Embed it
// and override the methods you need.
type BaseHandler struct{}

// OnOpen does nothing.
func (BaseHandler) OnOpen(*Conn) {}

// OnData leaves the input buffered.
func (BaseHandler) OnData(*Conn) {}

// OnEOF closes the connection gracefully (queued output is flushed first).
func (BaseHandler) OnEOF(c *Conn) { c.Close() }

// OnBackpressure does nothing: reading is paused and resumed for the handler.
func (BaseHandler) OnBackpressure(*Conn, bool) {}

// OnShutdown closes the connection gracefully.
func (BaseHandler) OnShutdown(c *Conn) { c.Close() }

// OnClose does nothing.
func (BaseHandler) OnClose(*Conn, error) {}

// PacketHandler receives datagrams of a PacketConn, on the loop that owns that
// socket. The data is lent until OnPacket returns.
type PacketHandler interface {
	OnPacket(pc *PacketConn, data []byte, from netip.AddrPort)
}

// PacketHandlerFunc adapts a function to a PacketHandler.
type PacketHandlerFunc func(pc *PacketConn, data []byte, from netip.AddrPort)

// OnPacket calls f.
func (f PacketHandlerFunc) OnPacket(pc *PacketConn, data []byte, from netip.AddrPort) {
	f(pc, data, from)
}
