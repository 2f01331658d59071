package http1

import (
	"crypto/tls"
	"net/netip"
	"unsafe"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// BodyHandler receives a request body in pieces, on the connection's loop,
// as the bytes arrive (see Request.ReadBody). chunk holds payload bytes
// (transfer coding removed) lent until OnBody returns; last is true once, on
// the final call (chunk may then be empty). On the last call of a chunked
// body the trailer fields are readable with Request.Trailer.
type BodyHandler interface {
	OnBody(w *ResponseWriter, r *Request, chunk []byte, last bool)
}

// BodyHandlerFunc adapts a function to a BodyHandler. Converting a function
// that is not a closure allocates nothing.
type BodyHandlerFunc func(w *ResponseWriter, r *Request, chunk []byte, last bool)

// OnBody calls f.
func (f BodyHandlerFunc) OnBody(w *ResponseWriter, r *Request, chunk []byte, last bool) {
	f(w, r, chunk, last)
}

// Request is a read-only view of one request's head, owned by the server.
// Every []byte it returns points into the connection's input (or, when the
// request outlives the callback that read its head, into a copy the server
// keeps): it is valid until the response ends (the handler returned without
// Hold, or End was called) and must not be modified or kept after that.
// A Request is used on its connection's loop only; its methods allocate
// nothing.
type Request struct {
	x       *exchange
	hdr     fieldView // the head bytes (lent input or the exchange's copy) and its fields
	tr      fieldView // the trailer fields in the input, during the last OnBody
	copied  bool      // hdr.buf is x.headCopy
	method  span
	target  span
	host    span
	minor   int
	clen    int64
	framing parse.Framing
	flags   parse.Flags
}

// init fills the view from the head bytes and the parser that just parsed
// them (with offsets only: see parse.Parser.SetOffsetsOnly).
func (r *Request) init(head []byte, p *parse.Parser) {
	m := p.Message()
	r.hdr.buf, r.copied = head, false
	ms, me, ts, te, hs, he := p.RequestOffsets()
	r.method = span{ms, me}
	r.target = span{ts, te}
	r.host = span{}
	if he > hs {
		r.host = span{hs, he} // an empty value reads as none, as before
	}
	r.hdr.fields = p.TakeFields(r.hdr.fields)
	r.tr.reset()
	r.minor = m.Minor
	r.clen = m.ContentLength
	r.framing = m.Framing
	r.flags = m.Flags
}

// isHEAD reports whether the method is HEAD.
func (r *Request) isHEAD() bool {
	return r.method.end-r.method.off == 4 && string(r.at(r.method)) == "HEAD"
}

func (r *Request) at(s span) []byte { return r.hdr.buf[s.off:s.end:s.end] }

// Method returns the request method, for example "GET". Loop only.
func (r *Request) Method() []byte { return r.at(r.method) }

// Target returns the request-target as sent: "/path?query", an absolute URI,
// an authority (CONNECT) or "*". Loop only.
func (r *Request) Target() []byte { return r.at(r.target) }

// Path returns the path of the request-target, without the query and, for an
// absolute URI, without the scheme and authority ("/" when that leaves it
// empty). It is not unescaped. Loop only.
func (r *Request) Path() []byte {
	t := r.Target()
	if len(t) > 0 && t[0] != '/' {
		// absolute-form: scheme "://" authority path
		for i := 0; i+2 < len(t); i++ {
			if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
				rest := t[i+3:]
				j := 0
				for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
					j++
				}
				t = rest[j:]
				if len(t) == 0 || t[0] == '?' {
					return []byte("/")
				}
				break
			}
		}
	}
	for i, b := range t {
		if b == '?' {
			return t[:i:i]
		}
	}
	return t
}

// Query returns the query of the request-target without the '?' (nil when
// there is none). It is not unescaped. Loop only.
func (r *Request) Query() []byte {
	t := r.Target()
	for i, b := range t {
		if b == '?' {
			return t[i+1:]
		}
	}
	return nil
}

// ProtoMinor returns the HTTP minor version: 0 or 1. Loop only.
func (r *Request) ProtoMinor() int { return r.minor }

// Host returns the Host field value, nil when absent (HTTP/1.0). Loop only.
func (r *Request) Host() []byte {
	if r.host.end == 0 {
		return nil
	}
	return r.at(r.host)
}

// ContentLength returns the Content-Length value, or -1 when the request has
// none (no body, or a chunked body). Loop only.
func (r *Request) ContentLength() int64 { return r.clen }

// Chunked reports whether the body uses the chunked transfer coding.
// Loop only.
func (r *Request) Chunked() bool { return r.framing == parse.BodyChunked }

// HasBody reports whether the request has a body (a Content-Length above 0,
// or chunked). Loop only.
func (r *Request) HasBody() bool { return r.framing != parse.BodyNone }

