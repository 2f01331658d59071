package ioloop

import (
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"syscall"
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

func (c *Conn) closeErr() error {
	if c.ext == nil {
		return nil
	}
	return c.ext.closeErr
}

func (c *Conn) setCloseErr(err error) {
	if err != nil && c.closeErr() == nil {
		c.extra().closeErr = err
	}
}

func (c *Conn) idle() time.Duration {
	if c.ext != nil && c.ext.idleSet {
		return c.ext.idle
	}
	return c.l.opts.IdleTimeout
}

// Loop returns the loop that owns the connection. Any goroutine.
func (c *Conn) Loop() *Loop { return c.l }

// State returns where the connection is in its life. Loop only.
func (c *Conn) State() ConnState { return c.state }

// Context returns the value set by SetContext. Loop only.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value to the connection, typically the protocol
// state of the handler. Loop only.
func (c *Conn) SetContext(v any) { c.ctx = v }

// RemoteAddrPort returns the peer's address without allocating; it is the
// zero AddrPort for Unix sockets. Any goroutine.
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
// for Unix sockets). It allocates. Any goroutine.
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

// EOF reports whether the peer has finished sending. Loop only.
func (c *Conn) EOF() bool { return c.is(fEOF) }

// input returns the unconsumed input: the bytes lent to the running OnData
// callback, or the connection's buffer.
func (c *Conn) input() []byte {
	if c.l.viewConn == c {
		return c.l.view
	}
	if c.io == nil {
		return nil
	}
	return c.io.in.Bytes()
}

// Buffered returns the number of input bytes not yet consumed. Loop only.
func (c *Conn) Buffered() int {
	if c.l.viewConn == c {
		return len(c.l.view)
	}
	return c.inLen()
}

// Peek returns the next n input bytes without consuming them; n < 0 returns
// all of them. With fewer than n bytes buffered it returns what there is and
// io.ErrShortBuffer. The bytes are lent: valid only until the callback
// returns. Loop only; no copy, no allocation.
func (c *Conn) Peek(n int) ([]byte, error) {
	b := c.input()
	if n < 0 {
		return b, nil
	}
	if n > len(b) {
		return b, io.ErrShortBuffer
	}
	return b[:n:n], nil
}

// Next consumes and returns the next n input bytes; n < 0 consumes all of
// them. With fewer than n bytes buffered it consumes nothing and returns
// io.ErrShortBuffer. The bytes are lent: valid only until the callback
// returns. Loop only; no copy, no allocation.
func (c *Conn) Next(n int) ([]byte, error) {
	b := c.input()
	if n < 0 {
		n = len(b)
	}
	if n > len(b) {
		return nil, io.ErrShortBuffer
	}
	c.consume(n)
	return b[:n:n], nil
}

// Discard consumes up to n input bytes and returns how many it consumed; n < 0
// discards everything buffered. Loop only.
func (c *Conn) Discard(n int) int {
	b := len(c.input())
	if n < 0 || n > b {
		n = b
	}
	c.consume(n)
	return n
}

func (c *Conn) consume(n int) {
	if c.l.viewConn == c {
		c.l.view = c.l.view[n:]
	} else if n > 0 {
		c.io.in.Discard(c.l.pool, n)
		c.releaseIO()
	}
}

// Write queues b to be sent; b may be reused as soon as Write returns.
// Output is flushed once per loop iteration with one writev per connection,
// so many small writes in one callback cost one system call. It fails with
// ErrClosed after Close or CloseWrite, and closes the connection with
// ErrOutputLimit if the queued output would pass Options.MaxOutput. Loop
// only.
//
// Cost: b is copied into pooled chunks, with one exception that makes an
// echo or a proxy copy-free. When b lies within the input this OnData call
// was lent (by Peek or Next) and is the call's first write to a connection
// with nothing queued, the loop keeps b and writes it as soon as OnData
// returns, copying only what the kernel does not take; so do not modify lent
// input after writing it.
func (c *Conn) Write(b []byte) (int, error) {
	l := c.l
	keep := l.viewConn == c && l.pend == nil && len(b) > 0 && within(b, l.lent) && c.outLen() == 0 && !c.is(fWriteBlocked)
	if !keep {
		c.unpend()
	}
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	if keep {
		l.pend = b // written by writePend when OnData returns
		return len(b), nil
	}
	c.getIO().out.Write(l.pool, b)
	c.queued()
	return len(b), nil
}

// unpend copies the write that Write kept by reference (if c has one) into
// the output queue, ahead of what follows. Loop only.
func (c *Conn) unpend() {
	l := c.l
	if l.pend == nil || l.viewConn != c {
		return
	}
	b := l.pend
	l.pend = nil
	c.getIO().out.Write(l.pool, b)
	c.queued()
}

// writePend writes the write that Write kept by reference, right after
// OnData returned (nothing else is queued for c then). Loop only.
func (c *Conn) writePend() {
	l := c.l
	b := l.pend
	l.pend = nil
	if c.state == StateClosed {
		return
	}
	c.writeDirect(b)
}

// WriteNow writes b at once: when nothing is queued for the connection, b
// goes to the kernel in this call (one write system call) and only what the
// kernel does not take is copied and queued; otherwise b is queued like
// Write. b may be reused as soon as WriteNow returns. It suits output that
// is gathered whole before it is written, in a buffer the caller reuses (a
// protocol's response): unlike Write, it saves the copy, but it does not
// batch with later writes of the same callback. A failed write is reported
// through the connection's close (OnClose), never from inside this call.
// Loop only.
func (c *Conn) WriteNow(b []byte) (int, error) {
	c.unpend()
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	if c.outLen() > 0 || c.is(fWriteBlocked) {
		c.getIO().out.Write(c.l.pool, b)
		c.queued()
		return len(b), nil
	}
	c.writeDirect(b)
	return len(b), nil
}

// writeDirect writes b with nothing queued before it, and queues a copy of
// what the kernel did not take. A hard error leaves b queued: the flush at
// the end of the iteration meets the error again and closes the connection
// there, outside the caller's stack. Loop only.
func (c *Conn) writeDirect(b []byte) {
	l := c.l
	if c.is(fInFlight) {
		c.settle() // its callbacks may close c or leave output queued
		if c.state == StateClosed {
			return
		}
		if c.outLen() > 0 || c.is(fWriteBlocked) {
			c.getIO().out.Write(l.pool, b) // behind what the send left
			c.queued()
			return
		}
	}
	if l.batching() && within(b, l.arena) {
		l.queueWrite(c, b) // the arena holds b until the round's writes are done
		return
	}
	iov := append(l.iov[:0], b)
	n, err := l.w.Writev(int(c.fd), iov)
	clear(iov)
	if l.onWritev != nil {
		l.onWritev(int(c.fd), 1, n)
	}
	c.wrote(b, max(n, 0), err)
}

// wrote settles a write of b that nothing queued preceded (writeDirect's,
// or its batched send): n bytes went out, or err. What the kernel did not
// take goes in front of the output queued since, if any (with a hard
// error too: the flush meets the error again and closes the connection
// there, outside the writer's stack).
func (c *Conn) wrote(b []byte, n int, err error) {
	l := c.l
	if c.state == StateClosed {
		return
	}
	if n > 0 {
		c.lastActive = l.now
	}
	switch err {
	case nil:
		if n < len(b) {
			c.flags |= fWriteBlocked // a short write: the send buffer is full
		}
	case syscall.EAGAIN:
		c.flags |= fWriteBlocked
	}
	if n < len(b) {
		c.getIO().out.Prepend(l.pool, b[n:])
		c.queued()
	}
}

// WriteShared queues b by reference instead of copying it: b must not change
// until it has been written, which suits an immutable buffer sent to many
// connections (a prepared broadcast frame). Otherwise it is Write. Loop
// only; no copy, no allocation once the loop has recycled buffers.
func (c *Conn) WriteShared(b []byte) (int, error) {
	c.unpend()
	if err := c.writable(len(b)); err != nil {
		return 0, err
	}
	c.getIO().out.WriteRef(b, nil)
	c.queued()
	return len(b), nil
}

// Writev queues the buffers in order, like one Write of their concatenation.
// Loop only.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	c.unpend()
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if err := c.writable(n); err != nil {
		return 0, err
	}
	io := c.getIO()
	for _, b := range bufs {
		io.out.Write(c.l.pool, b)
	}
	c.queued()
	return n, nil
}

