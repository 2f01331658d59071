package http1

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ioloop/ioloop"
)

// poolKey names a hostPool: the URL's authority and its scheme, so that
// http and https to one host:port never share a connection. (The TLS
// configuration is the Client's: one per pool set.)
type poolKey struct {
	host   string
	secure bool
}

// hostPool holds the connections to one host. Every field after mu is
// guarded by mu.
type hostPool struct {
	cl     *Client
	host   string      // authority as in the URL (the Host header)
	addr   string      // dial address with a port
	secure bool        // https
	tls    *tls.Config // the https connections' config (ServerName, ALPN set)

	mu      sync.Mutex
	total   int           // connections open or opening
	idle    []*clientConn // no exchange in flight (LIFO)
	partial []*clientConn // some exchanges in flight, room for more
	waiters []*clientExchange
}

// Lists a clientConn can be on.
const (
	listNone int8 = iota
	listIdle
	listPartial
)

// pool returns the pool of host over http or https (secure), creating it.
func (cl *Client) pool(host string, secure bool) (*hostPool, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return nil, ErrClientClosed
	}
	key := poolKey{host: host, secure: secure}
	hp := cl.hosts[key]
	if hp == nil {
		hp = &hostPool{cl: cl, host: host, addr: dialAddress(host, secure), secure: secure}
		if secure {
			hp.tls = cl.hostTLS(hp.addr)
		}
		cl.hosts[key] = hp
	}
	return hp, nil
}

