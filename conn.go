package ioloop

import (
	"net"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/buffer"
	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
	"github.com/ioloop/ioloop/internal/timer"
)

// ConnState is where a connection is in its life. It only moves forward.
type ConnState uint8

const (
	// StateConnecting: a dialed connection waiting for its connect to finish.
	StateConnecting ConnState = iota
	// StateOpen: reading and writing.
	StateOpen
	// StateClosing: Close was called; no more input is delivered, queued
	// output is being flushed (bounded by Options.Linger), then FIN.
	StateClosing
	// StateClosed: the socket is closed and OnClose has run or is running.
	StateClosed
)

func (s ConnState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return "invalid"
}

// Requests from any goroutine, carried out by the loop.
const (
	reqClose uint32 = 1 << iota
	reqCloseWrite
	reqAbort
)

// Conn is one stream connection (TCP or Unix) owned by one loop.
//
// Methods marked "loop only" must be called from a callback running on the
// connection's loop (any connection's callback on that loop will do). Close,
// CloseWrite, Abort and AsyncWrite are safe from any goroutine. Bytes that
// Peek and Next return are lent: they stay valid only until the callback
// that got them returns.
type Conn struct {
	// Fields are ordered to pack the struct into 96 bytes (a size class of
	// the allocator): a connection's size is most of what an idle
	// connection costs. An IPv6 peer address lives in ext.

	// Immutable after creation.
	l *Loop
	h *Handler // the listener's handler, or the dial's

	// Owned by the loop goroutine.
	io         *connIO // buffered input and queued output; nil while both are empty
	lastActive int64   // loop clock of the last read or write
	tm         timer.Handle
	ctx        any
	ext        *connExtra // for an IPv6 peer: set in newConn, never replaced

	fd   int32  // immutable
	slot int32  // index in the loop's table
	gen  uint16 // registration generation (0: not registered)

	// Immutable: the peer's address (see akind).
	rport uint16
	rip4  [4]byte
	akind addrKind

	state ConnState
	flags connFlags

	// req carries Close/CloseWrite/Abort requests from any goroutine.
	req atomic.Uint32
}

// addrKind says where a connection's peer address is.
type addrKind uint8

const (
	addrUnix addrKind = iota // none
	addrV4                   // rip4, rport
	addrV6                   // ext.rip6, rport
)

// connFlags are the loop-owned booleans of a connection, packed.
type connFlags uint16

const (
	fEOF          connFlags = 1 << iota // peer sent FIN
	fRdhup                              // the poller reported the peer's FIN: read to the end
	fWriteShut                          // we sent FIN
	fReadReady                          // the socket may have input we did not read yet
	fWriteBlocked                       // the kernel's send buffer was full: wait for Writable
	fDirty                              // on the loop's flush list
	fBpPaused                           // reading paused by the output water marks
	fUserPaused                         // reading paused by PauseRead
	fRedeliver                          // offer buffered input again after a resume
	fKeepReading                        // the water marks do not pause reading (SetPauseOnBackpressure)
	fInFlight                           // a send is queued on the loop's ring (see ring.go)
	fTLS                                // TLS: ext.tls holds its state (tls.go)
	fTLSHold                            // reading paused: the handshake has not taken the input yet
	fTLSFin                             // the peer's FIN came during the handshake: read no more; crypto/tls has it
)

// is reports whether flag f is set. Loop only.
func (c *Conn) is(f connFlags) bool { return c.flags&f != 0 }

// setFlag sets or clears flag f. Loop only.
func (c *Conn) setFlag(f connFlags, on bool) {
	if on {
		c.flags |= f
	} else {
		c.flags &^= f
	}
}

// connIO holds a connection's unconsumed input and queued output. Loops
// recycle them, so an idle connection holds none.
type connIO struct {
	in  buffer.Input
	out buffer.Output
}

