package http1

import (
	"io"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// Response is a response received by a Client. Its head and buffered body
// are copies the Response owns (reused from response to response, so
// nothing is allocated in the steady state). Every []byte it returns points
// into those copies: from DoFunc they are valid until the callback returns;
// from Do and DoContext, until Release. A Response is read by one goroutine at a time.
type Response struct {
	// StatusCode is the final status (1xx responses are skipped).
	StatusCode int
	// ProtoMinor is the HTTP minor version of the response: 0 or 1.
	ProtoMinor int
	// ContentLength is the Content-Length, or -1 when the body is chunked
	// or delimited by the connection's close.
	ContentLength int64

	cl     *Client
	l      *ioloop.Loop // the loop that received it
	x      *clientExchange
	ex     *lateExecutor // Do's executor, for Release
	hdr    fieldView     // a copy of the head and its fields
	tr     fieldView     // copies of the trailer fields
	reason span          // in hdr.buf
	body   []byte
	pipe   *respPipe
}

// setHead copies a parsed head in. Loop only.
func (r *Response) setHead(b []byte, m *parse.Message) {
	r.StatusCode, r.ProtoMinor, r.ContentLength = m.Status, m.Minor, m.ContentLength
	r.reason = spanOf(b, m.Reason)
	r.hdr.set(append(r.hdr.buf[:0], b...), b, m.Headers)
}

// setTrailers copies the trailer fields in. Loop only.
func (r *Response) setTrailers(ts []parse.Header) { r.tr.copyIn(ts) }

func (r *Response) reset() {
	r.StatusCode, r.ProtoMinor, r.ContentLength = 0, 0, 0
	r.body = r.body[:0]
	r.hdr.truncate()
	r.tr.truncate()
	r.pipe, r.ex = nil, nil
}

// Release recycles a Response obtained from Do or DoContext; it and
// everything it returned must not be used afterwards. Optional: an
// unreleased Response is simply collected. Do not call it on a Response
// lent by DoFunc (it does nothing there), and call it once.
//
// For a Response of Do's future, the recycling waits until every
// continuation of that future (and of the futures derived from it) that
// was registered before Release has returned: Release right after Await
// does not take the Response from under an OnComplete or Map of the same
// future that the loop is still running. Continuations registered after
// Release must not use the Response. Safe from any goroutine.
func (r *Response) Release() {
	if r.x != nil || r.pipe != nil {
		return
	}
	if e := r.ex; e != nil && e.deferRelease(r) {
		return
	}
	r.recycle()
}

// recycle puts r back in the Client's pool.
func (r *Response) recycle() {
	r.reset()
	if cap(r.body) > 1<<20 {
		r.body = nil // do not pin a large body's buffer in the pool
	}
	if r.cl != nil {
		r.cl.rpool.Put(r)
	}
}

// Loop returns the loop whose connection received the response (the loop
// DoFunc's callback runs on). No allocation.
func (r *Response) Loop() *ioloop.Loop { return r.l }

// Reason returns the reason phrase. No allocation.
func (r *Response) Reason() []byte { return r.hdr.buf[r.reason.off:r.reason.end:r.reason.end] }

// Header returns the value of the first field named name (case-insensitive),
// or nil. No allocation.
func (r *Response) Header(name string) []byte { return r.hdr.get(name) }

// NumHeaders returns the number of header fields.
func (r *Response) NumHeaders() int { return r.hdr.n() }

// HeaderAt returns the i-th header field as received.
func (r *Response) HeaderAt(i int) (name, value []byte) { return r.hdr.at(i) }

// Trailer returns the value of the first trailer field named name, or nil.
// Trailers are known once the body ended.
func (r *Response) Trailer(name string) []byte { return r.tr.get(name) }

// NumTrailers returns the number of trailer fields.
func (r *Response) NumTrailers() int { return r.tr.n() }

// TrailerAt returns the i-th trailer field.
func (r *Response) TrailerAt(i int) (name, value []byte) { return r.tr.at(i) }

// Body returns the buffered body (nil for a streamed response). No
// allocation.
func (r *Response) Body() []byte {
	if r.pipe != nil {
		return nil
	}
	return r.body
}

// BodyReader returns the streamed body of a response to a request with
// Stream set, or nil. Read it from any goroutine (not from a loop callback:
// Read blocks); while it lags, the connection stops reading from the
// server. Close it when done: closing before the end aborts the connection.
func (r *Response) BodyReader() io.ReadCloser {
	if r.pipe == nil {
		return nil
	}
	return r.pipe
}

// respPipe is a streamed response body: a pipe (see pipe.go) from the
// connection's loop to the reader, paused by pausing the connection's
// reads. It is the response's io.ReadCloser.
type respPipe struct {
	pipe
	cc  *clientConn
	x   *clientExchange
	seq uint64
}

// newRespPipe returns the body pipe of x's streamed response on cc. Loop
// only.
func newRespPipe(cc *clientConn, x *clientExchange) *respPipe {
	p := &respPipe{cc: cc, x: x, seq: x.seq}
	p.init(streamHighWater, streamLowWater, p, ErrBodyClosed)
	return p
}

// current reports, on the loop, whether x still carries this body on cc.
func (p *respPipe) current() bool {
	x := p.x
	x.mu.Lock()
	same := x.seq == p.seq && x.cc == p.cc
	x.mu.Unlock()
	return same
}

// resume (pipeCtl) has the loop read from the connection again.
func (p *respPipe) resume() {
	p.cc.l.Execute(async.TaskFunc(func() {
		p.resumed()
		if p.current() && !p.cc.closed {
			p.cc.c.ResumeRead()
		}
	}))
}

// Close ends reading. Before the body's end it aborts the connection, which
// is then not reused; the abort is handed to the connection's loop.
func (p *respPipe) Close() error {
	if ended, _ := p.close(); !ended {
		p.cc.l.Execute(async.TaskFunc(func() {
			if p.current() && !p.x.finished.Load() {
				p.cc.abort(p.x, ErrBodyClosed, ErrConnAborted, nil)
			}
		}))
	}
	return nil
}
