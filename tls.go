package ioloop

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/buffer"
	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/tlsio"
)

var (
	// ErrTLSHandshake is wrapped by the error that closes a TLS connection
	// whose handshake failed, together with crypto/tls's error (or
	// ErrTLSHandshakeTimeout's): test with errors.Is or errors.As.
	ErrTLSHandshake = errors.New("ioloop: TLS handshake failed")
	// ErrTLSHandshakeTimeout closes a TLS connection whose handshake did not
	// finish within Options.HandshakeTimeout. It wraps ErrTLSHandshake and
	// os.ErrDeadlineExceeded.
	ErrTLSHandshakeTimeout = fmt.Errorf("%w: timeout: %w", ErrTLSHandshake, os.ErrDeadlineExceeded)
	// ErrTLSTruncated closes a TLS connection whose peer closed its
	// sending side in the middle of a record. It wraps
	// io.ErrUnexpectedEOF. (A close at a record boundary without
	// close_notify is not an error at this level: see Conn.Truncated.)
	ErrTLSTruncated = fmt.Errorf("ioloop: TLS stream truncated: %w", io.ErrUnexpectedEOF)
)

func fmtHandshakeError(err error) error { return fmt.Errorf("%w: %w", ErrTLSHandshake, err) }

// tlsPhase is where a TLS connection is in its life.
type tlsPhase uint8

const (
	tlsHello       tlsPhase = iota // server: buffering the peer's first record
	tlsHandshaking                 // on the handshake pool, running or queued
	tlsOpen                        // the loop drives the tls.Conn
	tlsFailed                      // the handshake failed; closing
)

// tlsConn is the TLS side of a connection: crypto/tls's tls.Conn over the
// tlsio.Conn the loop feeds. During the handshake a pool goroutine runs
// the tls.Conn and the loop feeds copies of the input; afterwards the loop
// runs it, lending its read buffer, and crypto/tls writes records straight
// into the connection's output (tlsio.Conn.SetSink).
type tlsConn struct {
	c      *Conn
	raw    *tlsio.Conn
	conn   *tls.Conn
	sink   func([]byte)
	phase  tlsPhase
	client bool

	first []byte // server: the peer's first record, gathered before the handshake starts

	held  []byte       // input Feed did not take during the handshake (reading paused)
	rest  buffer.Input // after the handshake: an incomplete record, or input left while paused
	early []earlyWrite // writes before the handshake finished

	notified  bool // close_notify queued
	counted   bool // the failed handshake was counted
	truncated bool // the peer's FIN came without close_notify

	woken   atomic.Bool // the handshake wrote (or made room) since the last pump
	pumping atomic.Bool // a pump task is queued on the loop
	dead    atomic.Bool // the connection closed
}

// earlyWrite is a write made before the handshake finished: b is a copy
// (Write) or the caller's (WriteRef, with done).
type earlyWrite struct {
	b    []byte
	done func(error)
}

// wake is the tlsio.Conn's wake function: crypto/tls wrote, or a Read made
// room after a short Feed, or the tls.Conn was closed. During the
// handshake it runs on the pool goroutine, which goes on until it waits
// for its peer or returns: it only notes the work, and the loop hears of
// it then (waiting), in one task per flight. On the loop it has nothing to
// do, since the loop looks at the output after every tls.Conn call.
func (t *tlsConn) wake() {
	if t.phase >= tlsOpen {
		return // on the loop, which takes the output after every call
	}
	t.woken.Store(true)
}

// waiting runs on the handshake goroutine before it waits for its peer
// (the gate's leave): the flight it wrote goes to the loop, in one pump
// task (never refused, at most one queued), and the CPU token back to the
// pool.
func (t *tlsConn) waiting() {
	if t.woken.Swap(false) && t.pumping.CompareAndSwap(false, true) {
		t.c.l.push(t)
	}
	t.c.l.g.hs.leave()
}

// Run is the pump task: it moves the handshake's output into the
// connection's output queue and feeds what the input bound held back.
func (t *tlsConn) Run() {
	t.pumping.Store(false)
	c := t.c
	if c.state == StateClosed {
		return
	}
	c.tlsOutput()
	if len(t.held) > 0 && t.phase == tlsHandshaking {
		n := t.raw.Feed(t.held)
		t.held = t.held[n:]
		if len(t.held) == 0 {
			t.held = nil
			c.flags &^= fTLSHold
			c.resume()
		}
	}
}

var _ mailbox.Task = (*tlsConn)(nil)

