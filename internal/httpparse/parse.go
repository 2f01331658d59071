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

// Mode selects whether a Parser reads requests or responses.
type Mode uint8

// The parser modes.
const (
	// Request parses requests, as a server does.
	Request Mode = iota
	// Response parses responses, as a client does.
	Response
)

// Framing says how a message body is delimited (RFC 9112 6.3).
type Framing uint8

// The body framings.
const (
	// BodyNone: the message has no body; it ended with its head.
	BodyNone Framing = iota
	// BodyLength: the body is Message.ContentLength bytes (more than 0).
	BodyLength
	// BodyChunked: the body uses the chunked transfer coding.
	BodyChunked
	// BodyUntilClose: the body runs until the connection closes (responses
	// only); call EOF when it does.
	BodyUntilClose
)

// Flags are facts about a message collected from its header fields.
type Flags uint16

// The message flags.
const (
	// FlagClose: Connection contains "close".
	FlagClose Flags = 1 << iota
	// FlagKeepAlive: Connection contains "keep-alive".
	FlagKeepAlive
	// FlagConnectionUpgrade: Connection contains "upgrade".
	FlagConnectionUpgrade
	// FlagUpgrade: the message has an Upgrade field.
	FlagUpgrade
	// FlagExpectContinue: Expect is "100-continue".
	FlagExpectContinue
	// FlagExpectOther: Expect has another value (a server may answer 417).
	FlagExpectOther
	// FlagContentLength: the message has a Content-Length field.
	FlagContentLength
	// FlagTransferEncoding: the message has a Transfer-Encoding field.
	FlagTransferEncoding
	// FlagChunked: the body uses the chunked transfer coding.
	FlagChunked
	// FlagOtherCodings: Transfer-Encoding lists codings besides chunked
	// (gzip, deflate, compress); the caller must decode them.
	FlagOtherCodings
)

// Header is one field line: its name as received (any case) and its value
// with surrounding whitespace removed. Both are subslices of the caller's
// input.
type Header struct {
	Name, Value []byte
}

// Message describes the message a Parser is reading. Its slices point into
// the caller's input (see the package contract for how long they stay
// valid). It is owned by the Parser: read it, do not keep it.
type Message struct {
	// Method and Target are the request line's method and request-target
	// (requests only).
	Method, Target []byte
	// Status and Reason are the status line's code and reason phrase
	// (responses only).
	Status int
	Reason []byte
	// Minor is the HTTP minor version: 0 or 1 (the major is always 1).
	Minor int
	// Headers are the header fields in order, duplicates kept.
	Headers []Header
	// Trailers are the trailer fields of a chunked body, in order; valid
	// once Body reported done.
	Trailers []Header
	// Host is the Host field value (requests; nil when absent).
	Host []byte
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Framing says how the body is delimited.
	Framing Framing
	// Flags collects Connection, Upgrade, Expect and framing facts.
	Flags Flags
}

// KeepAlive reports whether the connection may carry another message after
// this one (RFC 9112 9.3): HTTP/1.1 unless "Connection: close", HTTP/1.0
// only with "Connection: keep-alive" and without "close", and never after
// a body delimited by the close of the connection. It costs nothing.
func (m *Message) KeepAlive() bool {
	if m.Flags&FlagClose != 0 || m.Framing == BodyUntilClose {
		return false
	}
	return m.Minor == 1 || m.Flags&FlagKeepAlive != 0
}

// Upgrade reports whether the message asks to switch protocols: an Upgrade
// field and the "upgrade" connection option together (RFC 9110 7.8). It
// costs nothing.
func (m *Message) Upgrade() bool {
	return m.Flags&(FlagUpgrade|FlagConnectionUpgrade) == FlagUpgrade|FlagConnectionUpgrade
}

