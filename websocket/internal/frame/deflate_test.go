package frame

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNegotiateDeflate(t *testing.T) {
	cases := []struct {
		name     string
		offer    string
		cfg      DeflateConfig
		ok       bool
		response string
		params   DeflateParams
	}{
		{name: "plain", offer: "permessage-deflate", ok: true, response: "permessage-deflate",
			params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "browser", offer: "permessage-deflate; client_max_window_bits", ok: true, response: "permessage-deflate",
			params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "client window 10", offer: "permessage-deflate; client_max_window_bits=10", ok: true, response: "permessage-deflate",
			params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
		{name: "quoted value", offer: `permessage-deflate; client_max_window_bits="12"`, ok: true, response: "permessage-deflate",
			params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 12}},
		{name: "no context takeover both", offer: "permessage-deflate;server_no_context_takeover;client_no_context_takeover", ok: true,
			response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			params:   DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server config adds parameters", offer: "permessage-deflate", cfg: DeflateConfig{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, ok: true,
			response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			params:   DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server window 15 echoed", offer: "permessage-deflate; server_max_window_bits=15", ok: true,
			response: "permessage-deflate; server_max_window_bits=15", params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server window 10 declined", offer: "permessage-deflate; server_max_window_bits=10"},
		{name: "fallback to the second offer", offer: "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_no_context_takeover", ok: true,
			response: "permessage-deflate; client_no_context_takeover", params: DeflateParams{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "other extensions skipped", offer: "x-webkit-deflate-frame, permessage-deflate", ok: true, response: "permessage-deflate",
			params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "duplicate parameter", offer: "permessage-deflate; server_no_context_takeover; server_no_context_takeover"},
		{name: "duplicate window bits", offer: "permessage-deflate; client_max_window_bits=10; client_max_window_bits=11"},
		{name: "unknown parameter", offer: "permessage-deflate; foo=1"},
		{name: "window 7", offer: "permessage-deflate; client_max_window_bits=7"},
		{name: "window 16", offer: "permessage-deflate; client_max_window_bits=16"},
		{name: "window leading zero", offer: "permessage-deflate; client_max_window_bits=09"},
		{name: "server window without value", offer: "permessage-deflate; server_max_window_bits"},
		{name: "value on a flag", offer: "permessage-deflate; server_no_context_takeover=1"},
		{name: "no deflate offered", offer: "x-webkit-deflate-frame"},
		{name: "empty", offer: ""},
		{name: "syntax error", offer: "permessage-deflate; ;"},
		{name: "unterminated quote", offer: `permessage-deflate; client_max_window_bits="10`},
	}
	for _, c := range cases {
		resp, p, ok := NegotiateDeflate(c.offer, c.cfg)
		if ok != c.ok || resp != c.response || p != c.params {
			t.Fatalf("%s: got %q %+v %v; want %q %+v %v", c.name, resp, p, ok, c.response, c.params, c.ok)
		}
	}
}

func TestParseDeflateResponse(t *testing.T) {
	cases := []struct {
		name     string
		response string
		cfg      DeflateConfig
		ok       bool
		errCode  int
		params   DeflateParams
	}{
		{name: "declined", response: ""},
		{name: "plain", response: "permessage-deflate", ok: true, params: DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server window 9", response: "permessage-deflate; server_max_window_bits=9", ok: true, params: DeflateParams{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
		{name: "server asks client reset", response: "permessage-deflate; client_no_context_takeover", ok: true,
			params: DeflateParams{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "client offered reset", response: "permessage-deflate", cfg: DeflateConfig{ClientNoContextTakeover: true}, ok: true,
			params: DeflateParams{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server reset granted", response: "permessage-deflate; server_no_context_takeover", cfg: DeflateConfig{ServerNoContextTakeover: true}, ok: true,
			params: DeflateParams{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server reset dropped", response: "permessage-deflate", cfg: DeflateConfig{ServerNoContextTakeover: true}, errCode: 1002},
		{name: "client window not offered", response: "permessage-deflate; client_max_window_bits=15", errCode: 1002},
		{name: "unrequested extension", response: "permessage-deflate, x-foo", errCode: 1002},
		{name: "twice", response: "permessage-deflate, permessage-deflate", errCode: 1002},
		{name: "unknown parameter", response: "permessage-deflate; x=1", errCode: 1002},
		{name: "duplicate", response: "permessage-deflate; server_no_context_takeover; server_no_context_takeover", errCode: 1002},
		{name: "bad window", response: "permessage-deflate; server_max_window_bits=20", errCode: 1002},
		{name: "syntax", response: "permessage-deflate;", errCode: 1002},
	}
	for _, c := range cases {
		p, ok, err := ParseDeflateResponse(c.response, c.cfg)
		if codeOf(err) != c.errCode || ok != c.ok || (err == nil && p != c.params) {
			t.Fatalf("%s: got %+v %v %v; want %+v %v code %d", c.name, p, ok, err, c.params, c.ok, c.errCode)
		}
	}
	// What a server of this package answers, a client of this package
	// accepts with the same parameters.
	for _, cfg := range []DeflateConfig{{}, {ServerNoContextTakeover: true}, {ClientNoContextTakeover: true}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true}} {
		for _, scfg := range []DeflateConfig{{}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true}} {
			resp, sp, ok := NegotiateDeflate(DeflateOffer(cfg), scfg)
			cp, cok, err := ParseDeflateResponse(resp, cfg)
			if !ok || !cok || err != nil || sp != cp {
				t.Fatalf("client %+v server %+v: server %+v %v, client %+v %v %v", cfg, scfg, sp, ok, cp, cok, err)
			}
			if sp.ContextTakeover(Server) == (cfg.ServerNoContextTakeover || scfg.ServerNoContextTakeover) {
				t.Fatalf("ContextTakeover(Server) wrong for %+v", sp)
			}
		}
	}
}

// TestDecompressRFCExamples inflates the examples of RFC 7692 section 7.2.3.
func TestDecompressRFCExamples(t *testing.T) {
	hello := func(h string) []byte { b, _ := hex.DecodeString(h); return b }
	d := NewDecompressor(true)
	out, err := d.Decompress(nil, hello("f248cdc9c90700"), 100)
	if err != nil || string(out) != "Hello" {
		t.Fatalf("7.2.3.1: %q %v", out, err)
	}
	// 7.2.3.2: the same message again refers to the first one.
	out, err = d.Decompress(out[:0], hello("f200110000"), 100)
	if err != nil || string(out) != "Hello" {
		t.Fatalf("7.2.3.2 with context takeover: %q %v", out, err)
	}
	// 7.2.3.3: a stored block.
	out, err = NewDecompressor(false).Decompress(nil, hello("000500faff48656c6c6f00"), 100)
	if err != nil || string(out) != "Hello" {
		t.Fatalf("7.2.3.3: %q %v", out, err)
	}
	// 7.2.3.5: two deflate blocks in one message.
	out, err = NewDecompressor(false).Decompress(nil, hello("f24805000000ffffcac9c90700"), 100)
	if err != nil || string(out) != "Hello" {
		t.Fatalf("7.2.3.5: %q %v", out, err)
	}
}

func TestCompressEmptyMessage(t *testing.T) {
	c, err := NewCompressor(flate.BestSpeed, false)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Compress(nil, nil)
	// RFC 7692 7.2.3.6: an empty message compresses to a single 0x00.
	if !bytes.Equal(got, []byte{0x00}) {
		t.Fatalf("empty message compressed to %x", got)
	}
	out, err := NewDecompressor(false).Decompress(nil, got, 10)
	if err != nil || len(out) != 0 {
		t.Fatalf("inflate empty: %q %v", out, err)
	}
}

// inflateAlone inflates one message with a fresh compress/flate reader, as
// an independent peer without context takeover would.
func inflateAlone(t *testing.T, msg []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(msg), bytes.NewReader(deflateTail[:])))
	out, err := io.ReadAll(r)
	if err != io.ErrUnexpectedEOF && err != nil {
		t.Fatalf("independent inflate: %v", err)
	}
	return out
}

func testMessages() [][]byte {
	r := rand.New(rand.NewPCG(9, 10))
	var msgs [][]byte
	for _, n := range []int{0, 1, 5, 100, 4096, 70000, 300000} {
		text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog ", n/44+1)[:n])
		noise := make([]byte, n)
		for i := range noise {
			noise[i] = byte(r.Uint32())
		}
		msgs = append(msgs, text, noise, text)
	}
	return msgs
}

// TestDeflateRoundTrip compresses a series of messages and inflates them
// with every combination of context takeover, and checks the bytes.
func TestDeflateRoundTrip(t *testing.T) {
	msgs := testMessages()
	for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		for _, takeover := range []bool{true, false} {
			c, err := NewCompressor(level, takeover)
			if err != nil {
				t.Fatal(err)
			}
			d := NewDecompressor(takeover)
			var wire, out []byte
			for i, m := range msgs {
				wire = c.Compress(wire[:0], m)
				if !takeover && !bytes.Equal(inflateAlone(t, wire), m) {
					t.Fatalf("level %d message %d: an independent reader disagrees", level, i)
				}
				out, err = d.Decompress(out[:0], wire, len(m))
				if err != nil || !bytes.Equal(out, m) {
					t.Fatalf("level %d takeover %v message %d (%d bytes): %v, equal %v", level, takeover, i, len(m), err, bytes.Equal(out, m))
				}
			}
		}
	}
}

// TestDeflateContextTakeover: with takeover a repeated message refers to the
// previous one and shrinks; without, it costs the same each time.
func TestDeflateContextTakeover(t *testing.T) {
	m := []byte(strings.Repeat("context takeover keeps the window; ", 3) + "0123456789abcdefghijklmnopqrstuvwxyz")
	for _, takeover := range []bool{true, false} {
		c, _ := NewCompressor(flate.BestSpeed, takeover)
		first := len(c.Compress(nil, m))
		second := len(c.Compress(nil, m))
		if takeover && second*2 >= first {
			t.Fatalf("with takeover the second copy is %d bytes, the first %d", second, first)
		}
		if !takeover && second != first {
			t.Fatalf("without takeover the second copy is %d bytes, the first %d", second, first)
		}
	}
	// Messages from a compressor with takeover need the decompressor's
	// window: without it the second message does not inflate.
	c, _ := NewCompressor(flate.BestSpeed, true)
	w1 := c.Compress(nil, m)
	w2 := c.Compress(nil, m)
	d := NewDecompressor(false)
	if _, err := d.Decompress(nil, w1, 1000); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Decompress(nil, w2, 1000); err == nil && bytes.Equal(out, m) {
		t.Fatalf("a message that refers to the previous one inflated without the window")
	} else if err != nil && codeOf(err) != CloseInvalidPayload {
		t.Fatalf("err = %v, want 1007", err)
	}
}

// TestDecompressFinalBlock: a message ending with a final block inflates,
// and with context takeover the next stream may still refer to it.
func TestDecompressFinalBlock(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write([]byte("final block"))
	w.Close()
	// The second stream is compressed with the first one's text as its
	// dictionary, as a peer with context takeover that ends each message
	// with a final block would do.
	text := []byte("The only thing we have to fear is fear itself.")
	var buf2 bytes.Buffer
	w2, _ := flate.NewWriterDict(&buf2, flate.BestCompression, text)
	w2.Write(text)
	w2.Close()
	d := NewDecompressor(true)
	var buf1 bytes.Buffer
	w1, _ := flate.NewWriter(&buf1, flate.BestCompression)
	w1.Write(text)
	w1.Close()
	if out, err := d.Decompress(nil, buf1.Bytes(), 100); err != nil || !bytes.Equal(out, text) {
		t.Fatalf("first stream: %q %v", out, err)
	}
	if out, err := d.Decompress(nil, buf2.Bytes(), 100); err != nil || !bytes.Equal(out, text) {
		t.Fatalf("second stream with the first as window: %q %v", out, err)
	}
	if out, err := NewDecompressor(false).Decompress(nil, buf2.Bytes(), 100); err == nil && bytes.Equal(out, text) {
		t.Fatalf("the second stream inflated without its window")
	}
	for _, takeover := range []bool{true, false} {
		d := NewDecompressor(takeover)
		for i := range 3 {
			out, err := d.Decompress(nil, buf.Bytes(), 100)
			if err != nil || string(out) != "final block" {
				t.Fatalf("takeover %v message %d: %q %v", takeover, i, out, err)
			}
		}
	}
}

func TestDecompressBomb(t *testing.T) {
	c, _ := NewCompressor(flate.BestCompression, false)
	bomb := c.Compress(nil, make([]byte, 10<<20))
	if len(bomb) > 20<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	for _, limit := range []int{0, 1000, 1 << 20} {
		for _, takeover := range []bool{true, false} {
			out, err := NewDecompressor(takeover).Decompress(nil, bomb, limit)
			if codeOf(err) != CloseMessageTooBig {
				t.Fatalf("limit %d: err = %v, want 1009", limit, err)
			}
			if len(out) > limit+1 {
				t.Fatalf("limit %d: produced %d bytes (cap %d)", limit, len(out), cap(out))
			}
		}
	}
	// Exactly at the limit passes.
	small := c.Compress(nil, make([]byte, 5000))
	if out, err := NewDecompressor(false).Decompress(nil, small, 5000); err != nil || len(out) != 5000 {
		t.Fatalf("at the limit: %d %v", len(out), err)
	}
	if _, err := NewDecompressor(false).Decompress(nil, small, 4999); codeOf(err) != CloseMessageTooBig {
		t.Fatalf("one over the limit: %v", err)
	}
	// A negative limit means none.
	if out, err := NewDecompressor(false).Decompress(nil, small, -1); err != nil || len(out) != 5000 {
		t.Fatalf("no limit: %d %v", len(out), err)
	}
}

func TestDecompressCorrupt(t *testing.T) {
	c, _ := NewCompressor(flate.BestSpeed, false)
	good := c.Compress(nil, []byte(strings.Repeat("abc", 1000)))
	for _, bad := range [][]byte{
		{0xff, 0xff, 0xff},
		{0x07}, // reserved block type
		append([]byte{0x01, 0x05, 0x00, 0x00, 0x00}, "hello"...), // stored length check fails
	} {
		if _, err := NewDecompressor(false).Decompress(nil, bad, 1<<20); codeOf(err) != CloseInvalidPayload {
			t.Fatalf("%x: err = %v, want 1007", bad, err)
		}
	}
	// A message cut short either fails or inflates to something (the
	// format cannot always tell), within the limit and without a panic.
	for cut := range len(good) - 1 {
		out, err := NewDecompressor(false).Decompress(nil, good[:cut], 100)
		if len(out) > 101 || err != nil && codeOf(err) != CloseInvalidPayload && codeOf(err) != CloseMessageTooBig {
			t.Fatalf("cut at %d: %d bytes, %v", cut, len(out), err)
		}
	}
}

func TestNewCompressorLevels(t *testing.T) {
	for _, level := range []int{-3, 10} {
		if _, err := NewCompressor(level, true); err == nil || !strings.HasPrefix(err.Error(), "websocket: ") {
			t.Fatalf("level %d: err = %v", level, err)
		}
	}
}

// TestDeflateSteadyStateAllocs: with reused buffers, compressing and
// inflating allocate nothing once the flate state exists.
func TestDeflateSteadyStateAllocs(t *testing.T) {
	m := []byte(strings.Repeat("steady state message ", 50))
	for _, takeover := range []bool{true, false} {
		c, _ := NewCompressor(flate.BestSpeed, takeover)
		d := NewDecompressor(takeover)
		wire := make([]byte, 0, 4096)
		out := make([]byte, 0, 64<<10)
		run := func() {
			wire = c.Compress(wire[:0], m)
			var err error
			out, err = d.Decompress(out[:0], wire, 1<<20)
			if err != nil || !bytes.Equal(out, m) {
				t.Fatalf("round trip: %v", err)
			}
		}
		run()
		a := testing.AllocsPerRun(100, run)
		switch {
		case takeover && a != 0:
			t.Fatalf("takeover: %v allocations per message", a)
		case !takeover && !raceEnabled && a > 0.5:
			// Pools may lose their items to a garbage collection, and
			// under the race detector they drop items on purpose.
			t.Fatalf("no takeover: %v allocations per message", a)
		}
	}
}