// connExtra holds what few connections use (deadlines, a dial's promise),
// allocated on first use so that an idle connection stays small.
type connExtra struct {
	rip6            [16]byte      // an IPv6 peer's address (akind addrV6)
	ln              *Listener     // a Unix connection's listener, for LocalAddr
	closeErr        error         // the error OnClose will get
	idle            time.Duration // SetIdleTimeout's value, if idleSet
	idleSet         bool
	read, write     int64 // deadlines on the loop clock; 0: none
	readT, writeT   timer.Handle
	readFn, writeFn func()
	dialed          *async.Promise[*Conn] // DialFuture's promise
	tls             *tlsConn              // ListenTLS, DialTLS
}

// newConn returns a connection on l served by *h, which must stay valid (a
// listener's field, or a cell of the dial).
func newConn(l *Loop, fd int, remote netip.AddrPort, h *Handler, ln *Listener, unix bool) *Conn {
	c := &Conn{l: l, h: h, fd: int32(fd), rport: remote.Port()}
	switch a := remote.Addr(); {
	case unix:
		if ln != nil {
			c.extra().ln = ln
		}
	case a.Is4() || a.Is4In6():
		c.akind, c.rip4 = addrV4, a.Unmap().As4()
	case a.IsValid():
		c.akind = addrV6
		c.ext = &connExtra{rip6: a.As16()}
	}
	return c
}

// getIO returns the connection's buffers, taking them from the loop if the
// connection holds none.
func (c *Conn) getIO() *connIO {
	if c.io == nil {
		c.io = c.l.getIO()
	}
	return c.io
}

// releaseIO gives the buffers back to the loop once both are empty.
func (c *Conn) releaseIO() {
	if c.io != nil && c.io.in.Len() == 0 && c.io.out.Len() == 0 {
		c.l.putIO(c.io)
		c.io = nil
	}
}

func (c *Conn) inLen() int {
	if c.io == nil {
		return 0
	}
	return c.io.in.Len()
}

func (c *Conn) outLen() int {
	if c.io == nil {
		return 0
	}
	return c.io.out.Len()
}

// Loop returns the loop that owns the connection. Safe from any goroutine.
func (c *Conn) Loop() *Loop { return c.l }

// State returns where the connection is in its life. Loop only.
func (c *Conn) State() ConnState {
	c.l.mustOwn("Conn.State")
	return c.state
}

// Value returns the value set by SetValue (nil if none). Loop only.
func (c *Conn) Value() any {
	c.l.mustOwn("Conn.Value")
	return c.ctx
}

// SetValue attaches a value to the connection, typically the protocol
// state a handler keeps per connection, so that a handler shared by many
// connections finds it again in each callback. Loop only; no allocation
// for a pointer.
func (c *Conn) SetValue(v any) {
	c.l.mustOwn("Conn.SetValue")
	c.ctx = v
}

// RemoteAddrPort returns the peer's address without allocating; it is the
// zero AddrPort for Unix sockets. Safe from any goroutine.
func (c *Conn) RemoteAddrPort() netip.AddrPort {
	switch c.akind {
	case addrV4:
		return netip.AddrPortFrom(netip.AddrFrom4(c.rip4), c.rport)
	case addrV6:
		return netip.AddrPortFrom(netip.AddrFrom16(c.ext.rip6), c.rport)
	}
	return netip.AddrPort{}
}

// RemoteAddr returns the peer's address (a *net.TCPAddr, or a *net.UnixAddr
// for Unix sockets). It allocates. Safe from any goroutine.
func (c *Conn) RemoteAddr() net.Addr {
	if c.akind == addrUnix {
		return &net.UnixAddr{Net: "unix"}
	}
	return net.TCPAddrFromAddrPort(c.RemoteAddrPort())
}

