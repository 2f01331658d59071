package parse

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// wordByTable is the reference for valueWord and targetWord: all 8 bytes
// pass ok.
func wordByTable(x uint64, ok func(byte) bool) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	for _, c := range b {
		if !ok(c) {
			return false
		}
	}
	return true
}

func plainValue(c byte) bool  { return isValue[c] && c != '\t' }
func plainTarget(c byte) bool { return isTarget[c] }

// TestWordClassifiers puts every byte value at every position of words
// otherwise made of valid bytes (and of random bytes) and compares the
// word-at-a-time answers with the tables.
func TestWordClassifiers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fillers := []uint64{0x6161616161616161, 0x7e7e7e7e7e7e7e7e, 0x2121212121212121}
	for range 64 {
		fillers = append(fillers, rng.Uint64())
	}
	for _, fill := range fillers {
		for pos := range 8 {
			for c := range 256 {
				x := fill&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				if got, want := valueWord(x), wordByTable(x, plainValue); got != want {
					t.Fatalf("valueWord(%#016x) = %v, want %v", x, got, want)
				}
				if got, want := targetWord(x), wordByTable(x, plainTarget); got != want {
					t.Fatalf("targetWord(%#016x) = %v, want %v", x, got, want)
				}
			}
		}
	}
	for range 1 << 16 {
		x := rng.Uint64()
		if valueWord(x) != wordByTable(x, plainValue) || targetWord(x) != wordByTable(x, plainTarget) {
			t.Fatalf("word %#016x classified unlike the tables", x)
		}
	}
	if le64([]byte("HTTP/1.0")) != http10 || le64([]byte("HTTP/1.1")) != http11 {
		t.Fatal("version constants do not spell HTTP/1.0 and HTTP/1.1")
	}
}