// hostTLS returns the config of the https connections to addr: a copy of
// TLSConfig with ServerName (unless it has one) and ALPN set.
func (cl *Client) hostTLS(addr string) *tls.Config {
	var c *tls.Config
	if cl.TLSConfig != nil {
		c = cl.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	// Only HTTP/1.1 is spoken here: offering h2 would let a server pick it.
	c.NextProtos = []string{"http/1.1"}
	return c
}

// dispatch gives x a connection of its host's pool, dialing one if needed,
// or queues it until one is free. Any goroutine.
func (cl *Client) dispatch(x *clientExchange) {
	hp, err := cl.pool(x.host, x.secure)
	if err != nil {
		x.finish(err)
		return
	}
	x.mu.Lock()
	x.hp = hp
	x.mu.Unlock()
	hp.mu.Lock()
	hp.assign(x)
}

// assign runs with hp.mu held and releases it.
func (hp *hostPool) assign(x *clientExchange) {
	depth := hp.cl.pipeline()
	var cc *clientConn
	switch {
	case len(hp.idle) > 0:
		cc = hp.idle[len(hp.idle)-1]
	case hp.total < hp.cl.maxConns():
		hp.total++
		cc = &clientConn{hp: hp, inflight: 1}
		x.setConn(cc)
		hp.mu.Unlock()
		hp.dial(cc, x)
		return
	case len(hp.partial) > 0:
		cc = hp.partial[len(hp.partial)-1]
	default:
		hp.waiters = append(hp.waiters, x)
		if !x.deadline.IsZero() {
			// The total timeout runs on a loop once x has a connection;
			// while it waits for one, a runtime timer watches it.
			seq := x.seq
			time.AfterFunc(time.Until(x.deadline), func() { x.waitTimeout(hp, seq) })
		}
		hp.mu.Unlock()
		return
	}
	cc.inflight++
	hp.place(cc, depth)
	x.setConn(cc)
	l := cc.l
	hp.mu.Unlock()
	l.Execute(x)
}

// place puts cc on the list its load calls for. hp.mu held.
func (hp *hostPool) place(cc *clientConn, depth int) {
	want := listNone
	switch {
	case cc.gone:
	case cc.inflight == 0:
		want = listIdle
	case cc.inflight < depth:
		want = listPartial
	}
	if want == cc.list {
		return
	}
	hp.unlist(cc)
	switch want {
	case listIdle:
		cc.pos = len(hp.idle)
		hp.idle = append(hp.idle, cc)
	case listPartial:
		cc.pos = len(hp.partial)
		hp.partial = append(hp.partial, cc)
	}
	cc.list = want
}

func (hp *hostPool) unlist(cc *clientConn) {
	var l *[]*clientConn
	switch cc.list {
	case listIdle:
		l = &hp.idle
	case listPartial:
		l = &hp.partial
	default:
		return
	}
	s := *l
	last := len(s) - 1
	s[cc.pos] = s[last]
	s[cc.pos].pos = cc.pos
	s[last] = nil
	*l = s[:last]
	cc.list = listNone
}

// dial opens a connection for x (which cc already counts): over TLS for
// https, whose handshake then runs before OnOpen. The host name is resolved
// on this goroutine.
func (hp *hostPool) dial(cc *clientConn, x *clientExchange) {
	var c *ioloop.Conn
	var err error
	if hp.secure {
		c, err = hp.cl.Group.DialTLS("tcp", hp.addr, hp.tls, cc, hp.cl.dialTimeout())
	} else {
		c, err = hp.cl.Group.Dial("tcp", hp.addr, cc, hp.cl.dialTimeout())
	}
	hp.mu.Lock()
	if err != nil {
		cc.gone = true
		hp.total--
		next := hp.nextWaiter()
		hp.mu.Unlock()
		x.finish(fmt.Errorf("http1: dial %s: %w", hp.addr, err))
		if next != nil {
			hp.mu.Lock()
			hp.assign(next)
		}
		return
	}
	if cc.c == nil { // OnOpen may have run already (it sets cc.c under hp.mu)
		cc.c = c
	}
	cc.l = c.Loop()
	hp.place(cc, hp.cl.pipeline())
	hp.mu.Unlock()
	cc.l.Execute(x)
}

// nextWaiter pops the oldest waiting exchange when a connection can be
// dialed for it. hp.mu held.
func (hp *hostPool) nextWaiter() *clientExchange {
	if len(hp.waiters) == 0 || hp.total >= hp.cl.maxConns() {
		return nil
	}
	x := hp.waiters[0]
	hp.waiters = hp.waiters[:copy(hp.waiters, hp.waiters[1:])]
	return x
}

// release returns cc after an exchange ended; keep says whether it may
// carry more. A waiting exchange takes it at once. Loop of cc.
func (hp *hostPool) release(cc *clientConn, keep bool) {
	hp.mu.Lock()
	cc.inflight--
	if !keep {
		hp.leaveLocked(cc)
		return
	}
	depth := hp.cl.pipeline()
	if len(hp.waiters) > 0 {
		x := hp.waiters[0]
		hp.waiters = hp.waiters[:copy(hp.waiters, hp.waiters[1:])]
		cc.inflight++
		hp.place(cc, depth)
		x.setConn(cc)
		hp.mu.Unlock()
		cc.l.Execute(x)
		return
	}
	if cc.inflight == 0 && (len(hp.idle) >= hp.cl.maxIdle() || hp.cl.closedFlag.Load()) {
		hp.leaveLocked(cc)
		cc.closed = true
		cc.c.Close()
		return
	}
	hp.place(cc, depth)
	hp.mu.Unlock()
}

// leave removes cc from the pool for good.
func (hp *hostPool) leave(cc *clientConn) {
	hp.mu.Lock()
	hp.leaveLocked(cc)
}

// leaveLocked runs with hp.mu held and releases it; a waiter may then get
// a new connection.
func (hp *hostPool) leaveLocked(cc *clientConn) {
	if cc.gone {
		hp.mu.Unlock()
		return
	}
	cc.gone = true
	hp.unlist(cc)
	hp.total--
	next := hp.nextWaiter()
	if next == nil {
		hp.mu.Unlock()
		return
	}
	hp.assign(next)
}

// closeIdle closes the idle connections.
func (hp *hostPool) closeIdle() {
	hp.mu.Lock()
	idle := append([]*clientConn(nil), hp.idle...)
	hp.mu.Unlock()
	for _, cc := range idle {
		cc.c.Close()
	}
}

// removeWaiter takes x off the waiting list; false if it was not there.
// hp.mu held.
func (hp *hostPool) removeWaiter(x *clientExchange) bool {
	for i, w := range hp.waiters {
		if w == x {
			hp.waiters = append(hp.waiters[:i], hp.waiters[i+1:]...)
			return true
		}
	}
	return false
}