// LocalAddr returns the connection's local address. It asks the kernel
// (one getsockname) and allocates. Loop only.
func (c *Conn) LocalAddr() net.Addr {
	if c.akind == addrUnix {
		if c.ext != nil && c.ext.ln != nil {
			return c.ext.ln.Addr()
		}
		return &net.UnixAddr{Net: "unix"}
	}
	if c.state == StateClosed {
		return nil
	}
	ap, err := sock.LocalAddr(int(c.fd))
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// onEvent handles readiness of the socket.
func (c *Conn) onEvent(f poller.Flags) {
	switch c.state {
	case StateConnecting:
		if f&(poller.Writable|poller.Error|poller.HangUp) != 0 {
			c.connected()
		}
		return
	case StateClosed:
		return
	}
	if f&poller.Error != 0 {
		if err := sock.SocketError(int(c.fd)); err != nil {
			c.fail(err)
			return
		}
	}
	if f&(poller.ReadHangUp|poller.HangUp) != 0 {
		c.flags |= fRdhup
	}
	if f&poller.Writable != 0 && c.is(fWriteBlocked) {
		c.flags &^= fWriteBlocked
		c.flush()
		if c.state == StateClosed {
			return
		}
	}
	if f&(poller.Readable|poller.ReadHangUp|poller.HangUp) != 0 {
		c.flags |= fReadReady
	}
	if c.is(fRedeliver) {
		c.flags &^= fRedeliver
		if c.inLen() > 0 && c.state == StateOpen {
			c.deliver(nil)
		}
		if c.is(fTLS) && c.state == StateOpen {
			c.tlsInput(nil) // what crypto/tls and the loop hold
		}
	}
	if c.is(fReadReady) {
		c.read()
	}
}

// connected finishes a dial.
func (c *Conn) connected() {
	if err := sock.SocketError(int(c.fd)); err != nil {
		c.destroy(err)
		return
	}
	c.state = StateOpen
	c.l.timers.Cancel(c.tm)
	c.tm = timer.Handle{}
	c.open()
	if c.ext != nil && c.ext.dialed != nil && c.state != StateClosed && !c.is(fTLS) {
		c.ext.dialed.Resolve(c)
	}
}

// open runs OnOpen and starts the idle timer; a TLS connection starts
// its handshake instead, and opens when it is done (handshakeDone).
func (c *Conn) open() {
	c.lastActive = c.l.now
	if c.is(fTLS) {
		c.startHandshake()
		return
	}
	c.armTimer()
	c.callOpen()
	if c.state == StateOpen {
		c.flags |= fReadReady
		c.read()
	}
}

// The callbacks, each recovering a panic into a close of this connection and
// then carrying out Close/Abort requests made during the callback.

func (c *Conn) callOpen() {
	defer c.after()
	(*c.h).OnOpen(c)
}

func (c *Conn) callData() {
	defer c.after()
	(*c.h).OnData(c)
}

func (c *Conn) callEOF() {
	defer c.after()
	(*c.h).OnEOF(c)
}

func (c *Conn) callShutdown() {
	defer c.after()
	(*c.h).OnShutdown(c)
}

func (c *Conn) callBackpressure(paused bool) {
	defer c.after()
	(*c.h).OnBackpressure(c, paused)
}

func (c *Conn) callClose(err error) {
	defer c.l.recoverTask("OnClose")
	(*c.h).OnClose(c, err)
}

func (c *Conn) after() {
	if r := recover(); r != nil {
		stack := debug.Stack()
		c.l.opts.Logger.Error("ioloop: panic in connection callback recovered; closing the connection",
			"loop", c.l.idx, "remote", c.RemoteAddrPort(), "panic", r, "stack", string(stack))
		c.destroy(&async.PanicError{Value: r, Stack: stack}) // drops a kept write too
		return
	}
	if c.l.pend != nil && c.l.viewConn == c {
		if c.req.Load()&reqAbort != 0 {
			c.l.pend = nil // Abort drops queued output
		} else {
			c.writePend() // before the request: Close flushes it
		}
	}
	if c.req.Load() != 0 {
		c.handleRequests()
	}
}

func (c *Conn) generation() uint16 { return c.gen }
