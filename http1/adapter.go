package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/ioloop/ioloop/async"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// ErrHijackUnsupported is returned by the adapter's Hijack: the connection
// belongs to an event loop and cannot be handed to a goroutine.
var ErrHijackUnsupported = errors.New("http1: Hijack is not supported on an event-loop connection")

// Adapter runs a net/http Handler: each request is handed to a worker pool
// goroutine with an ordinary *http.Request and http.ResponseWriter, so the
// standard ServeMux, routers and middleware work unchanged. Create it with
// Adapt; set the fields before serving. On an HTTPS server (Server.TLSConfig)
// the http.Request's TLS field holds a copy of the connection's state, so
// that "r.TLS != nil" tells HTTPS requests apart as with net/http.
//
// The request body is an io.Reader fed from the loop through a buffer of
// BodyBuffer bytes: when it is full the connection stops reading the body
// until the handler has read half of it. The response is buffered in
// pieces (16 KiB) and sent through the loop, in order with the
// connection's other responses; a handler that writes faster than the
// client reads blocks in Write. Request.Context is
// cancelled when the client goes away, when the request times out, and when
// the handler returns. The ResponseWriter implements http.Flusher and
// http.Hijacker (Hijack fails with ErrHijackUnsupported); trailers work as in
// net/http (a declared Trailer header or http.TrailerPrefix).
//
// Per request it costs a goroutine hand-off and the allocations of an
// http.Request; the native Handler is the zero-allocation path.
type Adapter struct {
	// Handler serves the requests. Required.
	Handler http.Handler
	// Pool runs the handlers. Default async.DefaultPool(). A request that
	// finds the pool full gets 503.
	Pool *async.Pool
	// BodyBuffer bounds the request body bytes waiting for the handler.
	// Default 64 KiB.
	BodyBuffer int
	// BaseContext is the parent of every request's context. Default
	// context.Background().
	BaseContext context.Context
}

// Adapt returns an Adapter running h with the default pool and limits.
// Safe from any goroutine.
func Adapt(h http.Handler) *Adapter { return &Adapter{Handler: h} }

const adapterChunk = 16 << 10

// ServeHTTP1 implements Handler: it builds the http.Request on the loop and
// hands it to the pool. Loop only.
func (a *Adapter) ServeHTTP1(w *ResponseWriter, r *Request) {
	req, err := a.request(r)
	if err != nil {
		_ = w.SetStatus(http.StatusBadRequest)
		w.CloseAfter()
		return
	}
	x := r.x
	cs := x.cs
	base := a.BaseContext
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	req = req.WithContext(ctx)
	rw := &adapterWriter{cs: cs, x: x, gen: x.gen, req: req, cancel: cancel, header: make(http.Header)}
	rw.credit = sync.NewCond(&rw.mu)
	if r.HasBody() {
		limit := a.BodyBuffer
		if limit <= 0 {
			limit = 64 << 10
		}
		p := newBodyPipe(rw, req, limit)
		rw.body = p
		req.Body = p
		if r.flags&parse.FlagExpectContinue == 0 {
			p.started = true
			r.ReadBody(p) // else on the handler's first Read, like net/http
		}
	} else {
		req.Body = http.NoBody
	}
	x.onAbort = rw.abort
	x.onPeerEOF = cancel
	w.Hold()
	pool := a.Pool
	if pool == nil {
		pool = async.DefaultPool()
	}
	f := pool.Submit(func() error { rw.serve(a.Handler); return nil })
	if _, err, done := f.Result(); done && err != nil {
		x.onAbort = nil
		cancel()
		_ = w.SetStatus(http.StatusServiceUnavailable)
		w.CloseAfter()
		_ = w.End()
	}
}