// Limits bound what a peer can make the parser accept. A zero field means
// its default. The defaults follow common servers (nginx's 8 KiB request
// line, Apache's 100 fields).
type Limits struct {
	// MaxRequestLine bounds the start line in bytes, CRLF included
	// (default 8 KiB). Beyond it: URITooLong (414).
	MaxRequestLine int
	// MaxHeaderBytes bounds the head in bytes: leading empty lines, start
	// line, field lines and the final CRLF (default 32 KiB). It bounds a
	// trailer section the same way. Beyond it: HeaderTooLarge (431).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields, and of trailer fields
	// (default 100). Beyond it: HeaderTooLarge (431).
	MaxHeaders int
	// MaxChunkLine bounds a chunk-size line with its extensions, CRLF
	// included (default 4 KiB). Beyond it: BadRequest (400).
	MaxChunkLine int
	// MaxBodyBytes bounds the body (Content-Length, or the sum of the chunk
	// sizes). Zero means no limit: a streamed body costs no memory here.
	// Beyond it: ContentTooLarge (413), reported by Parse for a
	// Content-Length and by Body for chunks.
	MaxBodyBytes int64
}

// The default limits.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxChunkLine   = 4 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxChunkLine <= 0 {
		l.MaxChunkLine = DefaultMaxChunkLine
	}
	return l
}

// Head scanner states.
const (
	sStart      uint8 = iota // before the start line: empty lines allowed
	sStartLF                 // CR of an empty line seen
	sMethod                  // in the method
	sTarget                  // in the request-target
	sVersion                 // in HTTP-version (request line) or status line version
	sLineLF                  // CR ending the start line seen
	sStatus                  // in the status code
	sReason                  // in the reason phrase
	sFieldStart              // at the start of a field line or of the final CRLF
	sName                    // in a field name
	sValueOWS                // after the colon
	sValue                   // in a field value
	sValueLF                 // CR ending a field line seen
	sEndLF                   // CR of the final empty line seen
)

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

