package http1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// hostPool holds the connections to one host. Every field after mu is
// guarded by mu.
type hostPool struct {
	cl   *Client
	host string // authority as in the URL (the Host header)
	addr string // dial address with a port

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
}

// pool returns the host's pool, creating it.
func (cl *Client) pool(host string) (*hostPool, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return nil, ErrClientClosed
	}
	hp := cl.hosts[host]
	if hp == nil {
		hp = &hostPool{cl: cl, host: host, addr: dialAddress(host)}
		cl.hosts[host] = hp
	}
	return hp, nil
}

// completer gets the end of an exchange: its response or its error.
// DoFunc's function (as a completeFunc), DoContext's wait and Do's executor
// are completers; an interface rather than a func, so that none of them
// costs a bound method value.
type completer interface {
	complete(resp *Response, err error)
}

// completeFunc makes a function a completer, with no allocation.
type completeFunc func(*Response, error)

func (f completeFunc) complete(resp *Response, err error) { f(resp, err) }

// start begins an exchange for req; fn gets its end. ctx (req.Context, or
// DoContext's context) cancels it.
func (cl *Client) start(req *ClientRequest, ctx context.Context, fn completer, give bool) {
	cl.init()
	x := cl.xpool.Get().(*clientExchange)
	x.begin(req, fn)
	x.give = give
	if cl.Group == nil {
		x.finish(ErrNoGroup)
		return
	}
	host, target, err := splitURL(req.URL)
	if err != nil {
		x.finish(err)
		return
	}
	x.host, x.target = host, target
	if err := checkRequest(x.method, req.Header); err != nil {
		x.finish(err)
		return
	}
	if cl.Timeout > 0 {
		x.deadline = time.Now().Add(cl.Timeout)
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			x.finish(err)
			return
		}
		if ctx.Done() != nil {
			seq := x.seq
			x.stopCtx = context.AfterFunc(ctx, func() { x.cancel(seq, ctx.Err()) })
		}
	}
	cl.dispatch(x)
}