// request builds the http.Request from the view.
func (a *Adapter) request(r *Request) (*http.Request, error) {
	target := string(r.Target())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, r.NumHeaders())
	for i := range r.NumHeaders() {
		n, v := r.HeaderAt(i)
		k := http.CanonicalHeaderKey(string(n))
		h[k] = append(h[k], string(v))
	}
	req := &http.Request{
		Method:     string(r.Method()),
		URL:        u,
		Proto:      "HTTP/1." + strconv.Itoa(r.minor),
		ProtoMajor: 1,
		ProtoMinor: r.minor,
		Header:     h,
		Host:       string(r.Host()),
		RequestURI: target,
		RemoteAddr: r.RemoteAddr().String(),
		Close:      !r.KeepAlive(),
	}
	if st := r.TLS(); st != nil {
		cp := *st // the handler's goroutine keeps it past the response
		req.TLS = &cp
	}
	if req.Host == "" {
		req.Host = u.Host
	}
	switch {
	case r.Chunked():
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		for _, t := range h["Trailer"] {
			for _, k := range strings.Split(t, ",") {
				if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
					if req.Trailer == nil {
						req.Trailer = make(http.Header)
					}
					req.Trailer[k] = nil
				}
			}
		}
	case r.clen > 0:
		req.ContentLength = r.clen
	}
	return req, nil
}

// adapterWriter is the http.ResponseWriter of one adapted request. Its
// methods run on the handler's goroutine; it reaches the loop only by
// posting tasks, which run in order, and checks on the loop that the
// exchange is still the one it serves (gen).
type adapterWriter struct {
	cs     *conn
	x      *exchange
	gen    uint64
	req    *http.Request
	cancel context.CancelFunc
	body   *bodyPipe

	header      http.Header
	status      int
	wroteHeader bool
	headSent    bool // the head was posted
	buf         []byte
	done        bool

	mu       sync.Mutex
	credit   *sync.Cond
	inflight int // bytes posted and not yet accepted by the connection
	dead     error
}

const adapterInflight = 256 << 10

// valid reports, on the loop, whether the exchange is still ours.
func (rw *adapterWriter) valid() bool {
	return rw.x.gen == rw.gen && !rw.x.dead && !rw.cs.closing
}

// Header implements http.ResponseWriter.
func (rw *adapterWriter) Header() http.Header { return rw.header }