// scan runs the head state machine from p.pos. It returns the length of
// the head or of the trailer section when complete, -1 when more bytes are
// needed, or an error.
func (p *Parser) scan(buf []byte) (int, error) {
	lim := p.lim.MaxHeaderBytes
	data := buf
	if len(data) > lim {
		data = data[:lim]
	}
	i := p.pos
	state := p.state
	for i < len(data) {
		c := data[i]
		switch state {
		case sStart:
			if c == '\r' {
				state = sStartLF
				i++
				continue
			}
			if p.trailer {
				return 0, errorf(BadRequest, i, "internal: trailer in start state")
			}
			p.started = true
			p.lineStart = i
			p.mark = i
			if p.mode == Response {
				state = sVersion
			} else {
				state = sMethod
			}
		case sStartLF:
			if c != '\n' {
				return 0, errorf(BadRequest, i, "expected LF after CR")
			}
			state = sStart
			i++
		case sMethod:
			i = skipToken(data, i)
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
			}
			if i == len(data) {
				continue
			}
			if data[i] != ' ' {
				return 0, errorf(BadRequest, i, "invalid character in method")
			}
			if i == p.mark {
				return 0, errorf(BadRequest, i, "empty method")
			}
			p.method = [2]int32{int32(p.mark), int32(i)}
			if string(data[p.mark:i]) == "PRI" {
				// RFC 9113 3.4, 11.6: PRI only starts the HTTP/2 preface.
				return 0, errorf(BadRequest, p.mark, "HTTP/2 connection preface")
			}
			i++
			p.mark = i
			state = sTarget
		case sTarget:
			i = skipTarget(data, i)
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
			}
			if i == len(data) {
				continue
			}
			c = data[i]
			if c != ' ' {
				if c == '\r' || c == '\n' {
					return 0, errorf(BadRequest, i, "missing HTTP version")
				}
				return 0, errorf(BadRequest, i, "invalid character in request target")
			}
			if i == p.mark {
				return 0, errorf(BadRequest, i, "empty request target")
			}
			p.target = [2]int32{int32(p.mark), int32(i)}
			connect := string(data[p.method[0]:p.method[1]]) == "CONNECT"
			if err := checkTarget(data[p.mark:i], p.mark, connect); err != nil {
				return 0, err
			}
			i++
			p.mark = i
			state = sVersion
		case sVersion:
			// A start line already at its limit is too long whatever this
			// byte is (as the end-of-input check below says when the
			// bytes come one at a time); likewise in sStatus and sLineLF.
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
			}
			k := i - p.mark
			if k == 0 && p.mode == Request && i+10 <= len(data) && i+10-p.lineStart <= p.lim.MaxRequestLine {
				// Fast path for a whole "HTTP/1.x\r\n"; anything else takes
				// the byte-by-byte path below, which says what is wrong.
				if v := le64(data[i:]); (v == http10 || v == http11) && data[i+8] == '\r' && data[i+9] == '\n' {
					p.msg.Minor = int(data[i+7] - '0')
					i += 10
					state = sFieldStart
					continue
				}
			}
			switch {
			case k < 5:
				if c != "HTTP/"[k] {
					return 0, errorf(BadRequest, i, "invalid HTTP version")
				}
			case k == 5 || k == 7:
				if c < '0' || c > '9' {
					return 0, errorf(BadRequest, i, "invalid HTTP version")
				}
				if k == 7 {
					major := data[i-2] - '0'
					if major != 1 || c > '1' {
						return 0, errorf(VersionNotSupported, i, "unsupported HTTP version")
					}
					p.msg.Minor = int(c - '0')
				}
			case k == 6:
				if c != '.' {
					return 0, errorf(BadRequest, i, "invalid HTTP version")
				}
			default:
				if p.mode == Response {
					if c != ' ' {
						return 0, errorf(BadRequest, i, "expected space after HTTP version")
					}
					p.mark = i + 1
					p.status = 0
					state = sStatus
					break
				}
				if c != '\r' {
					return 0, errorf(BadRequest, i, "expected CRLF after HTTP version")
				}
				state = sLineLF
			}
			i++
		case sStatus:
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
			}
			k := i - p.mark
			if k < 3 {
				if c < '0' || c > '9' {
					return 0, errorf(BadRequest, i, "invalid status code")
				}
				p.status = p.status*10 + int(c-'0')
				i++
				break
			}
			if p.status < 100 {
				return 0, errorf(BadRequest, i, "invalid status code")
			}
			switch c {
			case ' ':
				i++
				p.mark = i
				state = sReason
			case '\r':
				// The SP before an empty reason phrase is often omitted;
				// clients accept that (RFC 9112 4 asks them to ignore the
				// reason phrase).
				p.reason = [2]int32{int32(i), int32(i)}
				state = sLineLF
				i++
			default:
				return 0, errorf(BadRequest, i, "invalid status code")
			}
		case sReason:
			for i < len(data) && isValue[data[i]] {
				i++
			}
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "status line too long")
			}
			if i == len(data) {
				continue
			}
			if data[i] != '\r' {
				return 0, errorf(BadRequest, i, "invalid character in reason phrase")
			}
			p.reason = [2]int32{int32(p.mark), int32(i)}
			state = sLineLF
			i++
		case sLineLF:
			// The length first: a line that its LF would make too long is
			// too long whatever byte comes, as the check at the end of
			// the input already said when the bytes came one at a time.
			if i-p.lineStart >= p.lim.MaxRequestLine {
				return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
			}
			if c != '\n' {
				return 0, errorf(BadRequest, i, "expected LF after CR")
			}
			i++
			state = sFieldStart
		case sFieldStart:
			switch {
			case c == '\r':
				state = sEndLF
				i++
			case isToken[c]:
				p.mark = i
				state = sName
				// Fast path: a whole field line is here. Anything unusual
				// (or the end of the input) leaves it to the states, which
				// start again at p.mark.
				j, id := knownName(data, i)
				if id == fUnknown {
					j = skipToken(data, i+1)
				}
				if j+1 >= len(data) || data[j] != ':' {
					break
				}
				nameEnd := j
				j++
				for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
					j++
				}
				valStart := j
				j = skipValue(data, j)
				if j+1 >= len(data) || data[j] != '\r' || data[j+1] != '\n' {
					break
				}
				p.nameEnd, p.valStart = nameEnd, valStart
				if err := p.endField(data, j+1, id); err != nil {
					return 0, err
				}
				state = sFieldStart
				i = j + 2
			case c == ' ' || c == '\t':
				if len(p.spans) == 0 && !p.trailer {
					return 0, errorf(BadRequest, i, "whitespace after start line")
				}
				return 0, errorf(BadRequest, i, "obsolete line folding")
			default:
				return 0, errorf(BadRequest, i, "invalid character in field name")
			}
		case sName:
			i = skipToken(data, i)
			if i == len(data) {
				continue
			}
			if data[i] != ':' {
				if data[i] == ' ' || data[i] == '\t' {
					return 0, errorf(BadRequest, i, "whitespace before colon")
				}
				return 0, errorf(BadRequest, i, "invalid character in field name")
			}
			p.nameEnd = i
			i++
			state = sValueOWS
		case sValueOWS:
			for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
				i++
			}
			if i == len(data) {
				continue
			}
			p.valStart = i
			state = sValue
		case sValue:
			i = skipValue(data, i)
			if i == len(data) {
				continue
			}
			if data[i] != '\r' {
				if data[i] == '\n' {
					return 0, errorf(BadRequest, i, "bare LF in field line")
				}
				return 0, errorf(BadRequest, i, "invalid character in field value")
			}
			state = sValueLF
			i++
		case sValueLF:
			if c != '\n' {
				return 0, errorf(BadRequest, i, "expected LF after CR")
			}
			if err := p.endField(data, i, fUnknown); err != nil {
				return 0, err
			}
			state = sFieldStart
			i++
		case sEndLF:
			if c != '\n' {
				return 0, errorf(BadRequest, i, "expected LF after CR")
			}
			p.pos = i + 1
			p.state = state
			return i + 1, nil
		}
	}
	p.pos = i
	p.state = state
	if len(buf) > lim {
		return 0, errorf(HeaderTooLarge, lim, "header section too large")
	}
	if state <= sReason && state >= sMethod && i-p.lineStart >= p.lim.MaxRequestLine {
		return 0, errorf(URITooLong, p.lim.MaxRequestLine, "request line too long")
	}
	return -1, nil
}

