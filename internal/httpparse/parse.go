// Package httpparse is ioloop's incremental HTTP/1.1 message parser (RFC
// 9112, with the field rules of RFC 9110). It does no I/O and copies
// nothing: it reads bytes the caller keeps and reports the start line, the
// header fields and the body as subslices of those bytes. It serves the
// http1 server (requests), the http1 client (responses) and the websocket
// client (the handshake's response); it imports nothing of the module.
//
// # Contract
//
// A Parser belongs to one connection at a time and is used by one goroutine
// at a time (the connection's loop); it has no locks. A message is read in
// two phases.
//
// Head. The caller keeps the unconsumed input of the connection in a buffer
// whose first byte is the first byte of the next message, and calls Parse
// with the whole buffer each time bytes arrive. Parse returns n == 0 and a
// nil error while the head (start line and header section) is incomplete;
// the caller must then keep every byte and call Parse again with the same
// bytes followed by the new ones. The bytes may move between calls (the
// parser keeps offsets, never pointers), but they must not change. Parse
// resumes where it stopped, so feeding a head one byte at a time costs
// linear time. Malformed input is rejected at the first byte that proves
// it, even before the head is complete. When the head is complete, Parse
// returns its length n > 0 and Message describes it, with every []byte a
// subslice of buf[:n]: those stay valid while the caller keeps these bytes.
//
// Body. Message().Framing says how the body is delimited. Unless it is
// BodyNone, the caller passes the bytes that follow the head to Body, which
// returns how many bytes it consumed and the body payload among them (a
// subslice of the input, chunk framing removed). The caller drops consumed
// bytes and calls Body again, with more input when Body consumed nothing.
// Chunk-size lines are consumed as they stream in. A trailer section is
// reported like the header section: Body consumes nothing until the whole
// trailer section is present, and then Message().Trailers are subslices of
// that input. Body reports done once the message ends.
//
// Reuse. When a message ends (Parse with BodyNone framing, or Body with
// done), the parser is ready for the next message on the same connection
// (pipelining: the next message starts at the next unconsumed byte). The
// Message stays readable until the next call to Parse or Reset. Between
// messages a Parser holds no per-connection state, so a loop can keep a
// small pool of them instead of one per idle connection.
//
// Strictness. The parser follows RFC 9112's "MUST reject" rules and
// chooses the safe reading where the RFC allows a choice: CRLF only (bare
// LF or bare CR is 400), no whitespace between the start line and the
// first field or before a colon, no obs-fold, field values of VCHAR,
// obs-text, SP and HTAB only, Host required once in HTTP/1.1 requests,
// one Content-Length of digits only, Transfer-Encoding never with
// Content-Length nor in HTTP/1.0, chunked last and only once in a request,
// chunk extensions validated. Every limit of Limits is checked before the
// bytes it bounds are fully received. After an error the parser must be
// Reset before reuse; the connection ought to be closed.
//
// Costs. Parse and Body allocate nothing in the steady state: the header
// and trailer slices are reused from message to message and only grow
// (up to Limits.MaxHeaders) the first time a message has more fields.
// Errors allocate. A request head that is whole in the first call is read
// along a straight path (wholeRequest) that falls back to the state
// machine, from the head's first byte, at anything unusual; so each byte
// is examined at most twice, and the result never depends on the path.
package httpparse

// Span locates one field line by offsets into the bytes of its head (or of
// its trailer section): the name is [NameStart, NameEnd), the value, without
// surrounding whitespace, [ValueStart, ValueEnd).
type Span struct {
	NameStart, NameEnd, ValueStart, ValueEnd int32
}

// Parser reads HTTP/1.1 messages incrementally; see the package contract.
// The zero Parser parses requests with default limits. A Parser is not
// safe for concurrent use: the goroutine that owns the connection (its
// loop) calls every method.
type Parser struct {
	lim  Limits
	mode Mode
	init bool

	reqHead     bool // response mode: the request was HEAD
	reqConnect  bool // response mode: the request was CONNECT
	offsetsOnly bool // Message.Headers is left empty: see SetOffsetsOnly

	// The state of the message being read, cleared as a whole by resetHead
	// (its zero value is the start of a message).
	headState

	spans    []Span
	msg      Message
	hdrs     []Header
	trailers []Header
}

// headState is what a Parser knows of the message it is reading.
type headState struct {
	// head scanner, offsets relative to the first byte of the head or of
	// the trailer section
	pos       int // next byte to examine
	mark      int // start of the current element
	lineStart int // start of the start line
	nameEnd   int
	valStart  int
	status    int
	hostCount int
	method    [2]int32
	target    [2]int32
	reason    [2]int32
	host      [2]int32
	state     uint8
	trailer   bool // scanning a trailer section
	inBody    bool // head done, Body must be called
	started   bool // a byte of the start line was seen

	// header facts
	teChunked bool // chunked is the last coding so far
	teBad     bool // chunked appears before another coding
	teUnknown bool // a coding other than the known ones

	body bodyState
}

