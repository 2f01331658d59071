package frame

// MaxCloseReason is the longest close reason: a control payload of 125
// bytes less the 2-byte code.
const MaxCloseReason = MaxControlPayload - 2

// ValidCloseCode reports whether code may appear in a close frame on the
// wire: 1000 to 1003, 1007 to 1014 (RFC 6455 and the IANA registry), and
// 3000 to 4999 (registered and private use). 1004 is reserved, 1005, 1006
// and 1015 are never sent, and everything else below 3000 is unassigned. It
// costs a few comparisons and may be called from any goroutine.
func ValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClose decodes the payload of a close frame (RFC 6455 section 5.5.1).
// An empty payload gives CloseNoStatus (1005) and no reason. A payload of
// one byte or an invalid code is an *Error with code 1002; a reason that is
// not UTF-8 is an *Error with code 1007. reason is a subslice of payload,
// valid as long as payload is. It allocates nothing and may be called from
// any goroutine.
func ParseClose(payload []byte) (code int, reason []byte, err error) {
	switch len(payload) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, errCloseOneByte
	}
	code = int(payload[0])<<8 | int(payload[1])
	if !ValidCloseCode(code) {
		return code, nil, errCloseCode
	}
	reason = payload[2:]
	if !ValidUTF8(reason) {
		return code, nil, errInvalidCloseReason
	}
	return code, reason, nil
}

// AppendClose appends the payload of a close frame to dst: code in two
// bytes, then reason cut to MaxCloseReason bytes at a code point boundary
// (reason should be UTF-8; invalid bytes are kept as given). CloseNoStatus
// or 0 as code gives an empty payload and drops the reason, as RFC 6455
// requires a code before any reason. It does not check the code; use
// ValidCloseCode. It allocates only when dst lacks capacity and may be
// called from any goroutine.
func AppendClose(dst []byte, code int, reason string) []byte {
	if code == CloseNoStatus || code == 0 {
		return dst
	}
	if len(reason) > MaxCloseReason {
		cut := MaxCloseReason
		for cut > 0 && reason[cut]&0xC0 == 0x80 {
			cut--
		}
		reason = reason[:cut]
	}
	dst = append(dst, byte(code>>8), byte(code))
	return append(dst, reason...)
}