// ListenTLS is Listen for TLS: every accepted connection does a TLS
// handshake with config (the standard library's crypto/tls, unmodified)
// before OnOpen, and its handler then sees plaintext: OnData gets
// decrypted input, Write encrypts, Close sends close_notify first. The
// handshake runs on a bounded pool of goroutines (Options.MaxHandshakes)
// once the client's first record has arrived, within
// Options.HandshakeTimeout; a connection whose handshake fails gets
// OnClose with an error wrapping ErrTLSHandshake, and no other callback.
// After the handshake the loop decrypts and encrypts: no goroutine, and no
// buffer of ioloop's while idle. config must not change afterwards (as
// with tls.Listen); its callbacks (GetCertificate, GetConfigForClient,
// VerifyPeerCertificate, ...) run on the pool's goroutines. Safe from any
// goroutine except a loop's (ErrOnLoop).
func (g *Group) ListenTLS(network, address string, config *tls.Config, h Handler) (*Listener, error) {
	if config == nil || len(config.Certificates) == 0 && config.GetCertificate == nil && config.GetConfigForClient == nil {
		return nil, fmt.Errorf("ioloop: ListenTLS %s %s: the tls.Config has no certificate (Certificates, GetCertificate or GetConfigForClient)", network, address)
	}
	return g.listen(network, address, h, config)
}

// DialTLS is Dial for TLS: once connected, the connection does a TLS
// client handshake with config before OnOpen, and its handler then sees
// plaintext as with ListenTLS. When config has no ServerName, the host of
// address is used for SNI and verification (a copy of config is made).
// The handshake runs on the pool's goroutines within
// Options.HandshakeTimeout (timeout bounds the connect only); if it fails,
// OnClose gets an error wrapping ErrTLSHandshake and OnOpen never runs.
// Safe from any goroutine.
func (g *Group) DialTLS(network, address string, config *tls.Config, h Handler, timeout time.Duration) (*Conn, error) {
	config, err := clientConfig(network, address, config)
	if err != nil {
		return nil, err
	}
	return g.dial(network, address, h, timeout, false, config)
}

// DialTLSFuture is DialTLS in future style, as DialFuture is Dial's: the
// future resolves once the handshake is done and OnOpen ran.
func (g *Group) DialTLSFuture(network, address string, config *tls.Config, h Handler, timeout time.Duration) *async.Future[*Conn] {
	config, err := clientConfig(network, address, config)
	if err != nil {
		return g.failedDial(err)
	}
	return g.dialFuture(network, address, h, timeout, config)
}

// clientConfig returns config with ServerName set from address when it
// has none.
func clientConfig(network, address string, config *tls.Config) (*tls.Config, error) {
	if config == nil {
		config = &tls.Config{}
	}
	if config.ServerName != "" || network == "unix" {
		return config, nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("ioloop: DialTLS %s %s: %w", network, address, err)
	}
	config = config.Clone()
	config.ServerName = host
	return config, nil
}

// ConnectionState returns the TLS state of the connection (version,
// cipher suite, ALPN protocol, server name, peer certificates, whether the
// session was resumed) and true, once the handshake is done; ok is false
// for a connection without TLS. Loop only. Costs a copy of the state.
func (c *Conn) ConnectionState() (state tls.ConnectionState, ok bool) {
	c.l.mustOwn("Conn.ConnectionState")
	if !c.is(fTLS) || c.ext.tls.phase != tlsOpen {
		return tls.ConnectionState{}, false
	}
	return c.ext.tls.conn.ConnectionState(), true
}

// Truncated reports whether the peer of a TLS connection finished sending
// (OnEOF) without close_notify: a FIN at a record boundary, which
// crypto/tls itself cannot tell from a close_notify. A protocol whose
// framing ends where the peer stops (an HTTP response without a length)
// must treat that as a truncation, not as the end. Always false without
// TLS. Loop only.
func (c *Conn) Truncated() bool {
	c.l.mustOwn("Conn.Truncated")
	return c.is(fTLS) && c.ext.tls.truncated
}

// received takes what the socket delivered: plaintext goes to OnData; a TLS
// connection's ciphertext goes to crypto/tls first. Loop only.
func (c *Conn) received(data []byte) {
	if c.is(fTLS) {
		c.tlsInput(data)
		return
	}
	c.deliver(data)
}

// tlsInput handles ciphertext from the socket (data may be nil: go on
// with what is held). Loop only.
func (c *Conn) tlsInput(data []byte) {
	t := c.ext.tls
	switch t.phase {
	case tlsHello, tlsHandshaking:
		c.tlsHandshakeInput(data)
		return
	case tlsFailed:
		return
	}
	pool := c.l.pool
	own := t.rest.Len() > 0
	if own {
		t.rest.Append(pool, data)
		data = t.rest.Bytes()
	}
	t.raw.Lend(data)
	c.tlsDrain()
	rest := t.raw.Reclaim()
	if c.state == StateClosed {
		t.rest.Release(pool)
		return
	}
	if own {
		t.rest.Discard(pool, len(data)-len(rest))
	} else if len(rest) > 0 {
		t.rest.Append(pool, rest)
	}
}

