package http1

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

// completer gets the end of an exchange: its response or its error, on l,
// the loop it is called on (nil only when the Client has no Group). It is
// never called on the goroutine that started the exchange: see finish.
// DoFunc's function (as a completeFunc), DoContext's wait and Do's executor
// are completers; an interface rather than a func, so that none of them
// costs a bound method value.
type completer interface {
	complete(l *ioloop.Loop, resp *Response, err error)
}

// completeFunc makes a function a completer, with no allocation.
type completeFunc func(*Response, error)

func (f completeFunc) complete(_ *ioloop.Loop, resp *Response, err error) { f(resp, err) }

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
	secure, host, target, err := splitURL(req.URL)
	if err != nil {
		x.finish(err)
		return
	}
	x.secure, x.host, x.target = secure, host, target
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

	endErr  error        // the failure endLater hands to endLoop
	endLoop *ioloop.Loop // the loop exchangeEnd runs on

	method, host, target string
	body                 []byte
	reader               interface{ Read([]byte) (int, error) }
	deadline             time.Time
	stopCtx              func() bool
	resp                 *Response
	buf                  []byte
	redirects            int
	secure               bool // https
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
	// Internal work: Execute, which the loop never refuses (a Post could
	// fail with a full mailbox and the cancellation would be lost).
	l.Execute(async.TaskFunc(func() {
		x.mu.Lock()
		same := x.seq == seq && x.cc == cc
		x.mu.Unlock()
		if same && !x.finished.Load() {
			cc.abort(x, err, ErrConnAborted, nil)
		}
	}))
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

// onBody takes body payload: appended to the buffered body or queued for
// the streamed body's reader. Loop only.
func (x *clientExchange) onBody(cc *clientConn, p []byte) error {
	r := x.resp
	if x.req.Stream {
		if r.pipe.push(p) {
			cc.c.PauseRead()
		}
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
	x.resp.pipe = newRespPipe(cc, x)
	x.delivered = true
	x.resp.l = cc.l
	if x.give {
		x.resp.x = nil
	}
	x.fn.complete(cc.l, x.resp, nil)
}

// finish ends x once: calls fn (or ends the streamed body), follows a
// redirect when asked, and recycles x.
//
// fn runs on a loop, never on the goroutine that called finish unless that
// goroutine is the loop of x's connection: on that loop when x has a
// connection whose loop is known (every call made by the connection's
// callbacks); otherwise (the request failed on the goroutine that started
// it, on a dial error, on a runtime timer or a context's goroutine) the end
// is handed to a loop of the Group (Client.anyLoop) and fn runs there,
// later. So DoFunc never calls its function inline, and every continuation
// of Do's future runs on the loop that settled it.
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
	fn, l := x.fn, x.loop()
	if err != nil {
		if resp != nil {
			resp.reset()
		}
		if l == nil {
			x.endLater(err)
			return
		}
		fn.complete(l, nil, err)
		x.recycle()
		return
	}
	resp.l = l
	if x.give {
		x.resp, resp.x = nil, nil
		fn.complete(l, resp, nil)
	} else {
		fn.complete(l, resp, nil)
		resp.reset()
	}
	x.recycle()
}

// endLater hands x's failure to a loop of the Group, where fn gets it (as
// exchangeEnd's Run). With no Group there is no loop: fn gets err on a new
// goroutine (ErrNoGroup, a configuration error, is the only error there).
func (x *clientExchange) endLater(err error) {
	x.endErr = err
	if x.cl.Group == nil {
		go (*exchangeEnd)(x).Run()
		return
	}
	l := x.cl.anyLoop()
	x.endLoop = l
	l.Execute((*exchangeEnd)(x))
}

// exchangeEnd is clientExchange as the task that delivers a failure handed
// to a loop by endLater (a conversion, so the task costs no allocation).
type exchangeEnd clientExchange

// Run calls fn with the failure and recycles the exchange.
func (e *exchangeEnd) Run() {
	x := (*clientExchange)(e)
	fn, l, err := x.fn, x.endLoop, x.endErr
	x.endLoop, x.endErr = nil, nil
	fn.complete(l, nil, err)
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
	scheme := "http://"
	if x.secure {
		scheme = "https://"
	}
	base, err := url.Parse(scheme + x.host + x.target)
	if err != nil {
		return false
	}
	next, err := base.Parse(string(loc))
	if err != nil || next.Scheme != "http" && next.Scheme != "https" || next.Host == "" {
		return false
	}
	x.redirects++
	if r.StatusCode == 303 || (r.StatusCode == 301 || r.StatusCode == 302) && x.method == "POST" {
		x.method, x.body = "GET", nil
	}
	x.secure, x.host, x.target = next.Scheme == "https", next.Host, next.RequestURI()
	x.retried = false
	r.reset()
	x.finished.Store(false)
	x.detachConn()
	cl.dispatch(x)
	return true
}