// wholeRequest reads a request head that starts at data[0] and lies whole
// in data along a straight path, with the checks of the state machine but
// without its states: it handles the usual head (no empty line before it,
// an origin-form target, "HTTP/1.x", every field line whole with CRLF). It
// reports false when the head takes any other turn, breaks a rule or is not
// complete in data; the caller then resets the parser and the state machine
// reads the head from its first byte, so that every head is accepted or
// refused (with the same error) exactly as the state machine does alone.
// The state machine parses a head given in pieces, and the tests and
// fuzzers compare the two by splitting the same input.
func (p *Parser) wholeRequest(data []byte) (end int, ok bool) {
	// request-line = method SP request-target SP HTTP-version CRLF
	var i int
	if len(data) >= 4 && string(data[:4]) == "GET " {
		i = 3 // the usual method, in one comparison
	} else {
		i = skipToken(data, 0)
		if i == 0 || i >= len(data) || data[i] != ' ' {
			return 0, false
		}
		if m := data[:i]; string(m) == "PRI" || string(m) == "CONNECT" {
			return 0, false // refused, or an authority-form target
		}
	}
	t := i + 1
	i = skipTarget(data, t)
	if i >= len(data) || data[i] != ' ' || i == t || data[t] != '/' {
		return 0, false
	}
	v := i + 1
	if v+10 > len(data) || v+10 > p.lim.MaxRequestLine {
		return 0, false
	}
	if w := le64(data[v:]); w != http10 && w != http11 || data[v+8] != '\r' || data[v+9] != '\n' {
		return 0, false
	}
	p.started = true
	p.method = [2]int32{0, int32(t - 1)}
	p.target = [2]int32{int32(t), int32(i)}
	p.msg.Minor = int(data[v+7] - '0')
	i = v + 10
	// *( field-line CRLF ) CRLF. The spans are kept in a local slice, put
	// back when the head is complete (after a false return the caller
	// resets them), and each line is recorded as endField does, without
	// the call.
	spans := p.spans
	for i < len(data) {
		c := data[i]
		if c == '\r' {
			if i+1 < len(data) && data[i+1] == '\n' {
				p.spans = spans
				return i + 2, true
			}
			return 0, false
		}
		j, id := knownName(data, i)
		if id == fUnknown { // else knownName matched the colon too
			if !isToken[c] {
				return 0, false
			}
			j = skipToken(data, i+1)
			if j >= len(data) || data[j] != ':' {
				return 0, false
			}
		}
		nameEnd := j
		j++
		for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
			j++
		}
		valStart := j
		j = skipValue(data, j)
		if j+1 >= len(data) || data[j] != '\r' || data[j+1] != '\n' {
			return 0, false
		}
		ve := j
		for ve > valStart && (data[ve-1] == ' ' || data[ve-1] == '\t') {
			ve--
		}
		if len(spans) >= p.lim.MaxHeaders {
			return 0, false
		}
		sp := Span{int32(i), int32(nameEnd), int32(valStart), int32(ve)}
		spans = append(spans, sp)
		switch {
		case id == fOther:
		case id == fHost && p.hostCount == 0 && firstNonHost(data[valStart:ve]) < 0:
			// field's fHost case for the usual single valid Host
			p.hostCount = 1
			p.host = [2]int32{sp.ValueStart, sp.ValueEnd}
		case id == fConnection && ve-valStart == 10 && le64(data[valStart:]) == keepAli && data[valStart+8] == 'v' && data[valStart+9] == 'e':
			// field's fConnection case for the usual "keep-alive"
			p.msg.Flags |= FlagKeepAlive
		default:
			if p.field(data, sp, id) != nil {
				return 0, false
			}
		}
		i = j + 2
	}
	return 0, false
}

