package frame

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// validPrefixReference reports whether p can be the start of valid UTF-8,
// using unicode/utf8 only: p is valid, or p without its last k < 4 bytes is
// valid and those k bytes can be completed into one valid code point.
func validPrefixReference(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	// The second byte of a sequence has one of five ranges; their ends
	// cover every case, later bytes take any continuation byte.
	seconds := []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF}
	for k := 1; k <= 3 && k <= len(p); k++ {
		head, tail := p[:len(p)-k], p[len(p)-k:]
		if !utf8.Valid(head) {
			continue
		}
		for more := 1; more+k <= 4; more++ {
			for _, s := range seconds {
				c := append([]byte(nil), tail...)
				for j := range more {
					if len(c) == 1 && j == 0 {
						c = append(c, s)
					} else {
						c = append(c, 0x80)
					}
				}
				if utf8.FullRune(c) && utf8.Valid(c) && len(c) == k+more {
					return true
				}
			}
		}
	}
	return false
}

var utf8Cases = []struct {
	s     string
	valid bool
}{
	{"", true},
	{"plain ASCII text, longer than eight bytes", true},
	{"κόσμε", true},
	{"\u0000\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffff", true},
	{"\xc0\x80", false},         // overlong NUL
	{"\xc1\xbf", false},         // overlong
	{"\xe0\x80\x80", false},     // overlong
	{"\xe0\x9f\xbf", false},     // overlong
	{"\xed\xa0\x80", false},     // surrogate D800
	{"\xed\xbf\xbf", false},     // surrogate DFFF
	{"\xf0\x80\x80\x80", false}, // overlong
	{"\xf0\x8f\xbf\xbf", false}, // overlong
	{"\xf4\x90\x80\x80", false}, // above U+10FFFF
	{"\xf5\x80\x80\x80", false},
	{"\xff", false},
	{"\x80", false},
	{"a\xe2\x82", false}, // truncated
	{"\xe2\x28\xa1", false},
	{"12345678\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", false},
}

func TestValidatorCases(t *testing.T) {
	for _, c := range utf8Cases {
		if got := ValidUTF8([]byte(c.s)); got != c.valid || utf8.ValidString(c.s) != c.valid {
			t.Fatalf("ValidUTF8(%q) = %v, want %v", c.s, got, c.valid)
		}
		// Every split into two pieces gives the same answer, and each
		// piece is accepted exactly when the text so far is a valid prefix.
		for i := 0; i <= len(c.s); i++ {
			var v Validator
			ok1 := v.Write([]byte(c.s[:i]))
			if ok1 != validPrefixReference([]byte(c.s[:i])) {
				t.Fatalf("%q: first piece %q gave %v", c.s, c.s[:i], ok1)
			}
			ok := ok1 && v.Write([]byte(c.s[i:])) && v.Complete()
			if ok != c.valid {
				t.Fatalf("%q split at %d: %v, want %v", c.s, i, ok, c.valid)
			}
		}
	}
}

// TestValidatorAllTwoByteSequences compares the validator with unicode/utf8
// on every 2-byte input (whole, and byte by byte against the prefix
// reference) and every 3-byte input whose last byte is one of a few
// representatives (whole and split after the first byte).
func TestValidatorAllTwoByteSequences(t *testing.T) {
	lasts := []byte{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xE0, 0xF0, 0xFF}
	var buf [3]byte
	for a := range 256 {
		for b := range 256 {
			buf[0], buf[1] = byte(a), byte(b)
			check(t, buf[:2])
			for _, c := range lasts {
				buf[2] = c
				p := buf[:3]
				var v Validator
				ok := v.Write(p[:1]) && v.Write(p[1:]) && v.Complete()
				if ValidUTF8(p) != utf8.Valid(p) || ok != utf8.Valid(p) {
					t.Fatalf("%x: validator disagrees with utf8.Valid", p)
				}
			}
		}
	}
}

func check(t *testing.T, p []byte) {
	t.Helper()
	if ValidUTF8(p) != utf8.Valid(p) {
		t.Fatalf("ValidUTF8(%x) = %v", p, !utf8.Valid(p))
	}
	var v Validator
	for i := range p {
		if v.Write(p[i:i+1]) != validPrefixReference(p[:i+1]) {
			t.Fatalf("%x byte by byte: Write disagrees with the reference at %d", p, i)
		}
	}
	if v.Complete() != utf8.Valid(p) {
		t.Fatalf("%x byte by byte: Complete = %v", p, v.Complete())
	}
}

// TestValidatorRandom compares with unicode/utf8 on random mixtures of
// ASCII runs, valid code points and stray bytes, cut at random points.
func TestValidatorRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	runes := []rune{'a', 'é', '€', '𝄞', 0x10FFFF, 0x7FF, 0x800, 0xFFFF}
	for range 3000 {
		var sb strings.Builder
		for range r.IntN(40) {
			switch r.IntN(4) {
			case 0:
				sb.WriteString(strings.Repeat("x", r.IntN(20)))
			case 1, 2:
				sb.WriteRune(runes[r.IntN(len(runes))])
			default:
				if r.IntN(8) == 0 {
					sb.WriteByte(byte(r.Uint32()))
				}
			}
		}
		p := []byte(sb.String())
		var v Validator
		ok := true
		for rest := p; len(rest) > 0 && ok; {
			k := 1 + r.IntN(len(rest))
			ok = v.Write(rest[:k])
			rest = rest[k:]
		}
		if got := ok && v.Complete(); got != utf8.Valid(p) {
			t.Fatalf("%q: validator %v, utf8.Valid %v", p, got, !got)
		}
	}
}

func TestValidatorStickyAndReset(t *testing.T) {
	var v Validator
	if v.Write([]byte("\xff")) || v.Write([]byte("ok")) || v.Complete() {
		t.Fatalf("an invalid validator accepted more text")
	}
	v.Reset()
	if !v.Write([]byte("ok")) || !v.Complete() {
		t.Fatalf("Reset did not clear the state")
	}
	if !v.Write([]byte("\xe2")) || v.Complete() {
		t.Fatalf("an open code point counted as complete")
	}
}

func BenchmarkUTF8(b *testing.B) {
	ascii := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 92))[:4096]
	mixed := []byte(strings.Repeat("Größe κόσμε 日本語 ok 𝄞 ", 200))[:4096]
	for len(mixed) > 0 && !utf8.Valid(mixed) {
		mixed = mixed[:len(mixed)-1]
	}
	for _, c := range []struct {
		name string
		p    []byte
	}{{"ascii-4KiB", ascii}, {"mixed-4KiB", mixed}, {"ascii-64B", ascii[:64]}} {
		b.Run("validator/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.p)))
			b.ReportAllocs()
			for b.Loop() {
				if !ValidUTF8(c.p) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run("unicode-utf8/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.p)))
			b.ReportAllocs()
			for b.Loop() {
				if !utf8.Valid(c.p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