// WriteString is Write for a string. Loop only.
func (c *Conn) WriteString(s string) (int, error) {
	return c.Write(unsafeBytes(s)) // Write never modifies b
}

func (c *Conn) writable(n int) error {
	if c.state > StateOpen || c.is(fWriteShut) || c.req.Load()&(reqClose|reqCloseWrite|reqAbort) != 0 {
		return ErrClosed
	}
	if c.outLen()+n > c.l.opts.MaxOutput {
		c.fail(ErrOutputLimit)
		return ErrOutputLimit
	}
	return nil
}

// queued runs after output was queued: mark for flushing, apply the water marks.
func (c *Conn) queued() {
	if !c.is(fDirty) {
		c.flags |= fDirty
		c.l.dirty = append(c.l.dirty, c)
	}
	if !c.is(fBpPaused) && c.l.flow.Next(false, c.io.out.Len()) {
		c.flags |= fBpPaused
		c.callBackpressure(true)
	}
}

// OutputLen returns the bytes queued and not yet handed to the kernel. Loop only.
func (c *Conn) OutputLen() int {
	if c.l.viewConn == c {
		return c.outLen() + len(c.l.pend)
	}
	return c.outLen()
}

// Flush tries to hand the queued output to the kernel now instead of at the
// end of the loop iteration. Loop only.
func (c *Conn) Flush() error {
	if c.state == StateClosed {
		return ErrClosed
	}
	if c.l.viewConn == c && c.l.pend != nil {
		c.writePend()
	}
	if !c.is(fWriteBlocked) {
		c.flush()
	}
	if c.state == StateClosed {
		return c.closeErr()
	}
	return nil
}

