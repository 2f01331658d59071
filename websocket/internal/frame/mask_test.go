package frame

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestMaskRFCExample(t *testing.T) {
	b := []byte("Hello")
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	if pos := Mask(key, 0, b); pos != 1 {
		t.Fatalf("Mask returned %d, want 1", pos)
	}
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Fatalf("masked %x, want %x", b, want)
	}
}

// TestMaskWordsMatchesReference compares the fast path with the reference
// on every length 0..300, every start position and every alignment of the
// slice, with random keys.
func TestMaskWordsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	backing := make([]byte, 320)
	for n := 0; n <= 300; n++ {
		for pos := range 8 {
			for off := range 8 {
				key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
				for i := range backing {
					backing[i] = byte(r.Uint32())
				}
				a := backing[off : off+n]
				b := bytes.Clone(a)
				pa := maskWords(key, pos, a)
				pb := maskReference(key, pos, b)
				if pa != pb || pa != (pos+n)&3 || !bytes.Equal(a, b) {
					t.Fatalf("n=%d pos=%d off=%d: words gave %d %x, reference %d %x", n, pos, off, pa, a, pb, b)
				}
			}
		}
	}
}

// TestMaskInPieces: masking a payload in pieces with the returned position
// equals masking it whole, and masking twice restores it.
func TestMaskInPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		n := r.IntN(200)
		orig := make([]byte, n)
		for i := range orig {
			orig[i] = byte(r.Uint32())
		}
		key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		whole := bytes.Clone(orig)
		Mask(key, 0, whole)
		pieces := bytes.Clone(orig)
		pos := 0
		for rest := pieces; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			pos = Mask(key, pos, rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(whole, pieces) {
			t.Fatalf("pieces differ from whole for n=%d", n)
		}
		Mask(key, 0, whole)
		if !bytes.Equal(whole, orig) {
			t.Fatalf("masking twice did not restore n=%d", n)
		}
	}
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, size := range []int{16, 64, 1024, 4096, 65536} {
		buf := make([]byte, size+1)[1:] // unaligned on purpose
		b.Run("words/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				maskWords(key, 1, buf)
			}
		})
		b.Run("reference/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				maskReference(key, 1, buf)
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + "MiB"
	case n >= 1024 && n%1024 == 0:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
