// Package tlsio is the net.Conn that the standard, unmodified crypto/tls runs
// over when an event loop owns the socket: the loop feeds it the ciphertext
// the socket delivered and takes from it the ciphertext crypto/tls wrote.
// It does no I/O itself and imports only the standard library.
//
// # Contract
//
// Two parties use a Conn. The loop side is the goroutine that owns the socket
// (the event loop): it calls Feed, SetEOF, SetErr, Output, Consume,
// SetBlocking, Release, Closed and EOFRead. The crypto/tls side is the tls.Conn built
// over it, which calls the net.Conn methods (Read, Write, Close, the
// deadlines, the addresses) from whichever goroutine runs the tls.Conn's
// method: a pool goroutine during the handshake, the loop afterwards. Every
// method takes the Conn's mutex for a copy at most, so all are safe from any
// goroutine; the split above is what the design relies on.
//
// Modes. A Conn starts in blocking mode. The handshake runs in it, on a
// goroutine where a Read may wait: Read returns buffered bytes, or waits until
// Feed, SetEOF, SetErr, Close or the read deadline (the handshake timeout)
// ends the wait. crypto/tls makes any error that reaches its handshake final
// (tls.Conn keeps it in handshakeErr and returns it from every later
// Handshake, Read and Write), so the handshake must never see a would-block.
// Once the handshake returned, the loop calls SetBlocking(false) and drives
// the tls.Conn itself: after each Feed it calls tls.Conn.Read until that
// returns ErrWouldBlock. In non-blocking mode a Read with nothing buffered
// returns ErrWouldBlock at once, a net.Error whose Temporary and Timeout are
// true; crypto/tls keeps the partial record it holds and does not poison the
// connection on such an error, so the next Read, after the next Feed, goes
// on. The tests of this package pin these behaviours of crypto/tls, and the
// others this documentation names, for the Go release in use.
//
// Read returns ciphertext only up to the end of the record it is in.
// crypto/tls keeps the capacity of its raw input buffer for the life of
// the connection and would otherwise pull in everything fed at once; this
// way it holds one record at most. It also means crypto/tls never sees the
// record behind the one it decrypts, so its TLS 1.2 shortcut that reads an
// alert right behind data (returning data and an error together) does not
// fire; the loop still accepts data together with an error from
// tls.Conn.Read. The loop must expect data that crypto/tls buffered during
// the handshake (application data right behind the peer's Finished): the
// first Read after the handshake returns it without a Feed. And it must
// take the output after every tls.Conn.Read, not only after Write: Read
// handles the post-handshake messages itself (TLS 1.3 session tickets,
// KeyUpdate), and a KeyUpdate that requests one makes Read write the
// answer.
//
// Input. Feed copies into a buffer bounded by the maxInput given to New
// (DefaultMaxInput when not positive) and returns how much it took; at the
// bound it takes only what fits and the loop keeps the rest (for ioloop: it
// leaves it unconsumed in the connection's input, where the connection's own
// input limit bounds it). A Feed that was cut short makes the next Read that
// frees room call the wake function, so a loop whose Feed waits on a
// handshake goroutine hears when to feed again. The buffer is reused: once
// it has grown, Feed and Read allocate nothing; Release drops it (and the
// output buffer) while empty, for a connection that turns idle.
//
// End of input. SetEOF (the peer's FIN) and SetErr (a socket error) take
// effect after the buffered bytes: Read returns them first, then io.EOF or
// the error. crypto/tls reports a FIN in the middle of a record as
// io.ErrUnexpectedEOF, but a FIN at a record boundary as io.EOF, exactly like
// the peer's close_notify alert; EOFRead tells the two apart: it reports
// whether Read returned io.EOF to crypto/tls, which happens only when
// crypto/tls needed more input after the FIN, never when it stopped at a
// close_notify. A protocol whose framing needs close_notify treats a
// tls.Conn.Read io.EOF with EOFRead true as a truncation.
//
// Output. Write appends to the output buffer and never fails while the Conn
// is open: crypto/tls makes a write error permanent (it keeps it in the
// connection's output state and returns it from every later Write), so there
// must be none. A Write that finds the output empty calls the wake function
// after it appended, on the writing goroutine and outside the mutex, so one
// flight of records costs one wake-up. The loop takes the bytes with Output
// and Consume. The output is not bounded here: only the local side fills it
// (the application's writes, the handshake's flights, alerts), the loop takes
// it after every tls.Conn call, and the connection's output limit bounds it
// downstream. Write deadlines are accepted and ignored: a Write never
// blocks, so it never times out.
//
// Close. tls.Conn.Close (after it wrote close_notify into the output) and a
// cancelled tls.Conn.HandshakeContext close the Conn: a blocked Read returns
// net.ErrClosed, later Reads and Writes fail with net.ErrClosed, the wake
// function is called once, and Closed reports true. Output and Consume still
// work, so the loop sends the last records before it closes the socket.
//
// Costs. Feed, Read and Write are one mutex and one copy each; Feed also
// moves unread bytes to the front of the buffer, and sends on a one-slot
// channel so that a blocked Read wakes. A blocking Read
// that waits with a deadline starts one timer per wait.
package tlsio

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultMaxInput bounds the ciphertext a Conn holds that crypto/tls has not
// read yet, when New is given no bound. It holds the largest TLS record
// several times over, so that one read of the loop's socket buffer usually
// goes in with one Feed.
const DefaultMaxInput = 64 << 10

