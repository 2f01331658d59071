package httpparse

// Field names the parser acts on, as found by fieldOf or knownName.
const (
	fUnknown          uint8 = iota // not looked up yet
	fOther                         // no meaning to the parser
	fHost                          // Host
	fContentLength                 // Content-Length
	fTransferEncoding              // Transfer-Encoding
	fConnection                    // Connection
	fExpect                        // Expect
	fUpgrade                       // Upgrade
)

// fieldOf names a field by its name, compared without regard to case.
func fieldOf(name []byte) uint8 {
	switch len(name) {
	case 4:
		if eqFold(name, "host") {
			return fHost
		}
	case 14:
		if eqFold(name, "content-length") {
			return fContentLength
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			return fTransferEncoding
		}
	case 10:
		if eqFold(name, "connection") {
			return fConnection
		}
	case 6:
		if eqFold(name, "expect") {
			return fExpect
		}
	case 7:
		if eqFold(name, "upgrade") {
			return fUpgrade
		}
	}
	return fOther
}

// field checks the header field whose line was just completed (sp, the
// last span) and records what it says about framing and the connection.
// id names the field when the scanner already knows it (see knownName),
// else it is fUnknown.
func (p *Parser) field(data []byte, sp Span, id uint8) error {
	if id == fOther {
		return nil
	}
	name := data[sp.NameStart:sp.NameEnd]
	if id == fUnknown {
		id = fieldOf(name)
	}
	value := data[sp.ValueStart:sp.ValueEnd]
	off := int(sp.ValueStart)
	switch id {
	case fHost:
		if p.mode != Request {
			return nil
		}
		p.hostCount++
		if p.hostCount > 1 {
			// RFC 9112 3.2: more than one Host field line is a 400.
			return errorf(BadRequest, int(sp.NameStart), "multiple Host fields")
		}
		if i := firstNonHost(value); i >= 0 {
			return errorf(BadRequest, off+i, "invalid Host value")
		}
		p.host = [2]int32{sp.ValueStart, sp.ValueEnd}
	case fContentLength:
		if p.msg.Flags&FlagContentLength != 0 {
			// RFC 9110 8.6 lets a recipient either reject repeated
			// Content-Length fields or merge identical ones. Rejecting
			// all repeats leaves no room for two parsers on a path to
			// disagree on the framing.
			return errorf(BadRequest, int(sp.NameStart), "multiple Content-Length fields")
		}
		p.msg.Flags |= FlagContentLength
		if len(value) == 0 {
			return errorf(BadRequest, off, "empty Content-Length")
		}
		var n int64
		for i, c := range value {
			if c < '0' || c > '9' {
				return errorf(BadRequest, off+i, "invalid Content-Length")
			}
			if n > (1<<63-1-9)/10 {
				return errorf(BadRequest, off+i, "Content-Length overflow")
			}
			n = n*10 + int64(c-'0')
		}
		p.msg.ContentLength = n
	case fTransferEncoding:
		p.msg.Flags |= FlagTransferEncoding
		return p.codings(value, off)
	case fConnection:
		return p.connection(value, off)
	case fExpect:
		if eqFold(value, "100-continue") {
			p.msg.Flags |= FlagExpectContinue
		} else {
			p.msg.Flags |= FlagExpectOther
		}
	case fUpgrade:
		if len(value) > 0 {
			p.msg.Flags |= FlagUpgrade
		}
	}
	return nil
}

// nextElement splits the next element off a comma-separated list (RFC 9110
// 5.6.1), trimming whitespace. Empty elements come back empty.
func nextElement(v []byte, at int) (elem []byte, start, next int) {
	i := at
	for i < len(v) && v[i] != ',' {
		i++
	}
	e := v[at:i]
	s := at
	for len(e) > 0 && (e[0] == ' ' || e[0] == '\t') {
		e = e[1:]
		s++
	}
	for len(e) > 0 && (e[len(e)-1] == ' ' || e[len(e)-1] == '\t') {
		e = e[:len(e)-1]
	}
	return e, s, i + 1
}

// codings reads one Transfer-Encoding field value: a list of transfer
// codings, each a token with optional parameters (RFC 9112 6.1, 7).
func (p *Parser) codings(v []byte, off int) error {
	for at := 0; at <= len(v); {
		e, s, next := nextElement(v, at)
		at = next
		if len(e) == 0 {
			continue
		}
		k := 0
		for k < len(e) && isToken[e[k]] {
			k++
		}
		if k == 0 {
			return errorf(BadRequest, off+s, "invalid transfer coding")
		}
		name := e[:k]
		rest := trimOWS(e[k:])
		chunked := eqFold(name, "chunked")
		if len(rest) > 0 && (rest[0] != ';' || chunked) {
			return errorf(BadRequest, off+s+k, "invalid transfer coding")
		}
		if p.teChunked {
			// Something follows chunked: RFC 9112 6.3 (4) and 7.
			p.teBad = true
		}
		p.teChunked = chunked
		if !chunked {
			p.msg.Flags |= FlagOtherCodings
			if !eqFold(name, "gzip") && !eqFold(name, "x-gzip") && !eqFold(name, "deflate") &&
				!eqFold(name, "compress") && !eqFold(name, "x-compress") {
				p.teUnknown = true
			}
		}
	}
	return nil
}

