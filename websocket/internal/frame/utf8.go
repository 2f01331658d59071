package frame

import "encoding/binary"

// Validator checks UTF-8 (RFC 3629: no surrogates, no overlong forms,
// nothing above U+10FFFF) incrementally: a text message is fed to Write in
// pieces split anywhere, and the state of an unfinished code point is
// carried from one piece to the next. It fails fast: Write reports an
// error at the first byte that no valid text can contain at that place,
// even when that byte ends a piece. The zero Validator is ready; it is four
// bytes and belongs to one goroutine at a time.
type Validator struct {
	need   uint8 // continuation bytes still expected in the current code point
	lo, hi uint8 // allowed range of the next continuation byte
	bad    bool  // an invalid byte was seen; sticky until Reset
}

// The classes of a leading byte: the low three bits hold the sequence length
// (0 for a byte that cannot start a sequence), the high four bits index
// acceptRanges for the second byte.
const (
	xx = 0x00 // invalid leading byte (continuation, C0, C1, F5 to FF)
	as = 0x01 // ASCII
	s2 = 0x02 // C2..DF: 2 bytes, second 80..BF
	s3 = 0x03 // E1..EC, EE, EF: 3 bytes, second 80..BF
	e0 = 0x13 // E0: 3 bytes, second A0..BF (no overlong forms)
	ed = 0x23 // ED: 3 bytes, second 80..9F (no surrogates)
	s4 = 0x04 // F1..F3: 4 bytes, second 80..BF
	f0 = 0x34 // F0: 4 bytes, second 90..BF (no overlong forms)
	f4 = 0x44 // F4: 4 bytes, second 80..8F (nothing above U+10FFFF)
)

// acceptRanges is the allowed range of the byte after each leading class.
var acceptRanges = [5]struct{ lo, hi uint8 }{
	{0x80, 0xBF},
	{0xA0, 0xBF},
	{0x80, 0x9F},
	{0x90, 0xBF},
	{0x80, 0x8F},
}

// leading classifies every byte value as the first byte of a sequence.
var leading = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x80:
			t[c] = as
		case c < 0xC2:
			t[c] = xx
		case c < 0xE0:
			t[c] = s2
		case c == 0xE0:
			t[c] = e0
		case c == 0xED:
			t[c] = ed
		case c < 0xF0:
			t[c] = s3
		case c == 0xF0:
			t[c] = f0
		case c < 0xF4:
			t[c] = s4
		case c == 0xF4:
			t[c] = f4
		default:
			t[c] = xx
		}
	}
	return t
}()

// Write feeds the next piece of text to v. It returns false when the text
// so far cannot be the start of valid UTF-8; v then stays invalid until
// Reset. It skips ASCII 32 and 8 bytes at a time (byte by byte under the
// ioloop_purego tag) and allocates nothing.
func (v *Validator) Write(p []byte) bool {
	if v.bad {
		return false
	}
	i, n := 0, len(p)
	// Finish the code point left open by the previous piece.
	for ; v.need > 0 && i < n; i++ {
		if c := p[i]; c < v.lo || c > v.hi {
			v.bad = true
			return false
		}
		v.lo, v.hi = 0x80, 0xBF
		v.need--
	}
	for i < n {
		if useFast {
			for n-i >= 32 {
				q := p[i : i+32]
				if (binary.LittleEndian.Uint64(q[0:8])|binary.LittleEndian.Uint64(q[8:16])|
					binary.LittleEndian.Uint64(q[16:24])|binary.LittleEndian.Uint64(q[24:32]))&0x8080808080808080 != 0 {
					break
				}
				i += 32
			}
			for n-i >= 8 && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i == n {
				break
			}
		}
		c := p[i]
		if c < 0x80 {
			i++
			continue
		}
		x := leading[c]
		if x == xx {
			v.bad = true
			return false
		}
		size := int(x & 7)
		r := acceptRanges[x>>4]
		if n-i >= size {
			if c1 := p[i+1]; c1 < r.lo || c1 > r.hi {
				v.bad = true
				return false
			}
			if size >= 3 && p[i+2]&0xC0 != 0x80 || size == 4 && p[i+3]&0xC0 != 0x80 {
				v.bad = true
				return false
			}
			i += size
			continue
		}
		// The code point continues in the next piece: check what is here.
		v.need, v.lo, v.hi = uint8(size-1), r.lo, r.hi
		for i++; i < n; i++ {
			if c := p[i]; c < v.lo || c > v.hi {
				v.bad = true
				return false
			}
			v.lo, v.hi = 0x80, 0xBF
			v.need--
		}
	}
	return true
}

// Complete reports whether everything written is valid UTF-8 that ends on
// a code point boundary: the check to make when a text message ends. It
// costs a comparison.
func (v *Validator) Complete() bool { return !v.bad && v.need == 0 }

// Reset makes v ready for a new text. It costs a store.
func (v *Validator) Reset() { *v = Validator{} }

// ValidUTF8 reports whether b is valid UTF-8 as a whole, with the fast path
// of Validator. It allocates nothing and may be called from any goroutine.
func ValidUTF8(b []byte) bool {
	var v Validator
	return v.Write(b) && v.Complete()
}