// ErrWouldBlock is what Read returns in non-blocking mode when no input is
// buffered. It is a net.Error whose Temporary and Timeout are true, the kind
// of error crypto/tls returns from tls.Conn.Read after the handshake without
// poisoning the connection. tls.Conn.Read returns it unchanged, so the loop
// compares with ==.
var ErrWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlsio: would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// Conn is the net.Conn crypto/tls runs over, fed by a loop. The package
// documentation states its contract.
type Conn struct {
	mu       sync.Mutex
	in       []byte // ciphertext not read yet is in[r:]
	r        int
	lent     bool // in is the loop's slice (Lend), not this Conn's buffer
	maxIn    int
	starved  bool // a Feed took less than it was given; the next Read that frees room wakes
	eof      bool // SetEOF: io.EOF after in[r:]
	err      error
	eofRead  bool // Read returned io.EOF
	closed   bool
	blocking bool
	deadline time.Time // read deadline

	recLeft int     // bytes of the record Read is in that it has not returned yet
	hdr     [5]byte // the next record's header bytes Read returned so far
	hdrN    int

	out  []byte // ciphertext written and not consumed is out[or:]
	or   int
	wake func()
	sink func([]byte)

	leave, enter func() // around a blocking Read's wait (SetGate)

	signal chan struct{} // one slot: pokes a Read waiting in blocking mode

	local, remote net.Addr
}

// New returns a Conn in blocking mode with the given addresses (returned by
// LocalAddr and RemoteAddr), an input bound (DefaultMaxInput when maxInput is
// not positive) and a wake function (may be nil), which the Conn calls
// outside its mutex, on the goroutine of the call that caused it, when the
// loop side has work: output appeared, room appeared after a short Feed, or
// crypto/tls closed the Conn. The wake function may call the Conn's methods
// but not the tls.Conn's (it runs inside a tls.Conn call, which holds the
// tls.Conn's locks). Safe from any goroutine; allocates the Conn.
func New(local, remote net.Addr, maxInput int, wake func()) *Conn {
	if maxInput <= 0 {
		maxInput = DefaultMaxInput
	}
	return &Conn{
		maxIn:    maxInput,
		blocking: true,
		wake:     wake,
		signal:   make(chan struct{}, 1),
		local:    local,
		remote:   remote,
	}
}

