package frame

import (
	"compress/flate"
	"strings"
	"testing"
)

// BenchmarkDecode decodes one masked frame per iteration, as a server
// does. The buffer is decoded in place again each time (unmasking twice
// restores it, so text stays ASCII with a zero key).
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		op   Opcode
		size int
		key  [4]byte
	}{
		{"binary-64B", Binary, 64, testKey},
		{"binary-4KiB", Binary, 4096, testKey},
		{"text-64B", Text, 64, [4]byte{}},
		{"text-4KiB", Text, 4096, [4]byte{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			wire := AppendFrame(nil, Header{Fin: true, Opcode: c.op, Masked: true, Key: c.key}, []byte(payloadOf(c.size)))
			var d Decoder
			d.Init(Config{})
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				ev, n, err := d.Next(wire)
				if err != nil || n != len(wire) || !ev.Final || len(ev.Payload) != c.size {
					b.Fatalf("%+v %d %v", ev, n, err)
				}
			}
		})
	}
}

func BenchmarkParseHeader(b *testing.B) {
	wire := AppendHeader(nil, Header{Fin: true, Opcode: Binary, Masked: true, Key: testKey, Length: 4096})
	b.ReportAllocs()
	for b.Loop() {
		if _, n, err := ParseHeader(wire); n != len(wire) || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	payload := []byte(payloadOf(64))
	dst := make([]byte, 0, 128)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendFrame(dst[:0], Header{Fin: true, Opcode: Text, Masked: true, Key: testKey}, payload)
	}
}

func BenchmarkDeflate(b *testing.B) {
	for _, size := range []int{64, 4096} {
		m := []byte(strings.Repeat("{\"type\":\"update\",\"id\":12345,\"value\":\"some text\"} ", size/40+1)[:size])
		for _, takeover := range []bool{true, false} {
			mode := "/takeover"
			if !takeover {
				mode = "/no-takeover"
			}
			c, _ := NewCompressor(flate.BestSpeed, takeover)
			wire := make([]byte, 0, 2*size+64)
			b.Run("compress-"+sizeName(size)+mode, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					wire = c.Compress(wire[:0], m)
				}
			})
			// The decompressor needs the compressor's context with
			// takeover, so each iteration inflates a fresh message.
			c2, _ := NewCompressor(flate.BestSpeed, takeover)
			d := NewDecompressor(takeover)
			out := make([]byte, 0, 64<<10)
			b.Run("roundtrip-"+sizeName(size)+mode, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					wire = c2.Compress(wire[:0], m)
					var err error
					if out, err = d.Decompress(out[:0], wire, 1<<20); err != nil || len(out) != size {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