// tlsHandshakeInput feeds the handshake. A server first gathers the
// peer's first record and starts the handshake once it is complete (or is
// no handshake record at all: crypto/tls then answers as it does); it
// feeds a ClientHello cut into records of at most helloFragment bytes
// (see feedHello). Loop only.
func (c *Conn) tlsHandshakeInput(data []byte) {
	t := c.ext.tls
	if len(data) == 0 {
		return
	}
	if t.phase == tlsHello {
		t.first = append(t.first, data...)
		if len(t.first) < recordHeaderLen {
			return
		}
		n := recordHeaderLen + (int(t.first[3])<<8 | int(t.first[4]))
		if t.first[0] == recordTypeHandshake && n <= recordHeaderLen+maxPlaintext && len(t.first) < n {
			return // a ClientHello, not complete yet
		}
		first := t.first
		t.first = nil
		t.phase = tlsHandshaking
		if first[0] == recordTypeHandshake && n <= recordHeaderLen+maxPlaintext {
			feedHello(t.raw, first[:n])
			first = first[n:]
		}
		c.tlsFeed(first)
		c.l.g.hs.start(t)
		return
	}
	c.tlsFeed(data)
}

// tlsFeed feeds data to the handshake, holding what does not fit (and
// pausing reading) until the handshake has read enough. Loop only.
func (c *Conn) tlsFeed(data []byte) {
	t := c.ext.tls
	if len(t.held) > 0 {
		t.held = append(t.held, data...) // reading is paused; this is the end of one read
		return
	}
	if n := t.raw.Feed(data); n < len(data) {
		t.held = append([]byte(nil), data[n:]...)
		c.flags |= fTLSHold
	}
}

const (
	recordHeaderLen     = 5
	recordTypeHandshake = 22
	maxPlaintext        = 16384
	// helloFragment is the most ClientHello bytes fed in one record.
	// crypto/tls keeps the capacity of its record buffer for the life of
	// the connection and sizes it by the largest record it has read plus
	// 512 bytes; a ClientHello with a post-quantum key share is over 1.5
	// KiB, the requests of a mostly idle connection rarely are. Handshake
	// messages may span records (RFC 8446, section 5.1), so the hello goes
	// in records that fit the buffer's first size (576 bytes); of the
	// sizes tried, small records left the least memory per idle
	// connection (bench/RESULTS.md).
	helloFragment = 64
)

// feedHello feeds a complete plaintext ClientHello record as records of at
// most helloFragment bytes each, with the original header's type and
// version. Loop only (before the handshake starts).
func feedHello(raw *tlsio.Conn, rec []byte) {
	hdr, body := rec[:recordHeaderLen], rec[recordHeaderLen:]
	var h [recordHeaderLen]byte
	copy(h[:], hdr)
	for len(body) > 0 {
		k := min(len(body), helloFragment)
		h[3], h[4] = byte(k>>8), byte(k)
		raw.Feed(h[:])
		raw.Feed(body[:k])
		body = body[k:]
	}
}

// tlsDrain reads plaintext from crypto/tls and delivers it, until crypto/tls
// needs more input, the handler pauses reading, or the connection ends.
// Loop only.
func (c *Conn) tlsDrain() {
	t := c.ext.tls
	l := c.l
	for c.state == StateOpen && !c.readPaused() && !c.is(fEOF) {
		buf := l.plaintext()
		n, err := t.conn.Read(buf)
		if c.outLen() > 0 {
			c.queued() // Read answered a KeyUpdate
			if c.state != StateOpen {
				return
			}
		}
		if n > 0 {
			c.lastActive = l.now
			c.deliver(buf[:n])
		}
		switch err {
		case nil:
			if n > 0 && n < len(buf) && t.raw.Pending() == 0 {
				// A whole record was read (its plaintext fit), and Read
				// stops at record ends: crypto/tls holds nothing more, and
				// another call would only say ErrWouldBlock.
				return
			}
			continue
		case tlsio.ErrWouldBlock:
			return
		case io.EOF: // close_notify, or a FIN at a record boundary
			t.truncated = t.raw.EOFRead()
			if c.state == StateOpen || c.state == StateClosing {
				c.peerEOF()
			}
			return
		case io.ErrUnexpectedEOF:
			c.fail(ErrTLSTruncated)
			return
		}
		c.fail(fmt.Errorf("ioloop: TLS: %w", err))
		return
	}
}

// plaintext returns the loop's buffer for decrypted records (a record's
// plaintext is at most 16 KiB), allocated on first use.
func (l *Loop) plaintext() []byte {
	if l.plain == nil {
		l.plain = make([]byte, 16<<10)
	}
	return l.plain
}

