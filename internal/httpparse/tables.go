package httpparse

import (
	"encoding/binary"
	"math/bits"
)

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
	// class holds isToken and isHost as bits (cToken, cHost), so that
	// several bytes are checked with one branch: the AND of their classes.
	class [256]uint8
)

// Bits of class.
const (
	cToken = 1 << iota
	cHost
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
		if isToken[c] {
			class[c] |= cToken
		}
		if isHost[c] {
			class[c] |= cHost
		}
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
// ASCII case. s holds lower-case letters, digits and '-' only, and b comes
// from a token or a field value (no control byte but HTAB): then setting
// bit 0x20 of b's bytes maps exactly the upper-case letters to their
// lower-case twins and changes no byte that could match s, so 8 bytes are
// compared at once.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:i+8])|0x20*lsb != strWord(s[i:i+8]) {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// strWord loads 8 bytes of s little-endian.
func strWord(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// eqFoldBytewise is eqFold's reference, for any b.
func eqFoldBytewise(b []byte, s string) bool {
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

// valueMask flags (high bit of the byte) the bytes of x that are not
// field-value bytes other than HTAB: below 0x20 or 0x7F. The lowest flag is
// exact (the first such byte); flags above it may be spurious (a borrow), so
// only the lowest is used. An HTAB is flagged though valid: look closer.
func valueMask(x uint64) uint64 {
	below := (x - 0x20*lsb) &^ x // bytes < 0x20
	y := x ^ 0x7f*lsb
	del := (y - lsb) &^ y // bytes == 0x7F
	return (below | del) & msb
}

// targetMask flags the bytes of x that are not request-target bytes (VCHAR:
// 0x21-0x7E); the lowest flag is exact, as for valueMask.
func targetMask(x uint64) uint64 {
	below := (x - 0x21*lsb) &^ x // bytes < 0x21
	above := (x + lsb) | x       // bytes >= 0x7F
	return (below | above) & msb
}

func valueWord(x uint64) bool  { return valueMask(x) == 0 }
func targetWord(x uint64) bool { return targetMask(x) == 0 }

// skipValue returns the index of the first byte at or after i that is not a
// field-value byte (len(data) when there is none).
func skipValue(data []byte, i int) int {
	for i+16 <= len(data) {
		// Two words per branch: most values are longer than 8 bytes.
		w := data[i : i+16 : i+16]
		m0 := valueMask(binary.LittleEndian.Uint64(w))
		m1 := valueMask(binary.LittleEndian.Uint64(w[8:]))
		if m0|m1 == 0 {
			i += 16
			continue
		}
		if m0 == 0 {
			i, m0 = i+8, m1
		}
		i += bits.TrailingZeros64(m0) >> 3
		if data[i] != '\t' {
			return i
		}
		i++
	}
	for i+8 <= len(data) {
		m := valueMask(binary.LittleEndian.Uint64(data[i : i+8]))
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3
		if data[i] != '\t' {
			return i
		}
		i++
	}
	for i < len(data) && isValue[data[i]] {
		i++
	}
	return i
}

// skipTarget returns the index of the first byte at or after i that is not
// a request-target byte (len(data) when there is none).
func skipTarget(data []byte, i int) int {
	for i+8 <= len(data) {
		m := targetMask(binary.LittleEndian.Uint64(data[i : i+8]))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(data) && isTarget[data[i]] {
		i++
	}
	return i
}

// skipToken returns the index of the first byte at or after i that is not a
// token character (len(data) when there is none), four bytes per branch.
func skipToken(data []byte, i int) int {
	for i+4 <= len(data) {
		w := data[i : i+4 : i+4]
		if class[w[0]]&class[w[1]]&class[w[2]]&class[w[3]]&cToken == 0 {
			break
		}
		i += 4
	}
	for i < len(data) && isToken[data[i]] {
		i++
	}
	return i
}

// hostWord reports whether the 8 bytes of x are all letters, digits, '-',
// '.' or ':', the bytes of nearly every Host value (a subset of isHost).
// Each byte is tested against its ranges with no carry between bytes.
func hostWord(x uint64) bool {
	const low7 = 0x7f * lsb
	y := x & low7
	// bit 7 of y + (0x80-lo) is set when y >= lo; of y + (0x7f-hi) when y > hi
	digitColon := (y + (0x80-'0')*lsb) &^ (y + (0x7f-':')*lsb)
	dashDot := (y + (0x80-'-')*lsb) &^ (y + (0x7f-'.')*lsb)
	l := (x | 0x20*lsb) & low7 // letters to lower case
	alpha := (l + (0x80-'a')*lsb) &^ (l + (0x7f-'z')*lsb)
	return (digitColon|dashDot|alpha)&^x&msb == msb
}

// firstNonHost returns the index of the first byte of v that may not appear
// in a Host field value, or -1: by words when they hold only the usual
// bytes (hostWord), else four bytes per branch.
func firstNonHost(v []byte) int {
	if n := len(v); n >= 8 {
		k := 0
		for k+8 <= n && hostWord(binary.LittleEndian.Uint64(v[k:])) {
			k += 8
		}
		if k == n || k > n-8 && hostWord(binary.LittleEndian.Uint64(v[n-8:])) {
			return -1
		}
	}
	i := 0
	for i+4 <= len(v) {
		w := v[i : i+4 : i+4]
		if class[w[0]]&class[w[1]]&class[w[2]]&class[w[3]]&cHost == 0 {
			break
		}
		i += 4
	}
	for ; i < len(v); i++ {
		if !isHost[v[i]] {
			return i
		}
	}
	return -1
}