// WriteHeader implements http.ResponseWriter. 1xx codes other than 101 are
// sent at once as informational responses.
func (rw *adapterWriter) WriteHeader(code int) {
	if rw.wroteHeader || rw.done {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("http1: invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 && code != 101 {
		head := rw.renderHead(code, true)
		rw.post(0, func(w *ResponseWriter) {
			if !w.committed {
				rw.cs.flushOutput()
				_, _ = rw.cs.c.Write(head)
			}
		})
		return
	}
	rw.wroteHeader = true
	rw.status = code
}

// Write implements http.ResponseWriter.
func (rw *adapterWriter) Write(p []byte) (int, error) {
	if rw.done {
		return 0, http.ErrHandlerTimeout
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if err := rw.err(); err != nil {
		return 0, err
	}
	if !bodyAllowedStatus(rw.status) {
		return 0, http.ErrBodyNotAllowed
	}
	n := len(p)
	for len(p) > 0 {
		room := adapterChunk - len(rw.buf)
		if room <= 0 {
			if err := rw.flushBuf(); err != nil {
				return n - len(p), err
			}
			continue
		}
		k := min(room, len(p))
		rw.buf = append(rw.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// WriteString lets io.WriteString skip a conversion.
func (rw *adapterWriter) WriteString(s string) (int, error) { return rw.Write([]byte(s)) }

// Flush implements http.Flusher: the head and the buffered body go to the
// connection now.
func (rw *adapterWriter) Flush() {
	if rw.done {
		return
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	_ = rw.flushBuf()
	rw.post(0, func(w *ResponseWriter) { _ = w.Flush() })
}

// Hijack implements http.Hijacker; it always fails with
// ErrHijackUnsupported.
func (rw *adapterWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, ErrHijackUnsupported
}

func (rw *adapterWriter) err() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.dead
}

// flushBuf posts the buffered body (and the head, the first time), waiting
// while too much is in flight.
func (rw *adapterWriter) flushBuf() error {
	var head []byte
	var clen int64 = -1
	var closeAfter bool
	if !rw.headSent {
		rw.sniff()
		head = rw.renderHead(rw.status, false)
		if v := rw.header.Get("Content-Length"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				clen = n
			}
		}
		closeAfter = rw.req.Close || strings.EqualFold(rw.header.Get("Connection"), "close")
	}
	firstHead := !rw.headSent
	rw.headSent = true
	b := rw.buf
	rw.buf = nil
	if len(b) == 0 && !firstHead {
		return rw.err()
	}
	rw.mu.Lock()
	for rw.inflight > adapterInflight && rw.dead == nil {
		rw.credit.Wait()
	}
	if rw.dead != nil {
		rw.mu.Unlock()
		return rw.dead
	}
	rw.inflight += len(b)
	rw.mu.Unlock()
	status := rw.status
	rw.post(len(b), func(w *ResponseWriter) {
		if firstHead {
			_ = w.SetStatus(status)
			w.hdr = append(w.hdr, head...)
			if clen >= 0 {
				_ = w.SetContentLength(clen)
			}
			if closeAfter {
				w.CloseAfter()
			}
		}
		_, _ = w.Write(b)
	})
	return nil
}

// post runs f on the loop with the exchange's ResponseWriter, if the exchange
// is still ours; n bytes of credit come back once the connection's queue is
// below its high-water mark. It hands f over with Loop.Execute, which never
// refuses: a response is internal work, and the credit (adapterInflight
// bytes per response) already bounds what one handler can queue.
func (rw *adapterWriter) post(n int, f func(w *ResponseWriter)) {
	cs := rw.cs
	cs.c.Loop().Execute(async.TaskFunc(func() {
		if !rw.valid() {
			rw.release(n)
			return
		}
		f(&rw.x.w)
		if n == 0 {
			return
		}
		if cs.c.OutputLen() <= cs.c.Loop().Group().Options().HighWater {
			rw.release(n)
		} else {
			rw.x.drainWait += n
			rw.x.onDrain = rw.release
		}
	}))
}

func (rw *adapterWriter) release(n int) {
	rw.mu.Lock()
	rw.inflight -= n
	rw.credit.Broadcast()
	rw.mu.Unlock()
}

// fail records that the connection is gone; writers stop waiting.
func (rw *adapterWriter) fail(err error) {
	rw.mu.Lock()
	if rw.dead == nil {
		rw.dead = err
	}
	rw.credit.Broadcast()
	rw.mu.Unlock()
}

// abort runs on the loop when the connection ends before the response.
func (rw *adapterWriter) abort(err error) {
	rw.cancel()
	rw.fail(err)
	if rw.body != nil {
		rw.body.fail(err)
	}
}

// renderHead renders the handler's header fields (and, for an
// informational response, its status line and the final CRLF).
func (rw *adapterWriter) renderHead(code int, info bool) []byte {
	var b []byte
	if info {
		b = appendStatusLine(b, code)
	}
	for k, vs := range rw.header {
		if strings.HasPrefix(k, http.TrailerPrefix) || isReservedField(k) {
			continue
		}
		for _, v := range vs {
			v = strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == 0 {
					return ' '
				}
				return r
			}, v)
			if validField(k, v) || strings.EqualFold(k, "Date") || strings.EqualFold(k, "Server") {
				b = appendField(b, k, v)
			}
		}
	}
	if info {
		b = append(b, crlf...)
	}
	return b
}

func isReservedField(k string) bool {
	return strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") ||
		strings.EqualFold(k, "Connection")
}

// sniff sets Content-Type from the first bytes when the handler did not,
// as net/http does.
func (rw *adapterWriter) sniff() {
	if _, ok := rw.header["Content-Type"]; ok || len(rw.buf) == 0 || !bodyAllowedStatus(rw.status) {
		return
	}
	if rw.header.Get("Content-Encoding") == "" {
		rw.header.Set("Content-Type", http.DetectContentType(rw.buf))
	}
}

func bodyAllowedStatus(code int) bool { return code >= 200 && code != 204 && code != 304 }

// serve runs the handler on the pool goroutine and ends the response.
func (rw *adapterWriter) serve(h http.Handler) {
	defer rw.cancel()
	defer func() {
		v := recover()
		if v == nil {
			rw.finish()
			return
		}
		if v != http.ErrAbortHandler {
			rw.cs.ls.s.logger().Error("http1: panic in net/http handler recovered; closing the connection",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		rw.done = true
		cs := rw.cs
		cs.c.Loop().Execute(async.TaskFunc(func() {
			if rw.valid() {
				cs.recoverAbort(rw.x)
			}
		}))
	}()
	h.ServeHTTP(rw, rw.req)
}

// finish sends the rest and ends the response on the loop.
func (rw *adapterWriter) finish() {
	if rw.done {
		return
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	_ = rw.flushBuf()
	rw.done = true
	var trailers []string
	declared := rw.header["Trailer"]
	for k, vs := range rw.header {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok {
			for _, d := range declared {
				for _, dk := range strings.Split(d, ",") {
					if strings.EqualFold(strings.TrimSpace(dk), k) {
						ok, name = true, k
					}
				}
			}
		}
		if ok {
			for _, v := range vs {
				trailers = append(trailers, name, v)
			}
		}
	}
	rw.post(0, func(w *ResponseWriter) {
		for i := 0; i+1 < len(trailers); i += 2 {
			_ = w.AddTrailer(trailers[i], trailers[i+1])
		}
		rw.x.onAbort = nil
		_ = w.End()
	})
}

// bodyPipe is the request body of an adapted request: a pipe (see
// pipe.go) from the loop (OnBody) to the handler's goroutine (Read),
// paused by pausing the request body. started and trailerDone belong to
// the handler's goroutine; trailer is written on the loop before the pipe
// ends and read after Read returned io.EOF.
type bodyPipe struct {
	pipe
	rw          *adapterWriter
	req         *http.Request
	trailer     http.Header
	started     bool // ReadBody was asked for
	trailerDone bool
}

// newBodyPipe returns the body pipe of req, holding up to limit bytes for
// the handler.
func newBodyPipe(rw *adapterWriter, req *http.Request, limit int) *bodyPipe {
	p := &bodyPipe{rw: rw, req: req}
	p.init(limit, limit/2, p, http.ErrBodyReadAfterClose)
	return p
}

// OnBody receives body bytes on the loop.
func (p *bodyPipe) OnBody(w *ResponseWriter, r *Request, chunk []byte, last bool) {
	if !last {
		if p.push(chunk) {
			r.PauseBody()
		}
		return
	}
	p.push(chunk)
	if n := r.NumTrailers(); n > 0 {
		p.trailer = make(http.Header, n)
		for i := range n {
			k, v := r.TrailerAt(i)
			p.trailer.Add(string(k), string(v))
		}
	}
	p.end(io.EOF)
}

// fail ends the body with err. Any goroutine.
func (p *bodyPipe) fail(err error) { p.end(err) }

// Read implements io.Reader for the handler. The first Read asks the loop
// for the body when the request expected 100-continue.
func (p *bodyPipe) Read(b []byte) (int, error) {
	if !p.started {
		p.started = true
		rw := p.rw
		rw.cs.c.Loop().Execute(async.TaskFunc(func() {
			if rw.valid() && rw.x.bodyH == nil {
				rw.x.req.ReadBody(p)
			}
		}))
	}
	n, err := p.pipe.Read(b)
	if err == io.EOF && !p.trailerDone {
		p.trailerDone = true
		if p.trailer != nil && p.req.Trailer != nil {
			for k, v := range p.trailer {
				p.req.Trailer[k] = v
			}
		}
	}
	return n, err
}

// resume (pipeCtl) has the loop read the request body again.
func (p *bodyPipe) resume() {
	rw := p.rw
	rw.cs.c.Loop().Execute(async.TaskFunc(func() {
		p.resumed()
		if rw.valid() {
			rw.x.req.ResumeBody()
		}
	}))
}

// Close implements io.Closer: the rest of the body is read and dropped.
func (p *bodyPipe) Close() error {
	p.started = true // never asked for: the server drops it after the response
	if _, resume := p.close(); resume {
		p.resume()
	}
	return nil
}