// connection reads one Connection field value: a list of connection
// options (RFC 9110 7.6.1).
func (p *Parser) connection(v []byte, off int) error {
	// Fast path for the usual single option.
	switch {
	case len(v) == 10 && eqFold(v, "keep-alive"):
		p.msg.Flags |= FlagKeepAlive
		return nil
	case len(v) == 5 && eqFold(v, "close"):
		p.msg.Flags |= FlagClose
		return nil
	}
	for at := 0; at <= len(v); {
		e, s, next := nextElement(v, at)
		at = next
		for i, c := range e {
			if !isToken[c] {
				return errorf(BadRequest, off+s+i, "invalid Connection option")
			}
		}
		switch {
		case eqFold(e, "close"):
			p.msg.Flags |= FlagClose
		case eqFold(e, "keep-alive"):
			p.msg.Flags |= FlagKeepAlive
		case eqFold(e, "upgrade"):
			p.msg.Flags |= FlagConnectionUpgrade
		}
	}
	return nil
}

// materialize turns the spans of the last scanned section into headers,
// reusing dst's storage.
func (p *Parser) materialize(dst []Header, buf []byte) []Header {
	dst = dst[:0]
	for _, sp := range p.spans {
		dst = append(dst, Header{Name: buf[sp.NameStart:sp.NameEnd:sp.NameEnd], Value: buf[sp.ValueStart:sp.ValueEnd:sp.ValueEnd]})
	}
	return dst
}

// finishHead completes a head of length len(buf): fills Message, applies
// the rules that need the whole header section and chooses the framing.
func (p *Parser) finishHead(buf []byte) error {
	m := &p.msg
	if p.offsetsOnly {
		m.Headers = p.hdrs[:0]
	} else {
		m.Headers = p.materialize(p.hdrs, buf)
		p.hdrs = m.Headers
	}
	end := len(buf)
	te := m.Flags&FlagTransferEncoding != 0
	cl := m.Flags&FlagContentLength != 0
	if p.mode == Request {
		if !p.offsetsOnly {
			m.Method = buf[p.method[0]:p.method[1]:p.method[1]]
			m.Target = buf[p.target[0]:p.target[1]:p.target[1]]
			if p.hostCount > 0 {
				m.Host = buf[p.host[0]:p.host[1]:p.host[1]]
			}
		}
		if p.hostCount == 0 && m.Minor == 1 {
			// RFC 9112 3.2: a 1.1 request without Host is a 400.
			return errorf(BadRequest, end, "missing Host field")
		}
		switch {
		case te && m.Minor == 0:
			// RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
			return errorf(BadRequest, end, "Transfer-Encoding in an HTTP/1.0 request")
		case te && cl:
			// RFC 9112 6.1 allows rejecting; ambiguity invites smuggling.
			return errorf(BadRequest, end, "both Transfer-Encoding and Content-Length")
		case te && (!p.teChunked || p.teBad):
			// RFC 9112 6.3 (4): chunked must be final (and, 7, only once).
			return errorf(BadRequest, end, "chunked is not the final transfer coding")
		case te && p.teUnknown:
			// RFC 9112 6.1: a coding the server does not understand is 501.
			return errorf(NotImplemented, end, "unknown transfer coding")
		case te:
			m.Flags |= FlagChunked
			m.Framing = BodyChunked
		case cl && m.ContentLength > 0:
			if p.lim.MaxBodyBytes > 0 && m.ContentLength > p.lim.MaxBodyBytes {
				return errorf(ContentTooLarge, end, "Content-Length exceeds the body limit")
			}
			m.Framing = BodyLength
		default:
			m.Framing = BodyNone
		}
	} else {
		m.Status = p.status
		m.Reason = buf[p.reason[0]:p.reason[1]:p.reason[1]]
		s := m.Status
		switch {
		case p.reqHead || s < 200 || s == 204 || s == 304 || p.reqConnect && s < 300:
			// RFC 9112 6.3 (1, 2): no content whatever the fields say.
			m.Framing = BodyNone
		case te && m.Minor == 0:
			return errorf(BadRequest, end, "Transfer-Encoding in an HTTP/1.0 response")
		case te && cl:
			return errorf(BadRequest, end, "both Transfer-Encoding and Content-Length")
		case te && p.teChunked && !p.teBad:
			m.Flags |= FlagChunked
			m.Framing = BodyChunked
		case te:
			// RFC 9112 6.3 (4): a response without final chunked runs
			// until the connection closes.
			m.Framing = BodyUntilClose
		case cl && m.ContentLength > 0:
			if p.lim.MaxBodyBytes > 0 && m.ContentLength > p.lim.MaxBodyBytes {
				return errorf(ContentTooLarge, end, "Content-Length exceeds the body limit")
			}
			m.Framing = BodyLength
		case cl:
			m.Framing = BodyNone
		default:
			m.Framing = BodyUntilClose
		}
		p.reqHead, p.reqConnect = false, false
	}
	if m.Framing == BodyNone {
		p.endMessage()
		return nil
	}
	p.inBody = true
	p.body = bodyState{off: end}
	if m.Framing == BodyLength {
		p.body.remaining = m.ContentLength
	}
	return nil
}

// endMessage makes the parser ready for the next message while leaving
// Message readable.
func (p *Parser) endMessage() {
	p.state = sStart
	p.pos = 0
	p.started = false
	p.trailer = false
	p.inBody = false
}
