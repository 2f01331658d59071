package ioloop

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/sock"
)

// Dial connects to address on network ("tcp", "tcp4", "tcp6" or "unix") and
// serves the connection with h on one of the group's loops, like an accepted
// one. It returns at once, with a Conn in StateConnecting: OnOpen runs when
// the connection is established; if it fails or takes longer than timeout
// (0: no timeout), OnClose runs with the error (ErrDialTimeout, or the
// connect error) and OnOpen never does. Errors found before connecting (bad
// address, no descriptors) are returned. A host name is resolved on the
// calling goroutine, which may block: pass IP addresses from loop callbacks.
func (g *Group) Dial(network, address string, h Handler, timeout time.Duration) (*Conn, error) {
	return g.dial(network, address, h, timeout, false, nil)
}

// dial is Dial, DialFuture (future), and their TLS forms (config).
func (g *Group) dial(network, address string, h Handler, timeout time.Duration, future bool, config *tls.Config) (*Conn, error) {
	if h == nil {
		return nil, fmt.Errorf("ioloop: Dial %s %s: nil Handler", network, address)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("ioloop: Dial: unsupported network %q (want tcp, tcp4, tcp6 or unix)", network)
	}
	if g.closing.Load() {
		return nil, ErrGroupClosed
	}
	if max := g.opts.MaxConns; max > 0 && g.conns.Load() >= int64(max) {
		return nil, fmt.Errorf("ioloop: dial %s %s: Options.MaxConns (%d) reached", network, address, max)
	}
	fd, remote, err := sock.Connect(network, address)
	if err != nil {
		return nil, fmt.Errorf("ioloop: dial %s %s: %w", network, address, err)
	}
	l := g.pick(BalanceLeastConns)
	c := newConn(l, fd, remote, &h, nil, network == "unix") // h escapes: one cell per dial
	if future {
		if c.ext == nil { // an IPv6 peer's ext exists already
			c.ext = &connExtra{}
		}
		c.ext.dialed = async.NewPromise[*Conn](l)
	}
	if config != nil {
		c.newTLS(config, true)
	}
	g.conns.Add(1)
	l.nconns.Add(1)
	l.push(mailbox.Func(func() { l.startDial(c, timeout) }))
	return c, nil
}

// startDial registers a connecting socket and waits for it to become
// writable (connected) or to fail.
func (l *Loop) startDial(c *Conn, timeout time.Duration) {
	if c.akind != addrUnix {
		l.setTCPOptions(int(c.fd))
	}
	if c.req.Load()&(reqClose|reqAbort) != 0 {
		c.destroy(ErrClosed)
		return
	}
	if l.stopped() { // dialed as the group closed
		c.destroy(ErrGroupClosed)
		return
	}
	slot, gen, err := l.register(int(c.fd), c)
	if err != nil {
		c.destroy(fmt.Errorf("ioloop: register dialed connection: %w", err))
		return
	}
	c.slot, c.gen = slot, gen
	if timeout > 0 {
		c.tm = l.timers.ScheduleTask(l.now+int64(timeout), 0, (*connTimer)(c))
	}
}
