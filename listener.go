package ioloop

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/onloop"
	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
)

// Listener is a stream listener (TCP or Unix) served by a Group. Create one
// with Group.Listen.
type Listener struct {
	g       *Group
	h       Handler
	network string
	addr    net.Addr
	balance Balance
	socks   []*lnSock
	tls     *tls.Config // ListenTLS

	closeOnce sync.Once
}

// lnSock is one listening socket on one loop.
type lnSock struct {
	loopSock
	ln      *Listener
	backoff time.Duration
	retry   Timer
	retryFn func()
}

// Listen starts serving connections on network ("tcp", "tcp4", "tcp6" or
// "unix") and address ("127.0.0.1:0", "[::1]:8080", "/path/to.sock") with h.
// With BalanceReusePort (the Linux default for TCP) every loop gets its own
// socket on the same port; otherwise one loop accepts and hands connections to
// the others. Errors in the address or the socket are returned at once.
func (g *Group) Listen(network, address string, h Handler) (*Listener, error) {
	return g.listen(network, address, h, nil)
}

// listen is Listen, and ListenTLS with config.
func (g *Group) listen(network, address string, h Handler, config *tls.Config) (*Listener, error) {
	if onloop.Current() {
		return nil, ErrOnLoop
	}
	if h == nil {
		return nil, fmt.Errorf("ioloop: Listen %s %s: nil Handler", network, address)
	}
	if g.closing.Load() || g.shutdown.Load() {
		return nil, ErrGroupClosed
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("ioloop: Listen: unsupported network %q (want tcp, tcp4, tcp6 or unix)", network)
	}
	b := g.opts.Balance
	if b == BalanceDefault {
		b = BalanceRoundRobin
		if network != "unix" && runtime.GOOS == "linux" {
			b = BalanceReusePort
		}
	}
	if b == BalanceReusePort && network == "unix" {
		return nil, fmt.Errorf("ioloop: Listen unix %s: BalanceReusePort needs TCP", address)
	}
	ln := &Listener{g: g, h: h, network: network, balance: b, tls: config}
	n := 1
	if b == BalanceReusePort {
		n = len(g.loops)
	}
	for i := range n {
		fd, addr, err := sock.Listen(network, address, sock.ListenConfig{ReusePort: b == BalanceReusePort})
		if err != nil {
			closeUnregistered(ln.socks)
			return nil, fmt.Errorf("ioloop: listen %s %s: %w", network, address, err)
		}
		if i == 0 {
			ln.addr = addr
			if ta, ok := addr.(*net.TCPAddr); ok {
				address = ta.String() // the other loops bind the port the first got
			}
		}
		s := &lnSock{loopSock: loopSock{l: g.loops[i], fd: fd}, ln: ln}
		s.retryFn = s.accept
		ln.socks = append(ln.socks, s)
	}
	if err := registerOnLoops(ln.socks, func() { ln.Close() }, network, address); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.listeners = append(g.listeners, ln)
	g.mu.Unlock()
	return ln, nil
}

// Addr returns the address the listener is bound to (with the real port when
// the address asked for port 0).
func (ln *Listener) Addr() net.Addr { return ln.addr }

// Balance returns how the listener spreads connections over the loops.
func (ln *Listener) Balance() Balance { return ln.balance }

// Close stops accepting; connections already accepted go on. A Unix socket's
// file is removed. Safe from any goroutine. The loops close their sockets
// in their next iteration: Close does not wait for them.
func (ln *Listener) Close() error {
	ln.closeOnce.Do(func() {
		closeOnLoops(ln.socks)
		if ua, ok := ln.addr.(*net.UnixAddr); ok && ua.Name != "" && ua.Name[0] != '@' {
			_ = os.Remove(ua.Name)
		}
	})
	return nil
}

// close stops the accept retry timer and closes the socket; later calls do
// nothing. Loop only.
func (s *lnSock) close() {
	if !s.closed {
		s.retry.Stop()
	}
	s.loopSock.close()
}

func (s *lnSock) onEvent(poller.Flags) {
	if s.backoff == 0 {
		s.accept()
	}
}

// accept takes up to acceptBudget connections. On EMFILE/ENFILE-like errors
// it backs off (5 ms doubling to 1 s) on a timer: it never spins and never
// stops the listener.
func (s *lnSock) accept() {
	if s.closed {
		return
	}
	g := s.ln.g
	for range acceptBudget {
		fd, remote, err := sock.Accept(s.fd)
		if err != nil {
			switch {
			case err == syscall.EAGAIN:
				s.backoff = 0
				return
			case err == syscall.EINTR || sock.IsTemporaryAcceptError(err):
				continue
			case sock.IsResourceError(err):
				s.backoff = min(max(2*s.backoff, 5*time.Millisecond), time.Second)
				g.opts.Logger.Warn("ioloop: accept: out of resources; retrying later",
					"addr", s.ln.addr.String(), "err", err, "retry", s.backoff)
				s.retry = s.l.AfterFunc(s.backoff, s.retryFn)
				return
			default:
				g.opts.Logger.Error("ioloop: accept failed", "addr", s.ln.addr.String(), "err", err)
				s.backoff = time.Second
				s.retry = s.l.AfterFunc(s.backoff, s.retryFn)
				return
			}
		}
		s.backoff = 0
		if max := g.opts.MaxConns; max > 0 && g.conns.Load() >= int64(max) || g.shutdown.Load() {
			_ = sock.Close(fd) // refuse: the peer sees the connection closed at once
			continue
		}
		g.conns.Add(1)
		target := s.l
		if s.ln.balance != BalanceReusePort {
			target = g.pick(s.ln.balance)
		}
		if target == s.l {
			target.adopt(fd, remote, &s.ln.h, s.ln)
			continue
		}
		target.nconns.Add(1) // counted now so least-conns sees it at once
		h, ln := &s.ln.h, s.ln
		// Never refused (see Loop.push); a loop that stopped meanwhile
		// fails the registration in adopt, which closes fd.
		target.push(mailbox.Func(func() { target.nconns.Add(-1); target.adopt(fd, remote, h, ln) }))
	}
	s.l.addReady(s) // budget spent: go on next iteration
}

// adopt registers an accepted connection on the loop and opens it. The caller
// has counted it in g.conns.
func (l *Loop) adopt(fd int, remote netip.AddrPort, h *Handler, ln *Listener) {
	if l.stopped() { // handed over as the group closed
		_ = sock.Close(fd)
		l.g.connDone()
		return
	}
	c := newConn(l, fd, remote, h, ln, ln.network == "unix")
	if ln.network != "unix" {
		l.setTCPOptions(fd)
	}
	l.nconns.Add(1)
	slot, gen, err := l.register(fd, c)
	if err != nil {
		_ = sock.Close(fd)
		l.nconns.Add(-1)
		l.g.connDone()
		l.opts.Logger.Error("ioloop: register connection failed", "err", err)
		return
	}
	c.slot, c.gen = slot, gen
	c.state = StateOpen
	if ln.tls != nil {
		c.newTLS(ln.tls, false)
	}
	c.open()
}

func (l *Loop) setTCPOptions(fd int) {
	if !l.opts.TCPDelay {
		_ = sock.SetNoDelay(fd, true)
	}
	if l.opts.TCPKeepAlive > 0 {
		_ = sock.SetKeepAlive(fd, l.opts.TCPKeepAlive)
	}
}
