package http1

import (
	"crypto/tls"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// exchange is the state of one request and its response.
type exchange struct {
	upNext       ioloop.Handler // set by Upgrade during the handler, installed after it
	cs           *conn
	req          Request
	w            ResponseWriter
	gen          uint64 // incremented when the exchange goes back to the pool
	dead         bool   // released or aborted
	bodyH        BodyHandler
	bodyTaken    bool // BufferedBody consumed the body
	bodyDone     bool // the body was read to its end (or there is none)
	bodyPaused   bool
	continueSent bool
	headCopy     []byte
	onAbort      func(error)         // the connection ended before the response did
	onDrain      func(int)           // the adapter waits for the queue to drain
	onPeerEOF    func()              // the client finished sending while the response is open
	drainWait    int                 // bytes onDrain gives back
	tlsState     tls.ConnectionState // Request.TLS's copy, when tlsSet
	tlsSet       bool
}

// Connection phases.
const (
	phIdle uint8 = iota
	phHead
	phRequest
)

// conn is the server's state of one connection; loop only. It is what an
// idle keep-alive connection costs here: 72 bytes (TestConnSize holds it
// to that), with no buffer, since the parser and the exchange come from the
// loop's pools only while a request is in progress, and the timeouts are
// kept by the loop's deadline lists, not by a timer per connection. A new
// field that moves it to the allocator's next size class costs every idle
// connection that much more.
type conn struct {
	ls         *loopState
	c          *ioloop.Conn
	p          *parse.Parser
	x          *exchange
	prev, next *conn         // on ls.lists[list]
	deadline   time.Duration // since Server.base, when list has a timeout
	list       uint8
	phase      uint8
	processing bool
	posted     bool
	eof        bool
	shutdown   bool
	closing    bool
	closed     bool
	up         *upgraded // the protocol the connection was upgraded to; see Upgrade
}

// upgraded holds the handler of an upgraded connection, out of line so that
// conn stays in its size class.
type upgraded struct{ h ioloop.Handler }

// input returns the connection's unconsumed input, lent until the callback
// returns.
func (cs *conn) input() []byte {
	b, _ := cs.c.Peek(-1)
	return b
}

// connHandler is the ioloop.Handler of the server's connections.
type connHandler struct{ s *Server }

func (h connHandler) OnOpen(c *ioloop.Conn) {
	s := h.s
	s.active.Add(1)
	ls := s.loopState(c.Loop())
	cs := &conn{ls: ls, c: c, list: notListed}
	c.SetValue(cs)
	s.mu.Lock()
	cs.shutdown = s.stopping
	s.mu.Unlock()
	ls.refresh()
	cs.move(dlIdle, 0)
}

func (h connHandler) OnData(c *ioloop.Conn) {
	cs := c.Value().(*conn)
	if cs.up != nil {
		cs.up.h.OnData(c)
		return
	}
	cs.process()
}

func (h connHandler) OnEOF(c *ioloop.Conn) {
	cs := c.Value().(*conn)
	cs.eof = true
	if cs.up != nil {
		cs.up.h.OnEOF(c)
		return
	}
	if x := cs.x; x != nil && x.onPeerEOF != nil && x.bodyDone && c.Buffered() == 0 {
		// Like net/http: a client that stops sending is taken as gone.
		x.onPeerEOF()
	}
	cs.process()
}

func (h connHandler) OnBackpressure(c *ioloop.Conn, paused bool) {
	cs := c.Value().(*conn)
	if cs.up != nil {
		cs.up.h.OnBackpressure(c, paused)
		return
	}
	if x := cs.x; x != nil && !paused && x.onDrain != nil {
		f, n := x.onDrain, x.drainWait
		x.onDrain, x.drainWait = nil, 0
		f(n)
	}
	if d := cs.ls.s.writeTimeout(); d > 0 {
		if paused {
			c.SetWriteDeadline(c.Loop().Now().Add(d))
		} else {
			c.SetWriteDeadline(time.Time{})
		}
	}
}

func (h connHandler) OnShutdown(c *ioloop.Conn) { c.Value().(*conn).beginShutdown() }

func (h connHandler) OnClose(c *ioloop.Conn, err error) {
	cs, _ := c.Value().(*conn)
	if cs == nil {
		return
	}
	cs.closing, cs.closed = true, true
	cs.unlink()
	if cs.up != nil {
		defer cs.ls.s.connDone()
		cs.up.h.OnClose(c, err)
		return
	}
	if x := cs.x; x != nil {
		cs.x = nil
		if err == nil {
			err = ioloop.ErrClosed
		}
		if x.onAbort != nil {
			x.onAbort(err)
		}
		cs.ls.putExchange(x)
	}
	if cs.p != nil {
		cs.ls.putParser(cs.p)
		cs.p = nil
	}
	cs.ls.s.connDone()
}

func (cs *conn) beginShutdown() {
	if cs.closing || cs.closed {
		return
	}
	if cs.up != nil {
		cs.up.h.OnShutdown(cs.c)
		return
	}
	cs.shutdown = true
	if cs.x == nil && cs.c.Buffered() == 0 {
		cs.close()
	}
}

// cut ends a connection whose response x was sent in part: gracefully when
// its framing shows the client the cut (a missing last chunk or bytes short
// of the Content-Length), with a reset when the body ends with the connection
// and a close would look complete.
func (cs *conn) cut(x *exchange) {
	cs.flushOutput()
	if x.w.untilClose && !x.w.ended {
		_ = cs.c.Abort()
		cs.closing = true
		return
	}
	cs.close()
}

func (cs *conn) close() {
	cs.flushOutput()
	cs.closing = true
	_ = cs.c.Close()
}

// reject answers with an error status and closes the connection; nothing
// after this on the connection is read.
func (cs *conn) reject(status int) {
	if cs.closing {
		return
	}
	if x := cs.x; x != nil && x.w.ended {
		cs.close() // the response is whole: let it reach the client
		return
	}
	if x := cs.x; x != nil && x.w.committed {
		cs.cut(x)
		return
	}
	ls := cs.ls
	if !cs.processing {
		ls.refresh()
	}
	b := appendStatusLine(cs.outBuf(), status)
	b = append(b, ls.s.serverLine...)
	b = append(b, ls.dateLine()...)
	b = append(b, "Content-Length: 0\r\nConnection: close\r\n\r\n"...)
	cs.emit(b)
	if x := cs.x; x != nil {
		x.w.ended = true
	}
	cs.close()
}

// keepAliveAfter reports whether the connection may carry a request after x.
func (cs *conn) keepAliveAfter(x *exchange) bool {
	return !x.w.closeAfter && x.req.KeepAlive() && !cs.shutdown && !cs.closing
}

// continue100 is the interim response to "Expect: 100-continue".
var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// sendContinue sends "100 Continue" when the client waits for it.
func (cs *conn) sendContinue() {
	x := cs.x
	if x == nil || x.continueSent || x.bodyDone || x.w.committed ||
		x.req.flags&parse.FlagExpectContinue == 0 || x.req.minor == 0 {
		return
	}
	x.continueSent = true
	cs.flushOutput()
	_, _ = cs.c.Write(continue100)
	if !cs.processing {
		cs.post() // the body may be waiting in the input
	}
}

// takeBufferedBody consumes a Content-Length body that is already buffered.
func (cs *conn) takeBufferedBody(n int64) ([]byte, bool) {
	buf := cs.input()
	if int64(len(buf)) < n {
		return nil, false
	}
	m, payload, done, err := cs.p.Body(buf[:n])
	if err != nil || !done || int64(m) != n {
		return nil, false
	}
	cs.c.Discard(m)
	x := cs.x
	x.bodyTaken, x.bodyDone = true, true
	return payload, true
}

// responseEnded is called by End.
func (cs *conn) responseEnded(x *exchange) {
	if cs.processing || cs.closing {
		return
	}
	cs.post()
}

// post makes the loop call process soon, in a callback of its own.
func (cs *conn) post() {
	if cs.posted {
		return
	}
	cs.posted = true
	ls := cs.ls
	ls.posted = append(ls.posted, cs)
	if len(ls.posted) == 1 {
		ls.l.Execute(async.TaskFunc(ls.postFn)) // never refused, never inline
	}
}
