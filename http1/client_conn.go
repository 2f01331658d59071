package http1

import (
	"errors"
	"fmt"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// clientConn is one pooled connection; it is the ioloop.Handler of its Conn.
type clientConn struct {
	hp *hostPool
	l  *ioloop.Loop // set under hp.mu before the first exchange is posted
	c  *ioloop.Conn

	// guarded by hp.mu
	inflight int  // exchanges given to it and not finished
	list     int8 // which pool list holds it
	pos      int  // index in that list
	gone     bool // left the pool: never handed out again

	// owned by the loop
	p         parse.Parser
	queue     []*clientExchange // in request order; [0] is being answered
	written   int               // queue[:written] have their request fully written
	streaming bool              // queue[written] is sending a BodyReader
	methodSet bool              // SetRequestMethod called for queue[0]
	open      bool
	closed    bool
	uses      int  // responses completed on it
	sockGone  bool // OnClose ran
	noRetry   bool // the TLS handshake failed: no exchange is retried
}

// OnOpen writes the requests queued while connecting.
func (cc *clientConn) OnOpen(c *ioloop.Conn) {
	cc.hp.mu.Lock() // dial sets cc.c too, from the dialing goroutine
	cc.c = c
	cc.hp.mu.Unlock()
	cc.open = true
	cc.p.Init(parse.Response, parse.Limits{MaxHeaderBytes: cc.hp.cl.maxHeader(), MaxBodyBytes: cc.hp.cl.MaxBodyBytes})
	if d := cc.hp.cl.idleTimeout(); d > 0 {
		c.SetIdleTimeout(d)
	}
	cc.writeNext()
}

// OnBackpressure needs nothing: the loop pauses reading for us.
func (cc *clientConn) OnBackpressure(*ioloop.Conn, bool) {}

// OnShutdown closes an idle connection and lets busy ones finish.
func (cc *clientConn) OnShutdown(c *ioloop.Conn) {
	if len(cc.queue) == 0 {
		cc.quit(c)
	}
}

// OnEOF ends a close-delimited body, or fails what is in flight.
func (cc *clientConn) OnEOF(c *ioloop.Conn) {
	cc.OnData(c) // whatever arrived with the FIN
	if cc.closed {
		return
	}
	if len(cc.queue) == 0 {
		cc.quit(c)
		return
	}
	x := cc.queue[0]
	if x.headDone {
		done, err := cc.p.EOF()
		if done && err == nil && c.Truncated() {
			// A close-delimited body over TLS ended by a FIN alone: not
			// the end the server meant, maybe a cut (RFC 8446 6.1).
			cc.fail(ErrTruncated, nil)
			return
		}
		if done && err == nil {
			cc.complete(x, false)
			if len(cc.queue) == 0 {
				cc.quit(c)
				return
			}
		}
		cc.fail(ErrClosedMidBody, nil)
		return
	}
	if b, _ := c.Peek(-1); len(b) == 0 && !cc.p.Started() && cc.uses > 0 {
		// A reused connection the server had already closed: requests not
		// answered may go to another connection once.
		cc.fail(ErrNoResponse, retryIdempotent)
		return
	}
	cc.fail(ErrNoResponse, nil)
}

// OnClose fails whatever is still queued.
func (cc *clientConn) OnClose(c *ioloop.Conn, err error) {
	cc.sockGone = true
	if cc.closed {
		return
	}
	switch {
	case err == nil:
		err = ErrNoResponse
	case errors.Is(err, ioloop.ErrDialTimeout):
		err = ErrDialTimeout
	case errors.Is(err, ioloop.ErrIdleTimeout):
		err = ErrIdleConnTimeout
	case errors.Is(err, ioloop.ErrTLSHandshake):
		// Another connection would most likely fail the same way: the
		// exchanges get this error, not a retry.
		cc.noRetry = true
		err = fmt.Errorf("http1: connection to %s: %w", cc.hp.addr, err)
	default:
		err = fmt.Errorf("http1: connection to %s: %w", cc.hp.addr, err)
	}
	cc.fail(err, nil)
}

// quit closes an idle connection quietly.
func (cc *clientConn) quit(c *ioloop.Conn) {
	if cc.closed {
		return
	}
	cc.closed = true
	c.Close()
	cc.hp.leave(cc)
}

// retryPolicy decides which failed exchanges go to another connection.
type retryPolicy func(x *clientExchange, i int) bool

// retryIdempotent retries the exchanges whose method is idempotent (RFC
// 9110 9.2.2): the server may have processed them before closing.
func retryIdempotent(x *clientExchange, _ int) bool { return x.idempotent() }

// fail closes cc for good: exchanges not yet written (or all replayable
// ones, when retry says so) are handed to another connection once; the
// others fail with err. Loop only.
func (cc *clientConn) fail(err error, retry retryPolicy) {
	cc.abort(nil, err, err, retry)
}

// abort ends cc because of x (a timeout, a cancellation): x fails with
// xerr, the other exchanges with err or a retry. Loop only.
func (cc *clientConn) abort(x *clientExchange, xerr, err error, retry retryPolicy) {
	if cc.closed {
		return
	}
	cc.closed = true
	if !cc.sockGone {
		cc.c.Abort()
	}
	cc.hp.leave(cc)
	q, written := cc.queue, cc.written
	cc.queue, cc.written = nil, 0
	for i, y := range q {
		switch {
		case y == x:
			y.finish(xerr)
		case !y.retried && !cc.noRetry && y.replayable() && (i >= written && !(i == written && cc.streaming) || retry != nil && retry(y, i)):
			y.retried = true
			y.detachConn()
			cc.hp.cl.dispatch(y)
		default:
			y.finish(err)
		}
	}
	cc.streaming = false
}

// writeNext writes the queued requests not yet written, stopping behind a
// request whose body is streamed from a reader. Loop only.
func (cc *clientConn) writeNext() {
	for !cc.closed && cc.open && !cc.streaming && cc.written < len(cc.queue) {
		x := cc.queue[cc.written]
		x.writeHead(cc.c)
		if x.reader != nil {
			cc.streaming = true
			go x.sendBody(cc, x.seq, x.reader, x.req.ContentLength)
			return
		}
		cc.written++
	}
}

// bodySent runs on the loop when a streamed request body was sent.
func (cc *clientConn) bodySent(x *clientExchange, seq uint64, err error) {
	if cc.closed || x.seq != seq || !cc.streaming || cc.written >= len(cc.queue) || cc.queue[cc.written] != x {
		return
	}
	if err != nil {
		cc.abort(x, err, ErrConnAborted, nil)
		return
	}
	cc.streaming = false
	cc.written++
	cc.writeNext()
}

// OnData parses responses for the queued exchanges, in order.
func (cc *clientConn) OnData(c *ioloop.Conn) {
	for !cc.closed {
		b, _ := c.Peek(-1)
		if len(b) == 0 {
			return
		}
		if len(cc.queue) == 0 {
			cc.fail(ErrUnsolicited, nil)
			return
		}
		x := cc.queue[0]
		if !x.headDone {
			if !cc.methodSet {
				cc.p.SetRequestMethod(unsafeBytes(x.method))
				cc.methodSet = true
			}
			n, err := cc.p.Parse(b)
			if err != nil {
				cc.fail(responseError(err), nil)
				return
			}
			if n == 0 {
				return
			}
			m := cc.p.Message()
			if m.Status < 200 {
				if m.Status == 101 {
					cc.fail(&ResponseError{Reason: "unexpected 101 Switching Protocols", Offset: 0}, nil)
					return
				}
				c.Discard(n) // 1xx: informational, skipped
				cc.methodSet = false
				continue
			}
			x.headDone = true
			x.keepAlive = m.KeepAlive()
			x.stopHeaderTimer()
			x.resp.setHead(b[:n], m)
			c.Discard(n)
			if m.Framing == parse.BodyNone {
				cc.complete(x, x.keepAlive)
				continue
			}
			if x.req.Stream {
				x.startStream(cc)
			}
			continue
		}
		n, payload, done, err := cc.p.Body(b)
		if err != nil {
			cc.fail(responseError(err), nil)
			return
		}
		if len(payload) > 0 {
			if err := x.onBody(cc, payload); err != nil {
				cc.abort(x, err, ErrConnAborted, nil)
				return
			}
		}
		if done {
			x.resp.setTrailers(cc.p.Message().Trailers)
			c.Discard(n)
			cc.complete(x, x.keepAlive)
			continue
		}
		c.Discard(n)
		if n == 0 {
			return
		}
	}
}

// complete ends the exchange at the head of the queue. Loop only.
func (cc *clientConn) complete(x *clientExchange, keep bool) {
	cc.queue[0] = nil
	cc.queue = cc.queue[:copy(cc.queue, cc.queue[1:])]
	if cc.written > 0 {
		cc.written--
		keep = keep && !x.req.Close
	} else {
		keep = false // answered before its body was sent
	}
	cc.methodSet = false
	cc.uses++
	if x.delivered {
		cc.c.ResumeRead() // a streamed body may have paused the connection
	}
	if !keep {
		cc.closed = true
		cc.c.Close()
		cc.hp.release(cc, false)
		rest, written := cc.queue, cc.written
		cc.queue, cc.written = nil, 0
		x.finish(nil)
		for i, y := range rest {
			// Not written yet: safe to send elsewhere. Written behind a
			// response that closed the connection: not processed (RFC
			// 9112 9.6), but only idempotent ones are sent again, in case
			// the server did.
			if !y.retried && y.replayable() && (i >= written || y.idempotent()) {
				y.retried = true
				y.detachConn()
				cc.hp.cl.dispatch(y)
			} else {
				y.finish(ErrNoResponse)
			}
		}
		return
	}
	cc.hp.release(cc, true)
	x.finish(nil)
}

// ErrConnAborted: the exchange's connection was aborted because another
// exchange pipelined on it timed out, was cancelled or failed.
var ErrConnAborted = errors.New("http1: connection aborted by another exchange on it")

// responseError turns a parser error into the client's error.
func responseError(err error) error {
	var pe *parse.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case parse.HeaderTooLarge:
			return ErrHeaderTooLarge
		case parse.ContentTooLarge:
			return ErrBodyTooLarge
		}
		return &ResponseError{Reason: pe.Reason, Offset: pe.Offset}
	}
	return err
}
