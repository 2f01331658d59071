package frame

import "encoding/binary"

// Mask applies the WebSocket masking (RFC 6455 section 5.3) to b in place:
// byte i of b is XORed with key[(pos+i)%4]. pos is the offset of b[0] in
// the frame payload, so a payload can be masked in pieces; Mask returns the
// offset to pass for the next piece, (pos+len(b))%4. Masking and unmasking
// are the same operation. It works eight bytes at a time (unless built with
// the ioloop_purego tag), allocates nothing and may be called from any
// goroutine on bytes that goroutine owns.
func Mask(key [4]byte, pos int, b []byte) int {
	if useFast {
		return maskWords(key, pos, b)
	}
	return maskReference(key, pos, b)
}

// maskReference is the plain twin of maskWords: one byte at a time.
func maskReference(key [4]byte, pos int, b []byte) int {
	pos &= 3
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// maskWords masks eight bytes at a time with the key rotated to pos and
// repeated into a uint64. Unaligned loads through encoding/binary compile
// to single moves on the platforms that allow them, so alignment needs no
// prologue; the tail of fewer than eight bytes takes the key's low bytes.
func maskWords(key [4]byte, pos int, b []byte) int {
	pos &= 3
	n := len(b)
	if n < 8 {
		return maskReference(key, pos, b)
	}
	k32 := uint32(key[pos]) | uint32(key[(pos+1)&3])<<8 |
		uint32(key[(pos+2)&3])<<16 | uint32(key[(pos+3)&3])<<24
	k := uint64(k32) | uint64(k32)<<32
	for len(b) >= 32 {
		v0 := binary.LittleEndian.Uint64(b[0:8])
		v1 := binary.LittleEndian.Uint64(b[8:16])
		v2 := binary.LittleEndian.Uint64(b[16:24])
		v3 := binary.LittleEndian.Uint64(b[24:32])
		binary.LittleEndian.PutUint64(b[0:8], v0^k)
		binary.LittleEndian.PutUint64(b[8:16], v1^k)
		binary.LittleEndian.PutUint64(b[16:24], v2^k)
		binary.LittleEndian.PutUint64(b[24:32], v3^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(k)
		k >>= 8
	}
	return (pos + n) & 3
}