// poke wakes a Read waiting in blocking mode, if any. Called with c.mu held.
func (c *Conn) poke() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Feed appends ciphertext the socket delivered, copying it, and returns how
// many bytes it took: all of b, or only what fits under the input bound (the
// caller keeps the rest and feeds it after a Read made room; the wake
// function says when, if the Read runs on another goroutine). After SetEOF,
// SetErr or Close it takes nothing. Safe from any goroutine; meant for the
// loop side. Costs one copy; allocates only while the buffer grows.
func (c *Conn) Feed(b []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eof || c.err != nil || c.closed || c.lent || len(b) == 0 {
		return 0
	}
	if c.r > 0 {
		c.in = c.in[:copy(c.in, c.in[c.r:])]
		c.r = 0
	}
	n := min(len(b), c.maxIn-len(c.in))
	if n < len(b) {
		c.starved = true
	}
	if n > 0 {
		c.in = append(c.in, b[:n]...)
		c.poke()
	}
	return n
}

// Lend makes b the input, in place of the Conn's buffer: Read takes its
// bytes from b directly, without the copy Feed makes, until Reclaim, which
// the loop calls before b changes. Meant for the loop after the handshake,
// when it calls tls.Conn.Read itself right after lending (no Read waits in
// non-blocking mode, so Lend wakes none): ciphertext then
// stays in the loop's read buffer, and only an incomplete record at its
// end needs a home (Reclaim returns it). It panics when input is still
// buffered (read it, or Take it, first). Feed takes nothing during a Lend.
// Safe from any goroutine; meant for the loop side. No copy, no
// allocation.
func (c *Conn) Lend(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r < len(c.in) {
		panic("tlsio: Lend with input buffered")
	}
	c.in, c.r, c.lent = b, 0, true
}

// Pending returns the bytes of input that Read has not returned yet
// (fed or lent). Read stops at record ends, so after a tls.Conn.Read that
// returned data, Pending() == 0 means crypto/tls holds no ciphertext
// either: the loop can stop reading without the call that would only
// return ErrWouldBlock. Safe from any goroutine; meant for the loop side.
func (c *Conn) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.in) - c.r
}

// Reclaim ends a Lend and returns the bytes of the lent slice that Read did
// not take: a suffix of it, which the loop keeps and lends again, in front
// of what the socket delivers next. Without a Lend it returns nil. Safe
// from any goroutine; meant for the loop side. No allocation.
func (c *Conn) Reclaim() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lent {
		return nil
	}
	rest := c.in[c.r:]
	c.in, c.r, c.lent = nil, 0, false
	return rest
}

// Take empties the input buffer and returns the bytes that were in it and
// not read, handing the buffer over to the caller: for the loop, which
// moves them to its own buffers once the handshake is over and feeds by
// Lend from then on. Safe from any goroutine; meant for the loop side.
func (c *Conn) Take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lent {
		return nil
	}
	b := c.in[c.r:]
	c.in, c.r = nil, 0
	return b
}

// SetEOF records the peer's FIN: once the buffered input is read, Read
// returns io.EOF. Safe from any goroutine; meant for the loop side.
func (c *Conn) SetEOF() {
	c.mu.Lock()
	c.eof = true
	c.poke()
	c.mu.Unlock()
}

// SetErr records a socket error: once the buffered input is read, Read
// returns err (crypto/tls then fails the connection with it). A nil err is
// ignored. Safe from any goroutine; meant for the loop side.
func (c *Conn) SetErr(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.poke()
	c.mu.Unlock()
}

// SetBlocking switches the mode of Read: blocking (the handshake, on a
// goroutine that may wait) or non-blocking (after the handshake, on the
// loop). A Read waiting when the mode turns non-blocking returns
// ErrWouldBlock, so switch only once the handshake returned. Safe from any
// goroutine; meant for the loop side.
func (c *Conn) SetBlocking(blocking bool) {
	c.mu.Lock()
	c.blocking = blocking
	c.poke()
	if blocking && c.signal == nil {
		c.signal = make(chan struct{}, 1)
	} else if !blocking {
		c.signal = nil // no Read waits in non-blocking mode: an idle Conn keeps no channel
	}
	c.mu.Unlock()
}