// tlsEOF handles the peer's FIN on a TLS connection. Loop only.
func (c *Conn) tlsEOF() {
	t := c.ext.tls
	t.raw.SetEOF()
	if t.phase == tlsOpen {
		c.tlsInput(nil) // crypto/tls reads the rest, then io.EOF
		return
	}
	// The handshake sees the FIN after the bytes before it; once it is
	// over, the loop delivers those bytes, then OnEOF (handshakeDone).
	c.flags |= fTLSFin
	if t.phase == tlsHello {
		c.fail(fmtHandshakeError(io.ErrUnexpectedEOF))
	}
}

// tlsOutput moves what crypto/tls wrote on a handshake goroutine into the
// output queue. Loop only.
func (c *Conn) tlsOutput() {
	t := c.ext.tls
	out := t.raw.Output()
	if len(out) == 0 || c.state == StateClosed || c.is(fWriteShut) {
		return
	}
	c.getIO().out.Write(c.l.pool, out)
	t.raw.Consume(len(out))
	c.queued()
}

// sinkFor returns the function crypto/tls's records go through after the
// handshake: straight into the output queue, marked for the flush. The
// water marks are applied by the caller once the tls.Conn call returned.
func (c *Conn) sinkFor() func([]byte) {
	return func(b []byte) {
		if c.state == StateClosed || c.is(fWriteShut) {
			return
		}
		c.getIO().out.Write(c.l.pool, b)
		if !c.is(fDirty) {
			c.flags |= fDirty
			c.l.dirty = append(c.l.dirty, c)
		}
	}
}

// tlsWrite encrypts b into the output queue; done, if not nil, runs once
// the records are written (a marker queued behind them). Loop only.
func (c *Conn) tlsWrite(b []byte, done func(error)) error {
	t := c.ext.tls
	if t.phase != tlsOpen {
		if t.phase == tlsFailed {
			return ErrClosed
		}
		if done == nil {
			b = append([]byte(nil), b...)
		}
		t.early = append(t.early, earlyWrite{b, done})
		return nil
	}
	if len(b) > 0 {
		if _, err := t.conn.Write(b); err != nil {
			return err
		}
	}
	if done != nil {
		if c.outLen() == 0 {
			c.l.push(mailbox.Func(func() { done(nil) }))
		} else {
			c.io.out.WriteRef(nil, done)
		}
	}
	if c.outLen() > 0 {
		c.queued()
	}
	return nil
}

// writeEarly encrypts the writes made before the handshake finished.
// Loop only.
func (c *Conn) writeEarly() {
	t := c.ext.tls
	early := t.early
	t.early = nil
	for _, w := range early {
		if err := c.tlsWrite(w.b, w.done); err != nil {
			c.fail(err)
			return
		}
	}
}

// earlyLen is the bytes written before the handshake finished. Loop only.
func (c *Conn) earlyLen() int {
	if !c.is(fTLS) {
		return 0
	}
	n := 0
	for _, w := range c.ext.tls.early {
		n += len(w.b)
	}
	return n
}

// tlsCloseNotify queues close_notify once, after the handshake. Loop only.
func (c *Conn) tlsCloseNotify() {
	t := c.ext.tls
	if t.phase != tlsOpen || t.notified {
		return
	}
	t.notified = true
	_ = t.conn.CloseWrite()
}

// tlsDestroy ends a closed connection's TLS side: a handshake still running
// fails on its next Read, a queued one is skipped, early writes fail, the
// buffers go back. A connection that ends before its handshake succeeded
// is counted, and the error OnClose gets says it was the handshake.
// Loop only.
func (c *Conn) tlsDestroy(err error) error {
	t := c.ext.tls
	if t.phase != tlsOpen && !t.counted {
		p := c.l.g.hs
		switch {
		case errors.Is(err, ErrTLSHandshakeTimeout):
			p.timeouts.Add(1)
		case errors.Is(err, ErrTLSHandshake):
			p.failed.Add(1)
		case err == nil || err == ErrClosed || err == ErrServerClosed || err == ErrGroupClosed || err == ErrAborted:
			// closed on this side
		default: // a reset, a FIN, an input limit
			p.failed.Add(1)
			err = fmtHandshakeError(err)
		}
	}
	t.dead.Store(true)
	t.raw.SetErr(net.ErrClosed)
	t.rest.Release(c.l.pool)
	t.held = nil
	early := t.early
	t.early = nil
	werr := err
	if werr == nil {
		werr = ErrClosed
	}
	for _, w := range early {
		if w.done != nil {
			done := w.done
			c.l.push(mailbox.Func(func() { done(werr) }))
		}
	}
	return err
}
