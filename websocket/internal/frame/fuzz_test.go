package frame

import (
	"bytes"
	"compress/flate"
	"testing"
	"unicode/utf8"
)

// FuzzDecoder checks that decoding does not depend on how the input is
// split (whole, at two fuzzer-chosen points, one byte at a time), that
// every error is an *Error with a close code of 1002, 1007 or 1009, and
// that every text message delivered is valid UTF-8 and within the limit.
func FuzzDecoder(f *testing.F) {
	seeds := [][]byte{
		encode(true, frameSpec{fin: true, op: Text, payload: "Hello"}),
		encode(true, frameSpec{op: Text, payload: "κό"}, frameSpec{fin: true, op: Ping, payload: "p"}, frameSpec{fin: true, op: Continuation, payload: "σμε"}),
		encode(true, frameSpec{fin: true, op: Close, payload: "\x03\xe8bye"}),
		encode(true, frameSpec{fin: true, op: Binary, payload: payloadOf(130)}),
		encode(false, frameSpec{fin: true, rsv: Rsv1, op: Binary, payload: "\xf2\x48\xcd\xc9\xc9\x07\x00"}),
		encodeRaw(0x82, true, []byte{126, 0, 5}, []byte("hello")),
	}
	for i, s := range seeds {
		f.Add(s, uint16(len(s)/3), uint16(len(s)/2), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16, flags uint8) {
		if len(data) > 4096 {
			return
		}
		cfg := Config{
			Role:                  Role(flags & 1),
			Deflate:               flags&2 != 0,
			AllowNonMinimalLength: flags&4 != 0,
			MaxMessageSize:        int64(flags>>3) * 40,
		}
		limit := cfg.MaxMessageSize
		if limit == 0 {
			limit = DefaultMaxMessageSize
		}
		var d Decoder
		d.Init(cfg)
		want, wantErr := feed(t, &d, bytes.Clone(data), nil)
		for _, cuts := range [][]int{{int(c1) % (len(data) + 1), int(c2) % (len(data) + 1)}, bytewise(len(data))} {
			d.Init(cfg)
			got, err := feed(t, &d, bytes.Clone(data), cuts)
			if !sameMsgs(got, want) || !sameErr(err, wantErr) {
				t.Fatalf("cuts %v: %v, %v; whole: %v, %v", cuts, got, err, want, wantErr)
			}
		}
		if wantErr != nil && wantErr != errTruncated {
			if c := codeOf(wantErr); c != 1002 && c != 1007 && c != 1009 {
				t.Fatalf("error %v has close code %d", wantErr, c)
			}
		}
		for _, m := range want {
			if m.op == Text && !m.compressed && !utf8.ValidString(m.data) {
				t.Fatalf("invalid text delivered: %q", m.data)
			}
			if !m.op.IsControl() && int64(len(m.data)) > limit {
				t.Fatalf("message of %d bytes over the limit %d", len(m.data), limit)
			}
			if m.op.IsControl() && len(m.data) > MaxControlPayload {
				t.Fatalf("control frame of %d bytes", len(m.data))
			}
		}
	})
}

// FuzzUTF8 compares Validator, fed in three pieces, with unicode/utf8:
// after each piece with the prefix reference, at the end with utf8.Valid.
func FuzzUTF8(f *testing.F) {
	for _, c := range utf8Cases {
		f.Add([]byte(c.s), uint16(len(c.s)/3), uint16(len(c.s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16) {
		i := int(c1) % (len(data) + 1)
		j := i + int(c2)%(len(data)-i+1)
		var v Validator
		ok := true
		bounds := []int{0, i, j, len(data)}
		for k := 1; k < len(bounds) && ok; k++ {
			ok = v.Write(data[bounds[k-1]:bounds[k]])
			if ok != validPrefixReference(data[:bounds[k]]) {
				t.Fatalf("%x: Write up to %d = %v, reference %v", data, bounds[k], ok, !ok)
			}
		}
		if got := ok && v.Complete(); got != utf8.Valid(data) || ValidUTF8(data) != utf8.Valid(data) {
			t.Fatalf("%x: validator %v, utf8.Valid %v", data, got, utf8.Valid(data))
		}
	})
}

// FuzzMask compares the word-at-a-time masking with the reference.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello, masking!"), uint32(0x37fa213d), uint8(0), uint8(0))
	f.Add(make([]byte, 100), uint32(0xffffffff), uint8(3), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, key uint32, pos, off uint8) {
		k := [4]byte{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}
		o := int(off) % (len(data) + 1)
		a := bytes.Clone(data)
		b := bytes.Clone(data)
		pa := maskWords(k, int(pos), a[o:])
		pb := maskReference(k, int(pos), b[o:])
		if pa != pb || !bytes.Equal(a, b) {
			t.Fatalf("words %d %x, reference %d %x", pa, a, pb, b)
		}
		if Mask(k, int(pos), a[o:]); !bytes.Equal(a, data) {
			t.Fatalf("masking twice did not restore the data")
		}
	})
}

// FuzzDeflate round-trips the input through a Compressor and Decompressor
// (both context modes), and inflates the raw input as a peer's message:
// that must not panic, must respect the limit and may only fail with 1007
// or 1009.
func FuzzDeflate(f *testing.F) {
	f.Add([]byte("Hello"), true)
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false)
	f.Add(bytes.Repeat([]byte("abcabcabd"), 50), true)
	f.Fuzz(func(t *testing.T, data []byte, takeover bool) {
		if len(data) > 1<<16 {
			return
		}
		c, _ := NewCompressor(flate.BestSpeed, takeover)
		d := NewDecompressor(takeover)
		for range 2 {
			wire := c.Compress(nil, data)
			out, err := d.Decompress(nil, wire, len(data))
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip: %v", err)
			}
		}
		out, err := NewDecompressor(takeover).Decompress(nil, data, 1000)
		if len(out) > 1001 {
			t.Fatalf("inflated %d bytes past the limit", len(out))
		}
		if err != nil && codeOf(err) != CloseInvalidPayload && codeOf(err) != CloseMessageTooBig {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzNegotiate checks that whatever a client offers, a server response is
// one that ParseDeflateResponse accepts with the parameters the server
// agreed (given the client's offer of no_context_takeover flags).
func FuzzNegotiate(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits", false, false)
	f.Add(`x, permessage-deflate; server_no_context_takeover; client_max_window_bits="9"`, true, false)
	f.Add("permessage-deflate; server_max_window_bits=15; client_no_context_takeover", false, true)
	f.Fuzz(func(t *testing.T, offer string, s, c bool) {
		resp, p, ok := NegotiateDeflate(offer, DeflateConfig{ServerNoContextTakeover: s, ClientNoContextTakeover: c})
		if !ok {
			if resp != "" {
				t.Fatalf("declined with a response %q", resp)
			}
			return
		}
		if p.ServerMaxWindowBits != 15 {
			t.Fatalf("accepted a server window of %d bits", p.ServerMaxWindowBits)
		}
		cp, cok, err := ParseDeflateResponse(resp, DeflateConfig{})
		if err != nil || !cok {
			t.Fatalf("response %q to %q rejected: %v", resp, offer, err)
		}
		if cp.ServerNoContextTakeover != p.ServerNoContextTakeover || cp.ClientNoContextTakeover != p.ClientNoContextTakeover {
			t.Fatalf("client reads %+v from %q, server agreed %+v", cp, resp, p)
		}
	})
}
