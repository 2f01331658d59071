package httpparse

// Chunked body states.
const (
	cSize        uint8 = iota // in chunk-size
	cSizeBWS                  // whitespace after chunk-size: ';' must follow
	cExtStart                 // after ';': BWS then an extension name
	cExtName                  // in an extension name
	cExtNameBWS               // whitespace after a name: '=' or ';' must follow
	cExtValStart              // after '=': BWS then a value
	cExtToken                 // in a token value
	cExtQuoted                // in a quoted-string value
	cExtEscape                // after a backslash in a quoted-string
	cExtValBWS                // whitespace after a value: ';' must follow
	cLineLF                   // CR ending the chunk-size line seen
	cData                     // in chunk data
	cDataCR                   // chunk data done, CR expected
	cDataLF                   // LF expected after chunk data
	cTrailers                 // in the trailer section
)

// bodyState is the body decoder's state; it is zero between messages.
type bodyState struct {
	off       int   // offset of the next input byte from the message start
	remaining int64 // bytes left in the body (BodyLength) or chunk (cData)
	total     int64 // chunk bytes announced so far
	state     uint8
	digits    int // hex digits of the current chunk-size
	lineLen   int // bytes of the current chunk-size line
}

// Body decodes body bytes from data, which holds the unconsumed input that
// follows the head (or the previous Body call's consumed bytes). It returns
// how many bytes of data it consumed, the body payload among them (a
// subslice of data, valid as long as data is), and whether the message
// ended; Message().Trailers are then set. Call Body again with the
// unconsumed rest: when it consumed nothing and is not done, it needs more
// bytes, and the unconsumed bytes must be presented again in front of the
// new ones (a trailer section is read only when complete). For
// BodyUntilClose all of data is payload; call EOF when the peer closes. Body
// allocates nothing in the steady state.
func (p *Parser) Body(data []byte) (n int, payload []byte, done bool, err error) {
	if !p.inBody {
		return 0, nil, false, errorf(BadRequest, 0, "body called outside a body")
	}
	switch p.msg.Framing {
	case BodyLength:
		take := int64(len(data))
		if take > p.body.remaining {
			take = p.body.remaining
		}
		p.body.remaining -= take
		p.body.off += int(take)
		if p.body.remaining == 0 {
			p.endMessage()
			return int(take), data[:take:take], true, nil
		}
		return int(take), data[:take:take], false, nil
	case BodyUntilClose:
		p.body.off += len(data)
		return len(data), data, false, nil
	}
	n, payload, done, err = p.chunked(data)
	p.body.off += n
	return n, payload, done, err
}

// EOF reports that the peer closed the connection. For a BodyUntilClose
// message it ends the message (done is true). Between messages it returns
// false and a nil error. In the middle of any other message it returns an
// error: the message was truncated. It allocates only on error.
func (p *Parser) EOF() (done bool, err error) {
	if p.inBody && p.msg.Framing == BodyUntilClose {
		p.endMessage()
		return true, nil
	}
	if p.started {
		return false, errorf(BadRequest, p.body.off, "connection closed before the message ended")
	}
	return false, nil
}