// Header returns the value of the first header field named name (compared
// without regard to case), or nil when there is none. Cost: a scan of the
// fields, no allocation. Loop only.
func (r *Request) Header(name string) []byte { return r.hdr.get(name) }

// NumHeaders returns the number of header fields, duplicates included.
// Loop only.
func (r *Request) NumHeaders() int { return r.hdr.n() }

// HeaderAt returns the i-th header field (0 <= i < NumHeaders) as received:
// name in its original case, value without surrounding whitespace. Loop only.
func (r *Request) HeaderAt(i int) (name, value []byte) { return r.hdr.at(i) }

// Trailer returns the value of the first trailer field named name, or nil.
// Trailers exist only for chunked bodies and are readable only during the
// last OnBody call. Loop only.
func (r *Request) Trailer(name string) []byte { return r.tr.get(name) }

// NumTrailers returns the number of trailer fields (see Trailer). Loop only.
func (r *Request) NumTrailers() int { return r.tr.n() }

// TrailerAt returns the i-th trailer field (see Trailer). Loop only.
func (r *Request) TrailerAt(i int) (name, value []byte) { return r.tr.at(i) }

// KeepAlive reports whether the client allows another request on the
// connection after this one (RFC 9112 9.3). Loop only.
func (r *Request) KeepAlive() bool {
	if r.flags&parse.FlagClose != 0 {
		return false
	}
	return r.minor == 1 || r.flags&parse.FlagKeepAlive != 0
}

// Conn returns the connection the request arrived on. Loop only.
func (r *Request) Conn() *ioloop.Conn { return r.x.cs.c }

// RemoteAddr returns the client's address without allocating. Loop only.
func (r *Request) RemoteAddr() netip.AddrPort { return r.x.cs.c.RemoteAddrPort() }

// TLS returns the TLS state of the connection the request arrived on
// (version, cipher suite, ALPN protocol, SNI server name, the client's
// certificates, resumption), or nil when it came over plain HTTP, like
// net/http's Request.TLS. The state is copied on the first call during a
// request and kept with the request, so later calls cost nothing; the
// pointer is valid until the response ends (as the Request is), and the
// state must not be modified. Plain HTTP: no allocation; TLS: none either
// (the copy lives in the request's pooled state). Loop only.
func (r *Request) TLS() *tls.ConnectionState {
	x := r.x
	if !x.tlsSet {
		st, ok := x.cs.c.ConnectionState()
		if !ok {
			return nil
		}
		x.tlsState, x.tlsSet = st, true
	}
	return &x.tlsState
}

// ReadBody asks for the body: h.OnBody is called on the loop with the body's
// pieces as they arrive, the last call with last set (a request without a
// body gets one empty last call). The first call comes after ServeHTTP1
// returns, never from inside ReadBody. When the client sent "Expect:
// 100-continue", ReadBody queues "100 Continue". Without ReadBody or
// BufferedBody the server reads and drops the body after the response. The
// response ends when the last OnBody call returns, unless the handler called
// Hold or already ended it. A second call does nothing. No allocation.
// Loop only.
func (r *Request) ReadBody(h BodyHandler) {
	x := r.x
	if x.bodyH != nil || x.bodyTaken {
		return
	}
	x.bodyH = h
	x.cs.sendContinue()
}

// BufferedBody returns the whole body when it is already in the connection's
// input: a Content-Length body that arrived with the head (ok is true; a
// request without a body gives nil and true). It consumes the body: the bytes
// are lent until ServeHTTP1 returns. Otherwise (a chunked body, or one still
// on its way) it returns nil and false and nothing changes: use ReadBody.
// No allocation. Loop only.
func (r *Request) BufferedBody() (body []byte, ok bool) {
	x := r.x
	if r.framing == parse.BodyNone {
		return nil, true
	}
	if x.bodyH != nil || x.bodyTaken || x.bodyDone || r.framing != parse.BodyLength {
		return nil, false
	}
	return x.cs.takeBufferedBody(r.clen)
}

// PauseBody stops reading the body (and the connection) until ResumeBody:
// the kernel's buffers then push back on the client. Loop only.
func (r *Request) PauseBody() {
	if !r.x.bodyPaused {
		r.x.bodyPaused = true
		r.x.cs.c.PauseRead()
	}
}

// ResumeBody undoes PauseBody; body bytes already buffered are delivered
// again soon after, in a later callback. Loop only.
func (r *Request) ResumeBody() {
	if r.x.bodyPaused {
		r.x.bodyPaused = false
		r.x.cs.c.ResumeRead()
	}
}

// unsafeBytes views s as bytes without copying; the result is never
// modified.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unsafeString views b as a string without copying; the string must not be
// kept past the call it is passed to.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