// Init prepares p for a connection in the given mode with the given limits
// (zero fields take their defaults) and clears all state. It allocates
// nothing; a zero Parser is already initialised for requests with default
// limits.
func (p *Parser) Init(mode Mode, lim Limits) {
	p.mode = mode
	p.lim = lim.withDefaults()
	p.offsetsOnly = false
	p.init = true
	p.Reset()
}

// Reset forgets any message in progress, for a new connection or after an
// error. Limits and mode stay. It allocates nothing.
func (p *Parser) Reset() {
	if !p.init {
		p.Init(Request, Limits{})
		return
	}
	p.resetHead()
	p.reqHead, p.reqConnect = false, false
}

func (p *Parser) resetHead() {
	p.headState = headState{} // zeroed in place, sStart
	p.spans = p.spans[:0]
	// Zeroed in place, then the fields that are not zero; a composite
	// literal with them would build a temporary first.
	m := &p.msg
	*m = Message{}
	m.Headers, m.Trailers = p.hdrs[:0], p.trailers[:0]
	m.ContentLength = -1
}

// SetOffsetsOnly(true) makes Parse leave Message.Headers empty, and for a
// request Message.Method, Target and Host nil: the caller reads the field
// lines of a completed head as offsets with Fields and the others with
// RequestOffsets instead, which saves building the slices. Trailers are
// reported in Message.Trailers either way. The setting stays across Reset;
// Init clears it. It costs nothing.
func (p *Parser) SetOffsetsOnly(on bool) { p.offsetsOnly = on }

// RequestOffsets returns where the method, the request-target and the Host
// field value of the request head that Parse just completed lie in its
// bytes, as [start, end) offsets; the host's are 0 when there is no Host
// field. They are valid until the next call to Parse or Reset. It
// allocates nothing (six integers, not three arrays, so that they travel in
// registers).
func (p *Parser) RequestOffsets() (methodStart, methodEnd, targetStart, targetEnd, hostStart, hostEnd int32) {
	return p.method[0], p.method[1], p.target[0], p.target[1], p.host[0], p.host[1]
}

// Fields returns the field lines of the head that Parse just completed, as
// offsets into its bytes (buf[:n]), in order, duplicates kept. The slice is
// the parser's: read it before the next call to Parse, Body or Reset, and do
// not modify it. It allocates nothing.
func (p *Parser) Fields() []Span { return p.spans }

// TakeFields returns what Fields returns and hands the slice over to the
// caller, who may keep it: the parser records the next message's fields in
// spare's storage instead (its contents are dropped). Exchanging two slices
// saves copying the fields. It allocates nothing.
func (p *Parser) TakeFields(spare []Span) []Span {
	f := p.spans
	p.spans = spare[:0]
	return f
}

// SetRequestMethod tells a Response parser which request the next response
// answers: after HEAD it has no body, and a 2xx answer to CONNECT starts a
// tunnel (no body). Call it before the response's first byte is parsed; it
// applies to that one response. It allocates nothing.
func (p *Parser) SetRequestMethod(method []byte) {
	p.reqHead = string(method) == "HEAD"
	p.reqConnect = string(method) == "CONNECT"
}

// Message returns the message being read. It is valid once Parse returned
// n > 0 and until the next call to Parse after the message ended, or to
// Reset. It allocates nothing.
func (p *Parser) Message() *Message { return &p.msg }

// Started reports whether bytes of a message (other than the empty lines
// allowed before it) have been seen and the message has not ended. A
// connection closed while Started is false lost nothing. It costs nothing.
func (p *Parser) Started() bool { return p.started }

// InBody reports whether the head is done and Body must be called next.
func (p *Parser) InBody() bool { return p.inBody }

// Parse reads the head of the next message from buf, which holds the
// message from its first byte. It returns n == 0 and a nil error when more
// bytes are needed (keep buf and call again with more bytes appended), the
// head's length n > 0 when the head is complete (see Message), or an
// *Error. When the message has a body, call Body with the bytes after
// buf[:n]. Parse costs time linear in the new bytes and allocates nothing
// in the steady state. Calling Parse while InBody is true is an error.
func (p *Parser) Parse(buf []byte) (n int, err error) {
	if !p.init {
		p.Init(Request, Limits{})
	}
	if p.inBody {
		return 0, errorf(BadRequest, 0, "parse called before the body ended")
	}
	if p.pos == 0 && p.state == sStart {
		// A new message: forget the previous one, and try the straight
		// path for a request head that is already whole.
		p.resetHead()
		if p.mode == Request {
			data := buf
			if len(data) > p.lim.MaxHeaderBytes {
				data = data[:p.lim.MaxHeaderBytes]
			}
			if end, ok := p.wholeRequest(data); ok {
				p.pos, p.state = end, sEndLF // where the state machine ends
				if err := p.finishHead(buf[:end]); err != nil {
					return 0, err
				}
				return end, nil
			}
			p.resetHead() // forget what the straight path recorded
		}
	}
	end, err := p.scan(buf)
	if err != nil {
		return 0, err
	}
	if end < 0 {
		return 0, nil
	}
	if err := p.finishHead(buf[:end]); err != nil {
		return 0, err
	}
	return end, nil
}
