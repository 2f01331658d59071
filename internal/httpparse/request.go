package httpparse

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