// dispatch gives x a connection of its host's pool, dialing one if needed,
// or queues it until one is free. Any goroutine.
func (cl *Client) dispatch(x *clientExchange) {
	hp, err := cl.pool(x.host)
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

// dial opens a connection for x (which cc already counts). The host name is
// resolved on this goroutine.
func (hp *hostPool) dial(cc *clientConn, x *clientExchange) {
	c, err := hp.cl.Group.Dial("tcp", hp.addr, cc, hp.cl.dialTimeout())
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
		case !y.retried && y.replayable() && (i >= written && !(i == written && cc.streaming) || retry != nil && retry(y, i)):
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

// clientExchange carries one request to its response. Pooled by the
// Client. Between dispatch and finish it is owned by its connection's loop;
// mu guards conn, hp and seq against a cancellation from another goroutine.
type clientExchange struct {
	cl  *Client
	req *ClientRequest
	fn  completer

	mu        sync.Mutex
	seq       uint64
	hp        *hostPool
	cc        *clientConn
	cancelErr error // cancelled while its connection was dialing

	method, host, target string
	body                 []byte
	reader               interface{ Read([]byte) (int, error) }
	deadline             time.Time
	stopCtx              func() bool
	resp                 *Response
	buf                  []byte
	redirects            int
	retried              bool
	headDone             bool
	keepAlive            bool
	delivered            bool // fn already got the (streamed) response
	give                 bool // the Response is handed to the caller (Do)
	finished             atomic.Bool

	headerTimer, totalTimer         ioloop.Timer
	headerTimeoutFn, totalTimeoutFn func()
}

func (x *clientExchange) begin(req *ClientRequest, fn completer) {
	x.mu.Lock()
	x.seq++
	x.mu.Unlock()
	x.req, x.fn = req, fn
	x.method = req.Method
	if x.method == "" {
		x.method = "GET"
	}
	x.body, x.reader = req.Body, nil
	if len(req.Body) == 0 && req.BodyReader != nil {
		x.reader = req.BodyReader
	}
	if x.resp == nil {
		x.resp = x.cl.rpool.Get().(*Response)
	}
	x.resp.x = x
	x.redirects, x.retried = 0, false
	x.headDone, x.keepAlive, x.delivered = false, false, false
	x.deadline = time.Time{}
	x.finished.Store(false)
}

func (x *clientExchange) idempotent() bool {
	switch x.method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

func (x *clientExchange) replayable() bool { return x.reader == nil && !x.delivered }

func (x *clientExchange) setConn(cc *clientConn) {
	x.mu.Lock()
	x.cc = cc
	x.mu.Unlock()
}

func (x *clientExchange) detachConn() {
	x.stopTimers()
	x.headDone, x.keepAlive = false, false
	x.setConn(nil)
}

func (x *clientExchange) loop() *ioloop.Loop {
	if x.cc == nil {
		return nil
	}
	return x.cc.l
}

// Run starts x on its connection's loop (the task posted by the pool).
func (x *clientExchange) Run() {
	cc := x.cc
	if cc.closed {
		if !x.retried && x.replayable() {
			x.retried = true
			x.detachConn()
			cc.hp.cl.dispatch(x)
			return
		}
		x.finish(ErrNoResponse)
		return
	}
	cc.queue = append(cc.queue, x)
	x.mu.Lock()
	cerr := x.cancelErr
	x.mu.Unlock()
	if cerr != nil {
		cc.abort(x, cerr, ErrConnAborted, nil)
		return
	}
	if !x.deadline.IsZero() {
		x.totalTimer = cc.l.AfterFunc(max(time.Until(x.deadline), 0), x.totalTimeoutFn)
	}
	if d := x.cl.ResponseHeaderTimeout; d > 0 {
		x.headerTimer = cc.l.AfterFunc(d, x.headerTimeoutFn)
	}
	cc.writeNext()
}

func (x *clientExchange) stopHeaderTimer() {
	if x.headerTimer.Pending() {
		x.headerTimer.Stop()
	}
	x.headerTimer = ioloop.Timer{}
}

func (x *clientExchange) stopTimers() {
	x.stopHeaderTimer()
	if x.totalTimer.Pending() {
		x.totalTimer.Stop()
	}
	x.totalTimer = ioloop.Timer{}
}

func (x *clientExchange) onHeaderTimeout() {
	if cc := x.cc; cc != nil && !x.headDone {
		cc.abort(x, ErrResponseHeaderTimeout, ErrConnAborted, nil)
	}
}

func (x *clientExchange) onTotalTimeout() {
	if cc := x.cc; cc != nil {
		cc.abort(x, ErrTimeout, ErrConnAborted, nil)
	}
}

// cancel runs on the context's goroutine when the request's context ends.
func (x *clientExchange) cancel(seq uint64, err error) {
	x.mu.Lock()
	if x.seq != seq {
		x.mu.Unlock()
		return
	}
	hp, cc := x.hp, x.cc
	x.mu.Unlock()
	if cc == nil && hp != nil {
		hp.mu.Lock()
		found := hp.removeWaiter(x)
		hp.mu.Unlock()
		if found {
			x.finish(err)
			return
		}
		x.mu.Lock()
		cc = x.cc
		x.mu.Unlock()
	}
	if cc == nil {
		return
	}
	cc.hp.mu.Lock() // cc.l is set under it once the dial returns
	l := cc.l
	if l == nil {
		// Still dialing: Run sees the cancellation once x reaches the loop.
		x.mu.Lock()
		if x.seq == seq {
			x.cancelErr = err
		}
		x.mu.Unlock()
	}
	cc.hp.mu.Unlock()
	if l == nil {
		return
	}
	_ = l.Post(func() {
		x.mu.Lock()
		same := x.seq == seq && x.cc == cc
		x.mu.Unlock()
		if same && !x.finished.Load() {
			cc.abort(x, err, ErrConnAborted, nil)
		}
	})
}

// waitTimeout fails x with ErrTimeout if it still waits for a connection.
func (x *clientExchange) waitTimeout(hp *hostPool, seq uint64) {
	hp.mu.Lock()
	x.mu.Lock()
	found := x.seq == seq && hp.removeWaiter(x)
	x.mu.Unlock()
	hp.mu.Unlock()
	if found {
		x.finish(ErrTimeout)
	}
}

// checkRequest rejects a method that is not a token and header fields that
// are not valid or that the client writes itself.
func checkRequest(method string, hdr []Field) error {
	for i := range len(method) {
		if !isToken(method[i]) {
			return errors.New("http1: invalid request method " + strconv.Quote(method))
		}
	}
	for _, f := range hdr {
		if !validField(f.Name, f.Value) || equalFoldString(f.Name, "Host") {
			return errors.New("http1: invalid or reserved request header field " + strconv.Quote(f.Name))
		}
	}
	return nil
}

// writeHead queues the request head and a []byte body. Loop only.
func (x *clientExchange) writeHead(c *ioloop.Conn) {
	b := x.buf[:0]
	b = append(b, x.method...)
	b = append(b, ' ')
	b = append(b, x.target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, x.host...)
	b = append(b, "\r\n"...)
	for _, f := range x.req.Header {
		if x.redirects > 0 && (equalFoldString(f.Name, "Authorization") || equalFoldString(f.Name, "Cookie")) {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case x.reader != nil && x.req.ContentLength >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, x.req.ContentLength, 10)
		b = append(b, "\r\n"...)
	case x.reader != nil:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case len(x.body) > 0 || x.method == "POST" || x.method == "PUT" || x.method == "PATCH":
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(x.body)), 10)
		b = append(b, "\r\n"...)
	}
	if x.req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	x.buf = b
	_, _ = c.Write(b)
	if len(x.body) > 0 {
		_, _ = c.Write(x.body)
	}
}

// sendBody streams the request's BodyReader on its own goroutine, one
// piece in flight at a time. It gets the reader and the length as arguments
// and touches x only through the loop (bodySent checks seq), because the
// loop may finish and recycle x while the body is still being sent (a
// server that answers before reading the whole body).
func (x *clientExchange) sendBody(cc *clientConn, seq uint64, reader io.Reader, want int64) {
	chunked := want < 0
	var sent int64
	done := make(chan error, 1)
	write := func(b []byte) error {
		cc.c.AsyncWrite(b, func(_ int, err error) { done <- err })
		return <-done
	}
	var err error
	for {
		buf := make([]byte, 32<<10+16)
		off := 0
		if chunked {
			off = 10 // room for the size line
		}
		n, rerr := reader.Read(buf[off : len(buf)-2])
		if n > 0 {
			sent += int64(n)
			if !chunked && sent > want {
				err = errors.New("http1: request body longer than ContentLength")
				break
			}
			piece := buf[off : off+n]
			if chunked {
				line := strconv.AppendInt(buf[:0], int64(n), 16)
				line = append(line, "\r\n"...)
				start := off - len(line)
				copy(buf[start:], line)
				piece = append(buf[start:off+n], "\r\n"...)
			}
			if err = write(piece); err != nil {
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = fmt.Errorf("http1: reading the request body: %w", rerr)
			} else if chunked {
				err = write([]byte("0\r\n\r\n"))
			} else if sent != want {
				err = errors.New("http1: request body shorter than ContentLength")
			}
			break
		}
	}
	_ = cc.l.Post(func() { cc.bodySent(x, seq, err) })
}

// onBody takes body payload: appended to the buffered body or queued for
// the streamed body's reader. Loop only.
func (x *clientExchange) onBody(cc *clientConn, p []byte) error {
	r := x.resp
	if x.req.Stream {
		r.pipe.push(p)
		return nil
	}
	if len(r.body)+len(p) > x.cl.maxBuffered() {
		return ErrBodyTooLarge
	}
	r.body = append(r.body, p...)
	return nil
}

// startStream delivers a streamed response now; its body follows.
func (x *clientExchange) startStream(cc *clientConn) {
	x.resp.pipe = &respPipe{cc: cc, x: x, seq: x.seq}
	x.resp.pipe.cond.L = &x.resp.pipe.mu
	x.delivered = true
	x.resp.l = cc.l
	if x.give {
		x.resp.x = nil
	}
	x.fn.complete(x.resp, nil)
}

// finish ends x once: calls fn (or ends the streamed body), follows a
// redirect when asked, and recycles x.
func (x *clientExchange) finish(err error) {
	if x.finished.Swap(true) {
		return
	}
	x.stopTimers()
	resp := x.resp
	if !x.delivered && err == nil && x.followRedirect() {
		return
	}
	if x.stopCtx != nil {
		x.stopCtx()
		x.stopCtx = nil
	}
	if x.delivered {
		resp.pipe.end(err)
		x.resp = nil
		x.recycle()
		return
	}
	fn := x.fn
	if err != nil {
		if resp != nil {
			resp.reset()
		}
		fn.complete(nil, err)
		x.recycle()
		return
	}
	resp.l = x.loop()
	if x.give {
		x.resp, resp.x = nil, nil
		fn.complete(resp, nil)
	} else {
		fn.complete(resp, nil)
		resp.reset()
	}
	x.recycle()
}

func (x *clientExchange) recycle() {
	x.mu.Lock()
	x.seq++
	x.cc, x.hp, x.cancelErr = nil, nil, nil
	x.mu.Unlock()
	x.req, x.fn, x.reader, x.body = nil, nil, nil, nil
	if len(x.buf) > 4<<10 {
		x.buf = nil
	}
	x.cl.xpool.Put(x)
}

// followRedirect re-dispatches x to the Location of a redirect the policy
// accepts. Loop only.
func (x *clientExchange) followRedirect() bool {
	cl, r := x.cl, x.resp
	if cl.Redirect == nil || x.reader != nil || x.redirects >= maxRedirects {
		return false
	}
	switch r.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		return false
	}
	loc := r.Header("Location")
	if len(loc) == 0 || !cl.Redirect(r, x.redirects) {
		return false
	}
	base, err := url.Parse("http://" + x.host + x.target)
	if err != nil {
		return false
	}
	next, err := base.Parse(string(loc))
	if err != nil || next.Scheme != "http" || next.Host == "" {
		return false
	}
	x.redirects++
	if r.StatusCode == 303 || (r.StatusCode == 301 || r.StatusCode == 302) && x.method == "POST" {
		x.method, x.body = "GET", nil
	}
	x.host, x.target = next.Host, next.RequestURI()
	x.retried = false
	r.reset()
	x.finished.Store(false)
	x.detachConn()
	cl.dispatch(x)
	return true
}