// Output returns the ciphertext crypto/tls wrote that was not consumed yet.
// The bytes stay valid, and unchanged, until the next Consume; Writes in
// the meantime append after them. Safe from any goroutine; meant for the
// loop side, one caller at a time. Costs the mutex; allocates nothing.
func (c *Conn) Output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out[c.or:]
}

// Consume marks the first n bytes of the output as taken (n is clamped to
// what is pending). Safe from any goroutine; meant for the loop side, after
// it copied or sent what Output returned. Costs the mutex, and a copy of the
// rest when only part was taken.
func (c *Conn) Consume(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.or += min(max(n, 0), len(c.out)-c.or)
	switch {
	case c.or == len(c.out):
		c.out, c.or = c.out[:0], 0
	case c.or >= len(c.out)-c.or:
		c.out, c.or = c.out[:copy(c.out, c.out[c.or:])], 0
	}
}

// Release drops the input and output buffers when they are empty, so that
// an idle connection holds no buffer of this package; the next Feed or
// Write allocates again. Safe from any goroutine; meant for the loop side,
// when a connection turns idle.
func (c *Conn) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r == len(c.in) {
		c.in, c.r = nil, 0
	}
	if c.or == len(c.out) {
		c.out, c.or = nil, 0
	}
}

// Retained returns the capacity of the Conn's own input and output buffers
// (a lent slice is not the Conn's): 0 once Release dropped them. Safe from
// any goroutine.
func (c *Conn) Retained() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := cap(c.out)
	if !c.lent {
		n += cap(c.in)
	}
	return n
}

// Closed reports whether crypto/tls closed the Conn (tls.Conn.Close, or a
// cancelled handshake). Safe from any goroutine.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// EOFRead reports whether Read returned io.EOF, that is whether crypto/tls
// asked for more input after the peer's FIN. When tls.Conn.Read returned
// io.EOF, true means the peer ended without close_notify (at a record
// boundary; inside a record crypto/tls says io.ErrUnexpectedEOF itself) and
// false means it sent close_notify. Safe from any goroutine.
func (c *Conn) EOFRead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eofRead
}

// span returns how many bytes of avail (the unread input) Read may return:
// up to the end of the record it is in, so that crypto/tls, which keeps
// the capacity of its raw input buffer for good, never holds more than one
// record of ciphertext however much the loop fed at once. Called with c.mu
// held.
func (c *Conn) span(avail []byte) int {
	if c.recLeft > 0 {
		return min(len(avail), c.recLeft)
	}
	need := len(c.hdr) - c.hdrN
	if len(avail) < need {
		return len(avail)
	}
	var h [5]byte
	copy(h[:], c.hdr[:c.hdrN])
	copy(h[c.hdrN:], avail[:need])
	return min(len(avail), need+int(h[3])<<8|int(h[4]))
}

// track follows the record boundaries through the bytes b that Read
// returned. Called with c.mu held.
func (c *Conn) track(b []byte) {
	for len(b) > 0 {
		if c.recLeft > 0 {
			k := min(len(b), c.recLeft)
			c.recLeft -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrN:], b)
		c.hdrN += k
		b = b[k:]
		if c.hdrN == len(c.hdr) {
			c.recLeft, c.hdrN = int(c.hdr[3])<<8|int(c.hdr[4]), 0
		}
	}
}

// SetSink makes Write hand its bytes to sink, on the writing goroutine,
// instead of appending them to the output, whenever the output is empty
// (bytes already pending go first, through Output); nil undoes it. sink
// must copy what it keeps, and must not call the tls.Conn (it runs inside
// a tls.Conn call, which holds that connection's locks). Meant for the
// loop once the handshake is over, when the loop is the only goroutine
// that calls the tls.Conn: the records then go straight into the
// connection's output queue, one copy fewer. Safe from any goroutine.
func (c *Conn) SetSink(sink func([]byte)) {
	c.mu.Lock()
	c.sink = sink
	c.mu.Unlock()
}