// AsyncWrite queues b from any goroutine. b is kept by reference, not copied:
// the caller must not change it until done runs. done, if not nil, runs on
// the connection's loop once all of b was handed to the kernel (n = len(b),
// err = nil), or when the connection closed first (err says why; n is 0).
// If the write cannot even be queued (the group is closed) done runs on the
// calling goroutine. Cost: one posted task.
func (c *Conn) AsyncWrite(b []byte, done func(n int, err error)) {
	err := c.l.Post(func() {
		if err := c.writable(len(b)); err != nil {
			if done != nil {
				done(0, err)
			}
			return
		}
		if done == nil {
			c.getIO().out.WriteRef(b, nil)
		} else {
			c.getIO().out.WriteRef(b, func(err error) {
				if err != nil {
					done(0, err)
				} else {
					done(len(b), nil)
				}
			})
		}
		c.queued()
	})
	if err != nil && done != nil {
		done(0, err)
	}
}

// Close closes the connection gracefully: no more input is delivered, the
// queued output is flushed (for at most Options.Linger), then FIN is sent and,
// once the peer finishes too (or Linger passes), the socket is closed and
// OnClose runs. Safe from any goroutine; later calls do nothing. It returns
// nil (errors reach OnClose).
func (c *Conn) Close() error {
	c.request(reqClose)
	return nil
}

// CloseWrite sends FIN after the queued output (half-close); the connection
// keeps reading until the peer closes too. Safe from any goroutine.
func (c *Conn) CloseWrite() error {
	c.request(reqCloseWrite)
	return nil
}

// Abort closes the connection at once with a reset (RST), dropping queued
// input and output. OnClose gets ErrAborted. Safe from any goroutine.
func (c *Conn) Abort() error {
	c.request(reqAbort)
	return nil
}

func (c *Conn) request(r uint32) {
	for {
		old := c.req.Load()
		if old&r != 0 {
			return
		}
		if c.req.CompareAndSwap(old, old|r) {
			break
		}
	}
	// The loop also checks requests after every callback, so a request made
	// inside a callback takes effect before the next one; this task covers
	// requests from other goroutines.
	_ = c.l.Post(c.handleRequests)
}

