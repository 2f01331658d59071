package parse

import "encoding/binary"

// Byte classes of RFC 9110 and RFC 9112, as lookup tables so that the inner
// loops cost one load and one branch per byte.
var (
	// tchar: the characters of a token (RFC 9110 5.6.2).
	isToken [256]bool
	// request-target characters: VCHAR (0x21-0x7E). Control characters, SP
	// and bytes above 0x7E are rejected, as in llhttp's strict mode.
	isTarget [256]bool
	// field-value characters: VCHAR, obs-text, SP and HTAB (RFC 9110 5.5).
	isValue [256]bool
	// qdtext of a quoted-string (RFC 9110 5.6.4).
	isQdtext [256]bool
	// characters allowed in a Host field value: reg-name, IPv4, IP-literal
	// and port (RFC 3986 3.2.2 and 3.2.3).
	isHost [256]bool
	// hex digit values, or -1.
	hexVal [256]int8
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		isToken[c] = alnum || indexByte("!#$%&'*+-.^_`|~", b)
		isTarget[c] = 0x21 <= b && b <= 0x7e
		isValue[c] = 0x21 <= b && b != 0x7f || b == ' ' || b == '\t'
		isQdtext[c] = b == '\t' || b == ' ' || b == 0x21 || 0x23 <= b && b <= 0x5b || 0x5d <= b && b <= 0x7e || b >= 0x80
		isHost[c] = alnum || indexByte("-._~%!$&'()*+,;=:[]", b)
		hexVal[c] = -1
		switch {
		case '0' <= b && b <= '9':
			hexVal[c] = int8(b - '0')
		case 'a' <= b && b <= 'f':
			hexVal[c] = int8(b - 'a' + 10)
		case 'A' <= b && b <= 'F':
			hexVal[c] = int8(b - 'A' + 10)
		}
	}
}

func indexByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// eqFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// Word-at-a-time classification: the scanner checks 8 bytes with a few
// arithmetic operations and falls back to the tables at the first word that
// holds anything unusual. The tests compare both against the tables.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080

	http10 = 0x302e312f50545448 // "HTTP/1.0" little-endian
	http11 = 0x312e312f50545448 // "HTTP/1.1" little-endian
)

// le64 loads 8 bytes little-endian; b must hold at least 8.
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// valueWord reports whether the 8 bytes of x are all field-value bytes other
// than HTAB: 0x20-0x7E or 0x80-0xFF. A false answer only means "look closer"
// (an HTAB is valid but reported false).
func valueWord(x uint64) bool {
	below := (x - 0x20*lsb) &^ x // high bit set in some byte when a byte < 0x20
	y := x ^ 0x7f*lsb
	del := (y - lsb) &^ y // high bit set in some byte when a byte == 0x7F
	return (below|del)&msb == 0
}

// targetWord reports whether the 8 bytes of x are all request-target bytes
// (VCHAR: 0x21-0x7E).
func targetWord(x uint64) bool {
	below := (x - 0x21*lsb) &^ x // a byte < 0x21
	above := (x + lsb) | x       // a byte >= 0x7F
	return (below|above)&msb == 0
}
