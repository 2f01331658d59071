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
// its default. The defaults follow common servers (see DefaultMaxRequestLine
// and DefaultMaxHeaders).
type Limits struct {
	// MaxRequestLine bounds the start line in bytes, CRLF included
	// (default DefaultMaxRequestLine). Beyond it: URITooLong (414).
	MaxRequestLine int
	// MaxHeaderBytes bounds the head in bytes: leading empty lines, start
	// line, field lines and the final CRLF (default DefaultMaxHeaderBytes).
	// It bounds a trailer section the same way. Beyond it: HeaderTooLarge
	// (431).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields, and of trailer fields
	// (default DefaultMaxHeaders). Beyond it: HeaderTooLarge (431).
	MaxHeaders int
	// MaxChunkLine bounds a chunk-size line with its extensions, CRLF
	// included (default DefaultMaxChunkLine). Beyond it: BadRequest (400).
	MaxChunkLine int
	// MaxBodyBytes bounds the body (Content-Length, or the sum of the chunk
	// sizes). Zero means no limit: a streamed body costs no memory here.
	// Beyond it: ContentTooLarge (413), reported by Parse for a
	// Content-Length and by Body for chunks.
	MaxBodyBytes int64
}

// The default limits.
const (
	// DefaultMaxRequestLine is 8 KiB, as nginx's request line.
	DefaultMaxRequestLine = 8 << 10
	// DefaultMaxHeaderBytes is 32 KiB.
	DefaultMaxHeaderBytes = 32 << 10
	// DefaultMaxHeaders is 100 fields, as Apache's.
	DefaultMaxHeaders = 100
	// DefaultMaxChunkLine is 4 KiB.
	DefaultMaxChunkLine = 4 << 10
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