func (p *Parser) chunked(data []byte) (int, []byte, bool, error) {
	b := &p.body
	maxLine := p.lim.MaxChunkLine
	i := 0
	for i < len(data) {
		c := data[i]
		st := b.state
		if st <= cLineLF {
			b.lineLen++
			if b.lineLen > maxLine {
				return i, nil, false, errorf(BadRequest, b.off+i, "chunk-size line too long")
			}
		}
		switch st {
		case cSize:
			if v := hexVal[c]; v >= 0 {
				if b.remaining > (1<<62)>>4 {
					return i, nil, false, errorf(BadRequest, b.off+i, "chunk size overflow")
				}
				b.remaining = b.remaining<<4 | int64(v)
				b.digits++
				break
			}
			if b.digits == 0 {
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid character in chunk size")
			}
			switch c {
			case '\r':
				b.state = cLineLF
			case ';':
				b.state = cExtStart
			case ' ', '\t':
				b.state = cSizeBWS
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid character in chunk size")
			}
		case cSizeBWS:
			switch c {
			case ' ', '\t':
			case ';':
				b.state = cExtStart
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid character in chunk size")
			}
		case cExtStart:
			switch {
			case c == ' ' || c == '\t':
			case isToken[c]:
				b.state = cExtName
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension")
			}
		case cExtName:
			switch {
			case isToken[c]:
			case c == '=':
				b.state = cExtValStart
			case c == ';':
				b.state = cExtStart
			case c == '\r':
				b.state = cLineLF
			case c == ' ' || c == '\t':
				b.state = cExtNameBWS
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension")
			}
		case cExtNameBWS:
			switch c {
			case ' ', '\t':
			case '=':
				b.state = cExtValStart
			case ';':
				b.state = cExtStart
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension")
			}
		case cExtValStart:
			switch {
			case c == ' ' || c == '\t':
			case c == '"':
				b.state = cExtQuoted
			case isToken[c]:
				b.state = cExtToken
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension value")
			}
		case cExtToken:
			switch {
			case isToken[c]:
			case c == ';':
				b.state = cExtStart
			case c == '\r':
				b.state = cLineLF
			case c == ' ' || c == '\t':
				b.state = cExtValBWS
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension value")
			}
		case cExtQuoted:
			switch {
			case c == '"':
				b.state = cExtValBWS
			case c == '\\':
				b.state = cExtEscape
			case isQdtext[c]:
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension quoted value")
			}
		case cExtEscape:
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if !isValue[c] {
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension quoted value")
			}
			b.state = cExtQuoted
		case cExtValBWS:
			switch c {
			case ' ', '\t':
			case ';':
				b.state = cExtStart
			case '\r':
				b.state = cLineLF
			default:
				return i, nil, false, errorf(BadRequest, b.off+i, "invalid chunk extension")
			}
		case cLineLF:
			if c != '\n' {
				return i, nil, false, errorf(BadRequest, b.off+i, "expected LF after chunk size")
			}
			b.lineLen = 0
			b.digits = 0
			if b.remaining == 0 {
				// last-chunk: the trailer section follows.
				i++
				b.state = cTrailers
				p.trailer = true
				p.state = sFieldStart
				p.pos = 0
				p.spans = p.spans[:0]
				return p.trailerSection(data, i)
			}
			b.total += b.remaining
			if p.lim.MaxBodyBytes > 0 && b.total > p.lim.MaxBodyBytes {
				return i, nil, false, errorf(ContentTooLarge, b.off+i, "chunked body exceeds the body limit")
			}
			b.state = cData
		case cData:
			take := int64(len(data) - i)
			if take > b.remaining {
				take = b.remaining
			}
			b.remaining -= take
			if b.remaining == 0 {
				b.state = cDataCR
			}
			end := i + int(take)
			return end, data[i:end:end], false, nil
		case cDataCR:
			if c != '\r' {
				return i, nil, false, errorf(BadRequest, b.off+i, "expected CRLF after chunk data")
			}
			b.state = cDataLF
		case cDataLF:
			if c != '\n' {
				return i, nil, false, errorf(BadRequest, b.off+i, "expected CRLF after chunk data")
			}
			b.state = cSize
		case cTrailers:
			return p.trailerSection(data, i)
		}
		i++
	}
	return i, nil, false, nil
}

// trailerSection reads the trailer section starting at data[at]; the bytes
// before at are consumed.
func (p *Parser) trailerSection(data []byte, at int) (int, []byte, bool, error) {
	end, err := p.scan(data[at:])
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Offset += p.body.off + at
		}
		return at, nil, false, err
	}
	if end < 0 {
		if at > 0 {
			// Consume the framing before the trailers; rescan them later
			// from the start of the next call's input.
			p.pos = 0
			p.state = sFieldStart
			p.spans = p.spans[:0]
		}
		return at, nil, false, nil
	}
	p.msg.Trailers = p.materialize(p.trailers, data[at:at+end])
	p.trailers = p.msg.Trailers
	p.endMessage()
	return at + end, nil, true, nil
}