// handleRequests carries out Close/CloseWrite/Abort requests. Loop only.
func (c *Conn) handleRequests() {
	r := c.req.Load()
	if r == 0 || c.state == StateClosed {
		return
	}
	switch {
	case r&reqAbort != 0:
		_ = sock.SetLingerZero(int(c.fd))
		c.destroy(ErrAborted)
	case r&reqClose != 0:
		c.beginClose(nil)
	case r&reqCloseWrite != 0:
		if c.state == StateOpen && !c.is(fWriteShut) && c.outLen() == 0 {
			c.shutWrite()
		}
	}
}

// PauseRead stops delivering input (and reading from the socket) until
// ResumeRead: the kernel's buffers then push back on the peer. Loop only.
func (c *Conn) PauseRead() { c.flags |= fUserPaused }

// ResumeRead undoes PauseRead; buffered input is offered again to OnData.
// Loop only.
func (c *Conn) ResumeRead() {
	if c.is(fUserPaused) {
		c.flags &^= fUserPaused
		c.resume()
	}
}

func (c *Conn) resume() {
	if c.state != StateOpen || c.readPaused() {
		return
	}
	c.setFlag(fRedeliver, c.inLen() > 0)
	c.l.addReady(c)
}

func (c *Conn) readPaused() bool {
	return c.is(fBpPaused) && !c.is(fKeepReading) || c.is(fUserPaused)
}

// SetPauseOnBackpressure chooses whether reading pauses while the queued
// output is above Options.HighWater (true, the default) or goes on (false).
// OnBackpressure is called at the marks either way, and Options.MaxOutput
// still bounds the output. Keep reading when the handler applies its own
// policy to a slow peer (drop or close, as the websocket package's
// Config.SlowConsumer does), or when pausing could deadlock: two peers that
// each write more than the mark to the other before reading would both stop
// reading. Loop only; no allocation.
func (c *Conn) SetPauseOnBackpressure(pause bool) {
	c.setFlag(fKeepReading, !pause)
	if !pause && c.is(fBpPaused) {
		c.resume()
	}
}

// SetIdleTimeout changes this connection's idle timeout (0 disables it).
// Loop only.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	e := c.extra()
	e.idle, e.idleSet = d, true
	c.armTimer()
}

// SetReadDeadline closes the connection with ErrReadDeadline if no input
// arrives by t; the zero time removes the deadline. Any input arriving clears
// it (set it again for the next read). Loop only.
func (c *Conn) SetReadDeadline(t time.Time) {
	d := c.extra()
	d.readT = c.setDeadline(d.readT, t, &d.read, d.readFn)
}

// SetWriteDeadline closes the connection with ErrWriteDeadline if output is
// still queued at t; the zero time removes the deadline. Loop only.
func (c *Conn) SetWriteDeadline(t time.Time) {
	d := c.extra()
	d.writeT = c.setDeadline(d.writeT, t, &d.write, d.writeFn)
}

func (c *Conn) extra() *connExtra {
	if c.ext == nil {
		c.ext = &connExtra{}
	}
	d := c.ext
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
	}
	if c.is(fReadReady) {
		c.read()
	}
}

// read reads what the socket has, within the loop's per-connection budget.
func (c *Conn) read() { c.readOn(0, readBudget) }

// readOn reads up to reads times more, total bytes having been read already.
func (c *Conn) readOn(total, reads int) {
	l := c.l
	for range reads {
		if c.state == StateClosed || c.is(fEOF) || (c.state == StateOpen && c.readPaused()) {
			return
		}
		n, err := sock.Read(int(c.fd), l.scratch)
		if !c.readDone(l.scratch, n, err, &total) {
			return
		}
	}
	l.addReady(c)
}

// readDone handles the result of one read into buf (n bytes, or err) and
// reports whether to read again.
func (c *Conn) readDone(buf []byte, n int, err error, total *int) bool {
	l := c.l
	if n > 0 {
		c.lastActive = l.now
		if c.state == StateOpen {
			c.deliver(buf[:n])
		} // while closing, input is read and dropped
		*total += n
		if n < len(buf) && !c.is(fRdhup) {
			c.flags &^= fReadReady // a short read drained the socket
			return false
		}
		if *total >= readBytesBudget {
			l.addReady(c)
			return false
		}
		return true
	}
	switch err {
	case nil:
		c.flags &^= fReadReady
		c.peerEOF()
		return false
	case syscall.EAGAIN:
		c.flags &^= fReadReady
		return false
	case syscall.EINTR:
		return true
	}
	c.fail(err)
	return false
}