// keepAli is "keep-ali" little-endian: see wholeRequest.
const keepAli = 0x696c612d7065656b

// endField records the field line whose LF is data[lf] and checks what it
// says (header fields only; trailers are only recorded). id names the
// field when the scanner knows it, else it is fUnknown.
func (p *Parser) endField(data []byte, lf int, id uint8) error {
	ve := lf - 1
	for ve > p.valStart && (data[ve-1] == ' ' || data[ve-1] == '\t') {
		ve--
	}
	if len(p.spans) >= p.lim.MaxHeaders {
		return errorf(HeaderTooLarge, lf, "too many fields")
	}
	sp := Span{int32(p.mark), int32(p.nameEnd), int32(p.valStart), int32(ve)}
	p.spans = append(p.spans, sp)
	if !p.trailer {
		return p.field(data, sp, id)
	}
	return nil
}

// checkTarget checks the form of a request-target (RFC 9112 3.2): origin
// form ("/..."), asterisk form ("*"), absolute form ("scheme:...") and
// authority form, which is CONNECT's only form.
func checkTarget(t []byte, off int, connect bool) error {
	if connect {
		// authority-form: uri-host ":" port
		colon := -1
		for i, c := range t {
			if !isHost[c] || c == '@' {
				return errorf(BadRequest, off+i, "invalid authority-form target")
			}
			if c == ':' {
				colon = i
			}
		}
		if colon <= 0 || colon == len(t)-1 {
			return errorf(BadRequest, off, "CONNECT target must be host:port")
		}
		for _, c := range t[colon+1:] {
			if c < '0' || c > '9' {
				return errorf(BadRequest, off, "CONNECT target must be host:port")
			}
		}
		return nil
	}
	switch t[0] {
	case '/':
		return nil
	case '*':
		if len(t) != 1 {
			return errorf(BadRequest, off+1, "invalid asterisk-form target")
		}
		return nil
	}
	// absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
	for i, c := range t {
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		switch {
		case alpha:
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return nil
		default:
			return errorf(BadRequest, off+i, "invalid request target")
		}
	}
	return errorf(BadRequest, off, "invalid request target")
}
