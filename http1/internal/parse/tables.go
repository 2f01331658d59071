package parse

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