// deliver offers data (and whatever input was left before it) to OnData and
// keeps what the handler left.
func (c *Conn) deliver(data []byte) {
	l := c.l
	if c.ext != nil && c.ext.read != 0 && len(data) > 0 {
		c.ext.read = 0
		l.timers.Cancel(c.ext.readT)
	}
	if c.inLen() == 0 {
		l.viewConn, l.view, l.lent = c, data, data
		c.callData()
		rest := l.view
		l.viewConn, l.view, l.lent = nil, nil, nil
		if len(rest) > 0 && c.state == StateOpen {
			if len(rest) > l.opts.MaxInput {
				c.fail(ErrInputLimit)
				return
			}
			c.getIO().in.Append(l.pool, rest)
		}
		return
	}
	if c.io.in.Len()+len(data) > l.opts.MaxInput {
		c.fail(ErrInputLimit)
		return
	}
	io := c.io
	io.in.Append(l.pool, data)
	view := io.in.Bytes()
	l.viewConn, l.view, l.lent = c, view, view
	c.callData()
	consumed := len(view) - len(l.view)
	l.viewConn, l.view, l.lent = nil, nil, nil
	if c.state == StateOpen {
		io.in.Discard(l.pool, consumed)
	} else {
		io.in.Release(l.pool) // closing or closed: input is no longer delivered
	}
	if c.io == io {
		c.releaseIO()
	} else if io.out.Len() == 0 {
		l.putIO(io) // destroy left it to us: the handler's view pointed into it
	}
}

func (c *Conn) peerEOF() {
	c.flags |= fEOF
	if c.state == StateClosing {
		if c.is(fWriteShut) {
			c.destroy(c.closeErr())
		}
		return
	}
	c.callEOF()
	if c.state == StateOpen && c.is(fWriteShut) {
		c.destroy(c.closeErr()) // both directions are finished
	}
}

// flush hands queued output to the kernel.
func (c *Conn) flush() {
	l := c.l
	if c.is(fInFlight) {
		c.settle()
	}
	for c.outLen() > 0 {
		out := &c.io.out
		iov := out.Iovecs(l.iov[:0], sock.MaxIovecs)
		want := 0
		for _, b := range iov {
			want += len(b)
		}
		n, err := l.w.Writev(int(c.fd), iov)
		clear(iov)
		if l.onWritev != nil {
			l.onWritev(int(c.fd), len(iov), n)
		}
		if n > 0 {
			out.Advance(l.pool, n)
			c.lastActive = l.now
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			if err == syscall.EAGAIN {
				c.flags |= fWriteBlocked
				break
			}
			c.fail(err)
			return
		}
		if n < want {
			c.flags |= fWriteBlocked
			break
		}
	}
	c.flushed()
}

// flushed runs once the output went to the kernel as far as it took it:
// resume reading below the low water mark, release empty buffers, and send
// the FIN a close or CloseWrite waits for.
func (c *Conn) flushed() {
	l := c.l
	if c.state == StateClosed {
		return
	}
	size := c.outLen()
	if c.is(fBpPaused) && !l.flow.Next(true, size) {
		c.flags &^= fBpPaused
		c.callBackpressure(false)
		c.resume()
		if c.state == StateClosed {
			return
		}
	}
	if size == 0 {
		c.releaseIO()
		switch {
		case c.state == StateClosing && !c.is(fWriteShut):
			c.shutWrite()
		case c.req.Load()&reqCloseWrite != 0 && !c.is(fWriteShut):
			c.shutWrite()
		}
	}
}