// SetGate gives a blocking Read two functions to call around its wait:
// leave before it waits and enter once it woke, on the reading goroutine
// and outside the mutex. A pool that bounds the handshakes computing at
// once hands its token back in leave and takes it again in enter, so that
// a handshake waiting for its peer holds no token. Call before the
// handshake starts. Safe from any goroutine.
func (c *Conn) SetGate(leave, enter func()) {
	c.mu.Lock()
	c.leave, c.enter = leave, enter
	c.mu.Unlock()
}

// Read copies buffered ciphertext into p, never past the end of the record
// it is in (see span). With nothing buffered it returns
// net.ErrClosed after Close, then the error of SetErr or io.EOF after SetEOF,
// then os.ErrDeadlineExceeded past the read deadline, and otherwise waits
// (blocking mode) or returns ErrWouldBlock (non-blocking mode). Read never
// returns (0, nil) for a non-empty p. Called by crypto/tls.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	for {
		if c.closed {
			c.mu.Unlock()
			return 0, net.ErrClosed
		}
		if c.r < len(c.in) {
			avail := c.in[c.r:]
			n := copy(p, avail[:c.span(avail)])
			c.track(avail[:n])
			c.r += n
			if c.r == len(c.in) && !c.lent {
				c.in, c.r = c.in[:0], 0
			}
			wake := c.starved && n > 0
			if wake {
				c.starved = false
			}
			c.mu.Unlock()
			if wake && c.wake != nil {
				c.wake()
			}
			return n, nil
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return 0, err
		}
		if c.eof {
			c.eofRead = true
			c.mu.Unlock()
			return 0, io.EOF
		}
		deadline := c.deadline
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		if !c.blocking {
			c.mu.Unlock()
			return 0, ErrWouldBlock
		}
		leave, enter := c.leave, c.enter
		signal := c.signal
		c.mu.Unlock()
		if leave != nil {
			leave()
		}
		if deadline.IsZero() {
			<-signal
		} else {
			t := time.NewTimer(time.Until(deadline))
			select {
			case <-signal:
			case <-t.C:
			}
			t.Stop()
		}
		if enter != nil {
			enter()
		}
		c.mu.Lock()
	}
}

// Write appends b to the output and returns len(b), nil; it fails only
// after Close, with net.ErrClosed. A Write that finds the output empty calls
// the wake function afterwards. Called by crypto/tls. Costs one copy;
// allocates only while the output buffer grows.
func (c *Conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	wasEmpty := c.or == len(c.out)
	if sink := c.sink; sink != nil && wasEmpty {
		c.mu.Unlock()
		sink(b)
		return len(b), nil
	}
	c.out = append(c.out, b...)
	c.mu.Unlock()
	if wasEmpty && len(b) > 0 && c.wake != nil {
		c.wake()
	}
	return len(b), nil
}

// Close marks the Conn closed, ends a waiting Read and calls the wake
// function; a second Close returns net.ErrClosed. It does not touch the
// socket: the loop sends what Output holds and closes it. Called by
// crypto/tls.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.poke()
	c.mu.Unlock()
	if c.wake != nil {
		c.wake()
	}
	return nil
}

// LocalAddr returns the local address given to New.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the remote address given to New.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read deadline (the write deadline is ignored: see
// SetWriteDeadline). Safe from any goroutine.
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline sets the time after which a Read with nothing buffered
// returns os.ErrDeadlineExceeded instead of waiting; a zero t removes it. A
// waiting Read re-reads the deadline at once. Safe from any goroutine.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.poke()
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline does nothing and returns nil: Write never blocks, so no
// deadline can expire during one. (crypto/tls sets one around close_notify.)
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

var _ net.Conn = (*Conn)(nil)
