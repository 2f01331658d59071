package http1

import (
	"errors"
	"net/http"
	"strconv"

	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// Errors returned by ResponseWriter methods. None of them closes the
// connection by itself; each says which call was refused.
var (
	// ErrBodyNotAllowed: a body write for a status that has none (1xx, 204,
	// 304).
	ErrBodyNotAllowed = errors.New("http1: response status does not allow a body")
	// ErrContentLength: a write past the Content-Length given with
	// SetContentLength; the excess was dropped.
	ErrContentLength = errors.New("http1: write past the declared Content-Length")
	// ErrEnded: a call after End (or after the handler returned without
	// Hold).
	ErrEnded = errors.New("http1: response already ended")
	// ErrCommitted: a header change after the head was sent (by Flush,
	// a full buffer, or a callback returning with the response open).
	ErrCommitted = errors.New("http1: response head already sent")
	// ErrHeaderField: a header or trailer name that is not a token, a value
	// with CR, LF or NUL, or a field the server writes itself
	// (Content-Length, Transfer-Encoding, Connection).
	ErrHeaderField = errors.New("http1: invalid or reserved header field")
)

// ResponseWriter builds the response to one Request, on the connection's
// loop. It is owned by the server and valid until the response ends: when
// the handler returns (or, after Request.ReadBody, when the last OnBody call
// returns), or when End is called after Hold.
//
// Framing is chosen when the head is sent. The body is buffered until the
// response ends, so that a response finished in one callback goes out with a
// Content-Length in one write; the head is sent earlier by Flush, by a body
// past Server.ResponseBuffer bytes, or when a callback returns with the
// response still open. Sent early, the body is chunked (HTTP/1.1) or ends with
// the connection (HTTP/1.0), unless SetContentLength declared its length.
// The server writes Date, Server, Content-Length, Transfer-Encoding and
// Connection itself. Output goes to the connection's queue (flushed once per
// loop iteration), so a burst of pipelined responses leaves in one writev.
//
// Methods are loop only and allocate nothing in the steady state.
type ResponseWriter struct {
	x          *exchange
	status     int
	hdr        []byte // header lines added by the handler
	trl        []byte // trailer lines
	body       []byte // buffered body, before the head is sent
	clen       int64  // declared Content-Length, -1 when none
	written    int64  // body bytes accepted
	committed  bool   // head sent
	chunked    bool
	untilClose bool // body delimited by closing the connection
	ended      bool
	held       bool
	closeAfter bool
	ownDate    bool // the handler added Date
	ownServer  bool // the handler added Server
	head       bool // the request is HEAD: set with the request, kept by reset
	size       [24]byte
}

func (w *ResponseWriter) reset(x *exchange) {
	w.x = x
	w.status = 200
	w.hdr = w.hdr[:0]
	w.trl = w.trl[:0]
	w.body = w.body[:0]
	w.clen = -1
	w.written = 0
	w.committed, w.chunked, w.untilClose = false, false, false
	w.ended, w.held, w.closeAfter = false, false, false
	w.ownDate, w.ownServer = false, false
}

// SetStatus sets the status code (default 200). It fails with ErrCommitted
// once the head was sent. Loop only.
func (w *ResponseWriter) SetStatus(code int) error {
	if w.ended {
		return ErrEnded
	}
	if w.committed {
		return ErrCommitted
	}
	if code < 100 || code > 999 {
		code = 500
	}
	w.status = code
	return nil
}

// Status returns the status code set so far. Loop only.
func (w *ResponseWriter) Status() int { return w.status }

// AddHeader adds a header field line. name must be a token and value must not
// hold CR, LF or NUL; Content-Length, Transfer-Encoding and Connection are
// refused (see SetContentLength and CloseAfter). A Date or Server field
// replaces the server's own. Fails with ErrCommitted once
// the head was sent. No allocation once the buffer has grown. Loop only.
func (w *ResponseWriter) AddHeader(name, value string) error {
	return w.addHeader(name, value, true)
}

// addHeader is AddHeader; memo says that name and value are real strings
// (immutable), so that a pair checked before on this loop need not be
// checked again.
func (w *ResponseWriter) addHeader(name, value string, memo bool) error {
	if w.ended {
		return ErrEnded
	}
	if w.committed {
		return ErrCommitted
	}
	if memo {
		ls := w.x.cs.ls
		if !ls.fields.known(name, value) {
			if !validField(name, value) {
				return ErrHeaderField
			}
			ls.fields.add(name, value)
		}
	} else if !validField(name, value) {
		return ErrHeaderField
	}
	switch len(name) {
	case 4:
		w.ownDate = w.ownDate || equalFoldString(name, "Date")
	case 6:
		w.ownServer = w.ownServer || equalFoldString(name, "Server")
	}
	w.hdr = appendField(w.hdr, name, value)
	return nil
}

// AddHeaderBytes is AddHeader for byte slices; it does not keep them.
// Loop only.
func (w *ResponseWriter) AddHeaderBytes(name, value []byte) error {
	return w.addHeader(unsafeString(name), unsafeString(value), false)
}

// AddTrailerBytes is AddTrailer for byte slices; it does not keep them.
// Loop only.
func (w *ResponseWriter) AddTrailerBytes(name, value []byte) error {
	return w.AddTrailer(unsafeString(name), unsafeString(value))
}

// AddTrailer adds a trailer field, sent after a chunked body. A response
// that ends with trailers in one callback is sent chunked (HTTP/1.1) so that
// they go out; over HTTP/1.0 or with a declared length they are dropped.
// Loop only.
func (w *ResponseWriter) AddTrailer(name, value string) error {
	if w.ended {
		return ErrEnded
	}
	if !validField(name, value) {
		return ErrHeaderField
	}
	w.trl = appendField(w.trl, name, value)
	return nil
}

// SetContentLength declares the body length, so that a body streamed over
// several callbacks is sent with Content-Length instead of chunked. Writes
// past it fail with ErrContentLength; a response that ends short of it closes
// the connection (the client sees a truncated body). Loop only.
func (w *ResponseWriter) SetContentLength(n int64) error {
	if w.ended {
		return ErrEnded
	}
	if w.committed {
		return ErrCommitted
	}
	if n < 0 {
		n = -1
	}
	w.clen = n
	return nil
}

// CloseAfter makes this the last response on the connection: it is sent with
// "Connection: close" (when the head is not sent yet) and the connection is
// closed after it. Loop only.
func (w *ResponseWriter) CloseAfter() { w.closeAfter = true }

// Committed reports whether the head was sent. Loop only.
func (w *ResponseWriter) Committed() bool { return w.committed }

// Written returns the body bytes accepted so far. Loop only.
func (w *ResponseWriter) Written() int64 { return w.written }

// bodyAllowed reports whether the status may carry a body (RFC 9110 6.4.1).
func (w *ResponseWriter) bodyAllowed() bool {
	return w.status >= 200 && w.status != 204 && w.status != 304
}

func (w *ResponseWriter) isHead() bool { return w.head }

// Write adds p to the body. Before the head is sent p is copied to the
// response buffer; after, it is queued on the connection at once (copied,
// as a chunk when chunked). For HEAD the bytes are counted and dropped.
// Loop only.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.ended {
		return 0, ErrEnded
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, ErrBodyNotAllowed
	}
	n, err := len(p), error(nil)
	if w.clen >= 0 && w.written+int64(n) > w.clen {
		n = int(w.clen - w.written)
		p = p[:n]
		err = ErrContentLength
	}
	w.written += int64(n)
	if n == 0 || w.isHead() {
		return n, err
	}
	if !w.committed {
		w.body = append(w.body, p...)
		if len(w.body) > w.x.cs.ls.respBuf {
			w.commit(false)
		}
		return n, err
	}
	if werr := w.send(p); werr != nil {
		return 0, werr
	}
	return n, err
}