// shutWrite sends FIN. A closing connection then waits for the peer's FIN
// (reading and dropping input) so that its last bytes are not lost to a
// reset, bounded by Options.Linger.
func (c *Conn) shutWrite() {
	if c.is(fInFlight) {
		c.settle() // FIN goes after the send
		if c.state == StateClosed || c.is(fWriteShut) || c.outLen() > 0 {
			return // closed, or shut meanwhile, or the flush of what the send left sends the FIN
		}
	}
	c.flags |= fWriteShut
	if err := sock.ShutdownWrite(int(c.fd)); err != nil {
		c.destroy(c.closeErrOr(err))
		return
	}
	if c.is(fEOF) && c.state == StateClosing || c.is(fEOF) && c.req.Load()&reqCloseWrite != 0 {
		c.destroy(c.closeErr())
		return
	}
	if c.state == StateClosing {
		c.flags |= fReadReady
		c.l.addReady(c) // read to the peer's FIN
	}
}

func (c *Conn) closeErrOr(err error) error {
	if e := c.closeErr(); e != nil {
		return e
	}
	return err
}

// beginClose starts a graceful close; err (may be nil) goes to OnClose.
func (c *Conn) beginClose(err error) {
	if c.is(fInFlight) {
		c.settle() // so the output below is all there is (its callbacks may close c)
	}
	switch c.state {
	case StateClosed, StateClosing:
		return
	case StateConnecting:
		c.destroy(c.closeErrOr(err))
		return
	}
	c.state = StateClosing
	c.setCloseErr(err)
	c.l.timers.Cancel(c.tm)
	c.tm = c.l.timers.ScheduleTask(c.l.now+int64(c.l.opts.Linger), 0, (*connTimer)(c))
	if c.io != nil && c.l.viewConn != c {
		c.io.in.Release(c.l.pool) // else deliver releases it when OnData returns
		c.releaseIO()
	}
	if c.outLen() == 0 {
		if !c.is(fWriteShut) {
			c.shutWrite()
		} else if c.is(fEOF) {
			c.destroy(c.closeErr())
		}
		return
	}
	if !c.is(fDirty) && !c.is(fWriteBlocked) {
		c.flags |= fDirty
		c.l.dirty = append(c.l.dirty, c)
	}
}

// fail closes the connection at once because of err.
func (c *Conn) fail(err error) { c.destroy(c.closeErrOr(err)) }

// destroy closes the socket, releases the buffers and runs OnClose, once.
func (c *Conn) destroy(err error) {
	if c.state == StateClosed {
		return
	}
	if c.is(fInFlight) {
		c.settle() // before the descriptor closes (and may be reused)
		if c.state == StateClosed {
			return
		}
	}
	c.state = StateClosed
	l := c.l
	if l.viewConn == c {
		l.pend = nil // a write kept by reference is dropped like queued output
	}
	if c.gen != 0 {
		l.unregister(c.slot)
	}
	_ = sock.Close(int(c.fd))
	l.timers.Cancel(c.tm)
	if c.ext != nil {
		l.timers.Cancel(c.ext.readT)
		l.timers.Cancel(c.ext.writeT)
	}
	if io := c.io; io != nil {
		c.io = nil
		outErr := err
		if outErr == nil {
			outErr = ErrClosed
		}
		io.out.Reset(l.pool, outErr)
		if l.viewConn != c { // else deliver releases the input when OnData returns
			io.in.Release(l.pool)
			l.putIO(io)
		}
	}
	l.nconns.Add(-1)
	l.g.connDone()
	c.callClose(err)
	if c.ext != nil && c.ext.dialed != nil {
		if err == nil {
			err = ErrClosed
		}
		c.ext.dialed.Reject(err) // no-op when the dial had succeeded
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
	if c.ext != nil && c.ext.dialed != nil && c.state != StateClosed {
		c.ext.dialed.Resolve(c)
	}
}

// open runs OnOpen and starts the idle timer.
func (c *Conn) open() {
	c.lastActive = c.l.now
	c.armTimer()
	c.callOpen()
	if c.state == StateOpen {
		c.flags |= fReadReady
		c.read()
	}
}

// armTimer (re)starts the connection's timer for its current phase: idle
// timeout when open.
func (c *Conn) armTimer() {
	if c.state != StateOpen {
		return
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
		c.destroy(&PanicError{Value: r, Stack: stack}) // drops a kept write too
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
