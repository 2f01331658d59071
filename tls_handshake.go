package ioloop

import (
	"crypto/tls"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/timer"
	"github.com/ioloop/ioloop/internal/tlsio"
)

// TLSStats counts a group's TLS handshakes. Get it with Group.TLSStats.
type TLSStats struct {
	// Handshakes counts the handshakes that succeeded; HandshakeErrors
	// those that failed (a bad or unexpected message, a certificate that
	// does not verify, a peer that closed or reset the connection during
	// the handshake), and HandshakeTimeouts those cut by
	// Options.HandshakeTimeout (counted apart from the errors).
	Handshakes, HandshakeErrors, HandshakeTimeouts uint64
	// Running is the number of handshakes on the pool's goroutines now
	// (computing or waiting for their peer); Queued the number of
	// connections whose first record arrived and that wait for a free
	// goroutine (Options.MaxHandshakes).
	Running, Queued int
}

// TLSStats returns the counts of the group's TLS handshakes. Safe from any
// goroutine; costs a mutex.
func (g *Group) TLSStats() TLSStats {
	p := g.hs
	p.mu.Lock()
	running, queued := p.running, len(p.queue)
	p.mu.Unlock()
	return TLSStats{
		Handshakes:        p.ok.Load(),
		HandshakeErrors:   p.failed.Load(),
		HandshakeTimeouts: p.timeouts.Load(),
		Running:           running,
		Queued:            queued,
	}
}

// handshakePool runs TLS handshakes on goroutines: crypto/tls's handshake is
// one blocking call, which cannot resume after an error from the
// connection below, so it must run where a Read may wait. At most max
// goroutines exist (Options.MaxHandshakes); connections past them wait in
// a FIFO queue, holding no goroutine. And at most cap(cpu) of them compute
// at once: a handshake holds a token of cpu while it runs and hands it back
// while it waits for its peer (tlsio.Conn.SetGate), so a flood of
// handshakes leaves the loops the rest of the CPUs.
type handshakePool struct {
	mu      sync.Mutex
	running int
	max     int
	queue   []*tlsConn

	cpu chan struct{}

	ok, failed, timeouts atomic.Uint64
}

func newHandshakePool(limit int) *handshakePool {
	return &handshakePool{max: limit, cpu: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

func (p *handshakePool) enter() { p.cpu <- struct{}{} }
func (p *handshakePool) leave() { <-p.cpu }

// start runs t's handshake on a pool goroutine, or queues it. Any goroutine.
func (p *handshakePool) start(t *tlsConn) {
	p.mu.Lock()
	if p.running < p.max {
		p.running++
		p.mu.Unlock()
		go p.work(t)
		return
	}
	p.queue = append(p.queue, t)
	p.mu.Unlock()
}

// work runs t's handshake, then those queued, until the queue is empty.
func (p *handshakePool) work(t *tlsConn) {
	for {
		if !t.dead.Load() { // a connection closed while queued is skipped
			t.handshake(p)
		}
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		t = p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
	}
}

// handshake runs on a pool goroutine: it computes with a CPU token, waits
// for its peer without one, and hands the result to the loop.
func (t *tlsConn) handshake(p *handshakePool) {
	p.enter()
	err := t.conn.Handshake()
	p.leave()
	t.c.l.push(mailbox.Func(func() { t.c.handshakeDone(err) }))
}

// newTLS makes c a TLS connection in its handshake phase: the server side
// when client is false. Loop only (or before c is registered).
func (c *Conn) newTLS(config *tls.Config, client bool) {
	l := c.l
	t := &tlsConn{c: c, client: client, sink: c.sinkFor()}
	t.raw = tlsio.New(nil, c.RemoteAddr(), 0, t.wake)
	p := l.g.hs
	t.raw.SetGate(t.waiting, p.enter)
	if client {
		t.conn = tls.Client(t.raw, config)
	} else {
		t.conn = tls.Server(t.raw, config)
	}
	c.extra().tls = t
	c.flags |= fTLS
}

// startHandshake arms the handshake timeout and, for a client, starts the
// handshake at once (its ClientHello goes first); a server waits for the
// peer's first record (see tlsHello). Loop only.
func (c *Conn) startHandshake() {
	t := c.ext.tls
	c.l.timers.Cancel(c.tm)
	c.tm = timer.Handle{}
	if d := c.l.opts.HandshakeTimeout; d > 0 {
		c.tm = c.l.timers.ScheduleTask(c.l.now+int64(d), 0, (*connTimer)(c))
	}
	if t.client {
		t.phase = tlsHandshaking
		c.l.g.hs.start(t)
	}
	c.flags |= fReadReady
	c.read()
}

// handshakeDone runs on the loop when the handshake returned: it sends
// what the handshake wrote last and either opens the connection (OnOpen,
// the dial's future, then the input that came with the peer's last
// flight) or closes it with the error.
func (c *Conn) handshakeDone(err error) {
	t := c.ext.tls
	if c.state == StateClosed {
		return
	}
	c.tlsOutput()
	p := c.l.g.hs
	if err != nil {
		if c.is(fTLSFin) {
			c.flags |= fEOF // the close need not wait for a FIN that came
		}
		t.phase = tlsFailed
		p.failed.Add(1) // now: the close waits for the peer (Options.Linger)
		t.counted = true
		c.beginClose(fmtHandshakeError(err))
		return
	}
	p.ok.Add(1)
	t.phase = tlsOpen
	t.raw.SetBlocking(false)
	t.raw.SetSink(t.sink)
	t.raw.SetGate(nil, nil)
	if b := t.raw.Take(); len(b) > 0 {
		t.rest.Append(c.l.pool, b) // the peer's bytes behind its last flight
	}
	t.raw.Release() // the handshake's buffers: from now on the loop lends its own
	if len(t.held) > 0 {
		t.rest.Append(c.l.pool, t.held)
		t.held = nil
	}
	c.flags &^= fTLSHold
	c.l.timers.Cancel(c.tm)
	c.tm = timer.Handle{}
	c.lastActive = c.l.now
	c.armTimer()
	c.writeEarly()
	if c.state != StateOpen {
		return
	}
	c.callOpen()
	if c.ext.dialed != nil && c.state != StateClosed {
		c.ext.dialed.Resolve(c)
	}
	if c.state == StateOpen {
		c.tlsInput(nil) // data crypto/tls or the loop holds already
		c.flags |= fReadReady
		c.l.addReady(c)
	}
}