// WriteString is Write for a string; it does not allocate. Loop only.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	return w.Write(unsafeBytes(s))
}

// send queues body bytes after the head was sent.
func (w *ResponseWriter) send(p []byte) error {
	w.x.cs.flushOutput()
	c := w.x.cs.c
	if !w.chunked {
		_, err := c.Write(p)
		return err
	}
	line := strconv.AppendInt(w.size[:0], int64(len(p)), 16)
	line = append(line, '\r', '\n')
	for _, b := range [...][]byte{line, p, crlf} { // in order, one queue
		if _, err := c.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Flush sends the head now (choosing chunked, or an end by close for
// HTTP/1.0, unless a Content-Length was declared) and queues the buffered
// body. The connection's queue is written at the end of the loop iteration.
// Loop only.
func (w *ResponseWriter) Flush() error {
	if w.ended {
		return ErrEnded
	}
	if !w.committed {
		w.commit(false)
	}
	return nil
}

// Hold keeps the response open after the handler (or the last OnBody call)
// returns, for a handler that answers later from the loop (a timer, a future's
// continuation). The Request and ResponseWriter stay valid until End. Later
// requests on the connection wait: responses go out in order. Loop only.
func (w *ResponseWriter) Hold() { w.held = true }

// End finishes the response: it sends what is buffered with the right
// framing (the terminating chunk and trailers when chunked). A handler that
// did not call Hold need not call End. The Request and ResponseWriter must
// not be used after it. Loop only.
func (w *ResponseWriter) End() error {
	if w.ended {
		return ErrEnded
	}
	w.finish()
	w.x.cs.responseEnded(w.x)
	return nil
}

// finish sends the rest of the response and marks it ended.
func (w *ResponseWriter) finish() {
	if !w.committed {
		w.commit(true)
	} else {
		switch {
		case w.chunked:
			cs := w.x.cs
			b := append(cs.outBuf(), "0\r\n"...)
			b = append(b, w.trl...)
			b = append(b, '\r', '\n')
			cs.emit(b)
		case w.untilClose:
			w.closeAfter = true
		case w.clen >= 0 && w.written < w.clen && !w.isHead():
			w.closeAfter = true
		}
	}
	w.ended = true
}

// commit sends the head; final says the response ends with it.
func (w *ResponseWriter) commit(final bool) {
	x := w.x
	cs := x.cs
	r := &x.req
	allowed := w.bodyAllowed()
	head := w.isHead()
	bodyLen := int64(-1) // Content-Length to send, -1: none
	switch {
	case w.clen >= 0:
		bodyLen = w.clen
		if final && w.written < w.clen && !head {
			w.closeAfter = true
		}
	case !allowed:
	case final && (len(w.trl) == 0 || r.minor == 0):
		if !head || w.written > 0 {
			bodyLen = w.written
		}
	case r.minor == 1:
		w.chunked = true
	default:
		w.untilClose = true
		w.closeAfter = true
	}
	if head {
		w.chunked = false
	}
	// A body the client was told to wait for and never got is not read.
	if r.flags&parse.FlagExpectContinue != 0 && !x.continueSent && !x.bodyDone {
		w.closeAfter = true
	}
	keep := cs.keepAliveAfter(x)

	ls := cs.ls
	if !cs.processing {
		ls.refresh() // outside process (End from a timer, say)
	}
	b := cs.outBuf()
	if w.status == 200 && !w.ownServer && !w.ownDate && bodyLen >= 0 && keep && r.minor == 1 && !w.chunked {
		// The usual head: one copy when the previous one on this loop had
		// the same header lines and length (and the Date line is the same).
		lh := &ls.lastOK
		ls.dateLine() // clears lh.valid when the Date line changes
		if lh.valid && lh.n == bodyLen && sameBytes(lh.hdr, w.hdr) {
			b = append(b, lh.head...)
		} else {
			start := len(b)
			b = w.appendHead(b, bodyLen, keep, r.minor)
			lh.keep(b[start:], w.hdr, bodyLen)
		}
	} else {
		b = w.appendHead(b, bodyLen, keep, r.minor)
	}
	if !keep {
		w.closeAfter = true
	}
	w.committed = true
	if len(w.body) > 0 {
		if w.chunked {
			b = strconv.AppendInt(b, int64(len(w.body)), 16)
			b = append(b, '\r', '\n')
			b = append(b, w.body...)
			b = append(b, '\r', '\n')
		} else {
			b = append(b, w.body...)
		}
		w.body = w.body[:0]
	}
	if final && w.chunked {
		b = append(b, "0\r\n"...)
		b = append(b, w.trl...)
		b = append(b, '\r', '\n')
	}
	cs.emit(b)
}

// appendHead appends the head: status line, Server and Date lines (unless
// the handler gave its own), the handler's lines, the framing and
// Connection lines and the final CRLF.
func (w *ResponseWriter) appendHead(b []byte, bodyLen int64, keep bool, minor int) []byte {
	ls := w.x.cs.ls
	if w.status == 200 && !w.ownServer && !w.ownDate {
		b = append(b, ls.headOK()...)
	} else {
		b = appendStatusLine(b, w.status)
		if !w.ownServer {
			b = append(b, ls.s.serverLine...)
		}
		if !w.ownDate {
			b = append(b, ls.dateLine()...)
		}
	}
	b = append(b, w.hdr...)
	if bodyLen >= 0 && (w.status >= 200 && w.status != 204) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, bodyLen, 10)
		b = append(b, '\r', '\n')
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case !keep:
		b = append(b, "Connection: close\r\n"...)
	case minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, '\r', '\n')
}

var crlf = []byte("\r\n")

// appendStatusLine appends "HTTP/1.1 code reason\r\n".
func appendStatusLine(b []byte, code int) []byte {
	if code == 200 {
		return append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	return append(b, '\r', '\n')
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':', ' ')
	b = append(b, value...)
	return append(b, '\r', '\n')
}
