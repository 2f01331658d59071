package httpparse

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
