package frame

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// payloadOf returns n bytes of printable ASCII that vary with n.
func payloadOf(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+n)%26)
	}
	return string(b)
}

// TestDecodeLengthBoundaries feeds sequences of frames whose lengths sit
// around every length-encoding boundary, for both roles, whole, in halves,
// in thirds and one byte at a time.
func TestDecodeLengthBoundaries(t *testing.T) {
	lengths := []int{0, 1, 2, 7, 8, 9, 124, 125, 126, 127, 128, 65534, 65535, 65536, 65537}
	for _, role := range []Role{Server, Client} {
		for _, n := range lengths {
			p := payloadOf(n)
			frames := []frameSpec{
				{fin: true, op: Binary, payload: p},
				{fin: true, op: Ping, payload: p[:min(n, 125)]},
				{fin: true, op: Text, payload: p},
				{fin: false, op: Binary, payload: p},
				{fin: true, op: Continuation, payload: "end"},
			}
			input := encode(role == Server, frames...)
			got, err := decodeWays(t, Config{Role: role}, input)
			want := []msg{
				{op: Binary, data: p},
				{op: Ping, data: p[:min(n, 125)]},
				{op: Text, data: p},
				{op: Binary, data: p + "end"},
			}
			if err != nil || !sameMsgs(got, want) {
				t.Fatalf("role %d length %d: got %v, %v; want %v", role, n, got, err, want)
			}
		}
	}
}

// TestDecodeEverySplit cuts a sequence of small frames at every pair of
// points.
func TestDecodeEverySplit(t *testing.T) {
	input := encode(true,
		frameSpec{fin: false, op: Text, payload: "κό"},
		frameSpec{fin: true, op: Ping, payload: "p"},
		frameSpec{fin: false, op: Continuation, payload: ""},
		frameSpec{fin: true, op: Continuation, payload: "σμε"},
		frameSpec{fin: true, op: Binary, payload: ""},
		frameSpec{fin: true, op: Close, payload: "\x03\xe8bye"},
	)
	want := []msg{{op: Ping, data: "p"}, {op: Text, data: "κόσμε"}, {op: Binary}, {op: Close, data: "\x03\xe8bye"}}
	var d Decoder
	for i := 0; i <= len(input); i++ {
		for j := i; j <= len(input); j++ {
			d.Init(Config{})
			got, err := feed(t, &d, input, []int{i, j})
			if err != nil || !sameMsgs(got, want) {
				t.Fatalf("cuts %d,%d: got %v, %v; want %v", i, j, got, err, want)
			}
		}
	}
}

// TestDecodeFragmentedWithControls checks event order: control frames that
// arrive between fragments are reported between the message's pieces.
func TestDecodeFragmentedWithControls(t *testing.T) {
	input := encode(true,
		frameSpec{fin: false, op: Text, payload: "Hel"},
		frameSpec{fin: true, op: Ping, payload: "1"},
		frameSpec{fin: true, op: Pong, payload: "2"},
		frameSpec{fin: true, op: Continuation, payload: "lo"},
	)
	var d Decoder
	var events []string
	buf := input
	for {
		ev, n, err := d.Next(buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[n:]
		if ev.Kind == EventNone {
			break
		}
		events = append(events, fmt.Sprintf("%v:%s:%v:%v", ev.Opcode, ev.Payload, ev.First, ev.Final))
	}
	want := "text:Hel:true:false ping:1:true:true pong:2:true:true text:lo:false:true"
	if got := strings.Join(events, " "); got != want || len(buf) != 0 {
		t.Fatalf("events %q (left %d), want %q", got, len(buf), want)
	}
}

// TestDecodeUTF8AcrossFragments splits a text message into two frames at
// every byte and checks that valid text passes and invalid text fails with
// 1007 whatever the split.
func TestDecodeUTF8AcrossFragments(t *testing.T) {
	valid := []string{"κόσμε", "\u0080\u07ff\u0800\uffff\U00010000\U0010ffff", "a€𝄞b"}
	invalid := []string{"\xce\xba\xe1", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "ab\xffcd", "\xe0\x80\xaf", "κ\xf8"}
	for _, s := range append(valid, invalid...) {
		ok := utf8.ValidString(s)
		for i := 0; i <= len(s); i++ {
			input := encode(true,
				frameSpec{fin: false, op: Text, payload: s[:i]},
				frameSpec{fin: true, op: Continuation, payload: s[i:]},
			)
			got, err := decodeWays(t, Config{}, input)
			if ok && (err != nil || !sameMsgs(got, []msg{{op: Text, data: s}})) {
				t.Fatalf("%q split at %d: %v, %v", s, i, got, err)
			}
			if !ok && (codeOf(err) != CloseInvalidPayload || len(got) != 0) {
				t.Fatalf("%q split at %d: %v, %v; want error 1007", s, i, got, err)
			}
		}
	}
}

// TestDecodeUTF8FailFast: an invalid byte is reported as soon as it
// arrives, before the message (or even the frame) is complete.
func TestDecodeUTF8FailFast(t *testing.T) {
	input := encode(false, frameSpec{fin: true, op: Text, payload: "hello \xf4\x90 and more text"})
	cut := bytes.Index(input, []byte{0x90}) + 1
	var d Decoder
	d.Init(Config{Role: Client})
	_, err := feed(t, &d, input[:cut], nil)
	if codeOf(err) != CloseInvalidPayload {
		t.Fatalf("err = %v, want 1007 before the frame is complete", err)
	}
	// An unfinished code point at the end of the message is an error too.
	input = encode(false, frameSpec{fin: true, op: Text, payload: "ends in \xe2\x82"})
	d.Init(Config{Role: Client})
	if _, err := feed(t, &d, input, nil); codeOf(err) != CloseInvalidPayload {
		t.Fatalf("incomplete code point at end: err = %v, want 1007", err)
	}
	// But not at the end of a fragment.
	input = encode(false, frameSpec{fin: false, op: Text, payload: "ends in \xe2\x82"}, frameSpec{fin: true, op: Continuation, payload: "\xac"})
	d.Init(Config{Role: Client})
	if got, err := feed(t, &d, input, nil); err != nil || !sameMsgs(got, []msg{{op: Text, data: "ends in €"}}) {
		t.Fatalf("code point across fragments: %v, %v", got, err)
	}
}

// TestDecodeViolations checks that every protocol violation gives the right
// close code, whole and split, and that nothing of a bad frame is reported.
func TestDecodeViolations(t *testing.T) {
	m, u := true, false // masked, unmasked
	cases := []struct {
		name  string
		cfg   Config
		input []byte
		code  int
	}{
		{"unmasked client frame", Config{Role: Server}, encode(u, frameSpec{fin: true, op: Text, payload: "x"}), 1002},
		{"masked server frame", Config{Role: Client}, encode(m, frameSpec{fin: true, op: Text, payload: "x"}), 1002},
		{"RSV1 without extension", Config{}, encode(m, frameSpec{fin: true, rsv: Rsv1, op: Text, payload: "x"}), 1002},
		{"RSV2", Config{Deflate: true}, encode(m, frameSpec{fin: true, rsv: Rsv2, op: Binary, payload: "x"}), 1002},
		{"RSV3", Config{Deflate: true}, encode(m, frameSpec{fin: true, rsv: Rsv3, op: Binary, payload: "x"}), 1002},
		{"RSV1 on continuation", Config{Deflate: true}, encode(m, frameSpec{op: Binary, rsv: Rsv1, payload: "x"}, frameSpec{fin: true, rsv: Rsv1, op: Continuation, payload: "y"}), 1002},
		{"RSV1 on ping", Config{Deflate: true}, encode(m, frameSpec{fin: true, rsv: Rsv1, op: Ping}), 1002},
		{"opcode 3", Config{}, encode(m, frameSpec{fin: true, op: 3}), 1002},
		{"opcode 7", Config{}, encode(m, frameSpec{fin: true, op: 7}), 1002},
		{"opcode 0xB", Config{}, encode(m, frameSpec{fin: true, op: 0xB}), 1002},
		{"opcode 0xF", Config{}, encode(m, frameSpec{fin: true, op: 0xF}), 1002},
		{"fragmented ping", Config{}, encode(m, frameSpec{fin: false, op: Ping, payload: "x"}), 1002},
		{"fragmented close", Config{}, encode(m, frameSpec{fin: false, op: Close}), 1002},
		{"ping of 126 bytes", Config{}, encode(m, frameSpec{fin: true, op: Ping, payload: payloadOf(126)}), 1002},
		{"pong of 65536 bytes", Config{}, encode(m, frameSpec{fin: true, op: Pong, payload: payloadOf(65536)}), 1002},
		{"close of one byte", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03"}), 1002},
		{"close code 999", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xe7"}), 1002},
		{"close code 1004", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xec"}), 1002},
		{"close code 1005", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xed"}), 1002},
		{"close code 1006", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xee"}), 1002},
		{"close code 1015", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xf7"}), 1002},
		{"close code 2999", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x0b\xb7"}), 1002},
		{"close code 5000", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x13\x88"}), 1002},
		{"close reason not UTF-8", Config{}, encode(m, frameSpec{fin: true, op: Close, payload: "\x03\xe8ab\xff"}), 1007},
		{"continuation without message", Config{}, encode(m, frameSpec{fin: true, op: Continuation, payload: "x"}), 1002},
		{"text inside fragmented message", Config{}, encode(m, frameSpec{op: Text, payload: "a"}, frameSpec{fin: true, op: Text, payload: "b"}), 1002},
		{"binary inside fragmented message", Config{}, encode(m, frameSpec{op: Binary, payload: "a"}, frameSpec{fin: true, op: Binary, payload: "b"}), 1002},
		{"continuation after a final frame", Config{}, encode(m, frameSpec{fin: true, op: Text, payload: "a"}, frameSpec{fin: true, op: Continuation, payload: "b"}), 1002},
		{"non-minimal 16-bit length", Config{}, encodeRaw(0x82, m, []byte{126, 0, 5}, []byte("hello")), 1002},
		{"non-minimal 64-bit length", Config{}, encodeRaw(0x82, m, []byte{127, 0, 0, 0, 0, 0, 0, 0, 5}, []byte("hello")), 1002},
		{"64-bit length with MSB", Config{}, encodeRaw(0x82, m, []byte{127, 0x80, 0, 0, 0, 0, 0, 0, 5}, nil), 1002},
		{"invalid UTF-8", Config{}, encode(m, frameSpec{fin: true, op: Text, payload: "a\xc3\x28"}), 1007},
		{"incomplete code point at end", Config{}, encode(m, frameSpec{fin: true, op: Text, payload: "\xf0\x9f\x98"}), 1007},
		{"message over the limit", Config{MaxMessageSize: 10}, encode(m, frameSpec{fin: true, op: Binary, payload: payloadOf(11)}), 1009},
		{"fragments over the limit", Config{MaxMessageSize: 10}, encode(m, frameSpec{op: Binary, payload: "12345"}, frameSpec{op: Continuation, payload: "67890"}, frameSpec{fin: true, op: Continuation, payload: "x"}), 1009},
		{"default limit", Config{}, encodeRaw(0x82, m, []byte{127, 0, 0, 0, 0, 1, 0, 0, 1}, nil), 1009},
		{"compressed over the limit and its slack", Config{MaxMessageSize: 1024, Deflate: true}, encode(m, frameSpec{fin: true, rsv: Rsv1, op: Binary, payload: payloadOf(1024 + 64 + 2)}), 1009},
		{"compressed fragments over the limit and its slack", Config{MaxMessageSize: 1024, Deflate: true}, encode(m, frameSpec{rsv: Rsv1, op: Binary, payload: payloadOf(1000)}, frameSpec{fin: true, op: Continuation, payload: payloadOf(91)}), 1009},
	}
	for _, c := range cases {
		got, err := decodeWays(t, c.cfg, c.input)
		if codeOf(err) != c.code {
			t.Fatalf("%s: err = %v, want close code %d", c.name, err, c.code)
		}
		for _, g := range got {
			if (g.op == Text || g.op == Binary) && g.data != "a" {
				t.Fatalf("%s: a message of the bad frames reached the caller: %v", c.name, g)
			}
		}
		// The error is sticky.
		var d Decoder
		d.Init(c.cfg)
		_, err1 := feed(t, &d, c.input, nil)
		ev, n, err2 := d.Next(encode(c.cfg.Role == Server, frameSpec{fin: true, op: Binary, payload: "ok"}))
		if err2 != err1 || n != 0 || ev.Kind != EventNone || d.Err() != err1 {
			t.Fatalf("%s: after the error Next gave %+v, %d, %v", c.name, ev, n, err2)
		}
	}
}

// TestDecodeFailsOnFirstBytes: header violations are found before the rest
// of the frame arrives.
func TestDecodeFailsOnFirstBytes(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		input []byte
	}{
		{"reserved opcode, first byte only", Config{}, []byte{0x83}},
		{"RSV2, first byte only", Config{}, []byte{0xA2}},
		{"continuation, first byte only", Config{}, []byte{0x80}},
		{"unmasked, two bytes", Config{Role: Server}, []byte{0x82, 0x05}},
		{"masked, two bytes", Config{Role: Client}, []byte{0x82, 0x85}},
		{"long ping, two bytes", Config{}, []byte{0x89, 0xFE}},
		{"over the limit, length only", Config{MaxMessageSize: 100}, []byte{0x82, 0xFE, 0x01, 0x00}},
	}
	for _, c := range cases {
		var d Decoder
		d.Init(c.cfg)
		if _, n, err := d.Next(c.input); err == nil || n != 0 {
			t.Fatalf("%s: n=%d err=%v, want an error at once", c.name, n, err)
		}
	}
}

func TestDecodeValidCloseCodes(t *testing.T) {
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		payload := string([]byte{byte(code >> 8), byte(code)}) + "reason"
		got, err := decodeWays(t, Config{}, encode(true, frameSpec{fin: true, op: Close, payload: payload}))
		if err != nil || !sameMsgs(got, []msg{{op: Close, data: payload}}) {
			t.Fatalf("code %d: %v, %v", code, got, err)
		}
	}
	got, err := decodeWays(t, Config{}, encode(true, frameSpec{fin: true, op: Close}))
	if err != nil || !sameMsgs(got, []msg{{op: Close}}) {
		t.Fatalf("empty close: %v, %v", got, err)
	}
}

func TestDecodeLimits(t *testing.T) {
	exact := encode(true, frameSpec{op: Binary, payload: "12345"}, frameSpec{fin: true, op: Continuation, payload: "67890"})
	if got, err := decodeWays(t, Config{MaxMessageSize: 10}, exact); err != nil || !sameMsgs(got, []msg{{op: Binary, data: "1234567890"}}) {
		t.Fatalf("message at the limit: %v, %v", got, err)
	}
	// The limit is per message: two messages of 10 bytes pass.
	if got, err := decodeWays(t, Config{MaxMessageSize: 10}, append(bytes.Clone(exact), exact...)); err != nil || len(got) != 2 {
		t.Fatalf("two messages at the limit: %v, %v", got, err)
	}
	// Control frames do not count.
	withPing := encode(true, frameSpec{op: Binary, payload: "12345"}, frameSpec{fin: true, op: Ping, payload: payloadOf(125)}, frameSpec{fin: true, op: Continuation, payload: "67890"})
	if _, err := decodeWays(t, Config{MaxMessageSize: 10}, withPing); err != nil {
		t.Fatalf("ping inside a message at the limit: %v", err)
	}
	// A negative limit means none.
	big := encodeRaw(0x82, true, []byte{127, 0, 0, 0, 0, 0x40, 0, 0, 0}, nil)
	var d Decoder
	d.Init(Config{MaxMessageSize: -1})
	if ev, n, err := d.Next(big); err != nil || n != len(big) || ev.Kind != EventNone || !d.InMessage() {
		t.Fatalf("1 GiB frame without limit: %+v %d %v", ev, n, err)
	}
}

func TestDecodeNonMinimalAllowed(t *testing.T) {
	input := append(encodeRaw(0x82, true, []byte{126, 0, 5}, []byte("hello")), encodeRaw(0x81, true, []byte{127, 0, 0, 0, 0, 0, 0, 0, 2}, []byte("hi"))...)
	got, err := decodeWays(t, Config{AllowNonMinimalLength: true}, input)
	if err != nil || !sameMsgs(got, []msg{{op: Binary, data: "hello"}, {op: Text, data: "hi"}}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestDecodeCompressedFlag(t *testing.T) {
	// Compressed text is not checked as UTF-8 by the decoder.
	input := encode(true,
		frameSpec{rsv: Rsv1, op: Text, payload: "\xff\xfe"},
		frameSpec{fin: true, op: Continuation, payload: "\x00"},
		frameSpec{fin: true, op: Text, payload: "plain"},
	)
	got, err := decodeWays(t, Config{Deflate: true}, input)
	want := []msg{{op: Text, data: "\xff\xfe\x00", compressed: true}, {op: Text, data: "plain"}}
	if err != nil || !sameMsgs(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

func TestDecoderZeroValueIsServer(t *testing.T) {
	var d Decoder
	got, err := feed(t, &d, encode(true, frameSpec{fin: true, op: Text, payload: "hi"}), nil)
	if err != nil || !sameMsgs(got, []msg{{op: Text, data: "hi"}}) {
		t.Fatalf("zero Decoder: %v, %v", got, err)
	}
	var d2 Decoder
	if _, err := feed(t, &d2, encode(false, frameSpec{fin: true, op: Text, payload: "hi"}), nil); codeOf(err) != 1002 {
		t.Fatalf("zero Decoder accepted an unmasked frame: %v", err)
	}
}

// TestDecodeUnmasksInPlace: the payload is the caller's bytes, unmasked.
func TestDecodeUnmasksInPlace(t *testing.T) {
	input := encode(true, frameSpec{fin: true, op: Binary, payload: "in place"})
	var d Decoder
	ev, n, err := d.Next(input)
	if err != nil || n != len(input) || string(ev.Payload) != "in place" || &ev.Payload[0] != &input[6] {
		t.Fatalf("event %+v n=%d err=%v", ev, n, err)
	}
	if string(input[6:]) != "in place" {
		t.Fatalf("input not unmasked in place: %q", input[6:])
	}
}

// TestDecodeControlWaitsWhole: a control frame is not consumed until it is
// all there, and then comes out whole.
func TestDecodeControlWaitsWhole(t *testing.T) {
	input := encode(true, frameSpec{fin: true, op: Ping, payload: payloadOf(125)})
	var d Decoder
	for i := 0; i < len(input); i++ {
		if ev, n, err := d.Next(input[:i]); err != nil || n != 0 || ev.Kind != EventNone {
			t.Fatalf("prefix %d: %+v %d %v", i, ev, n, err)
		}
	}
	ev, n, err := d.Next(input)
	if err != nil || n != len(input) || ev.Kind != EventControl || string(ev.Payload) != payloadOf(125) {
		t.Fatalf("whole: %+v %d %v", ev, n, err)
	}
}

// A compressed message may exceed MaxMessageSize on the wire by
// DeflateSlack (incompressible data grows a little), and not by more; an
// uncompressed one may not exceed it at all.
func TestCompressedLimitAllowsDeflateOverhead(t *testing.T) {
	const max = 1024
	limit := max + DeflateSlack(max)
	cfg := Config{Role: Server, MaxMessageSize: max, Deflate: true}
	for _, tc := range []struct {
		rsv  byte
		size int64
		ok   bool
	}{
		{Rsv1, limit, true},
		{Rsv1, limit + 1, false},
		{0, max, true},
		{0, max + 1, false},
	} {
		var d Decoder
		d.Init(cfg)
		in := encode(true, frameSpec{fin: true, rsv: tc.rsv, op: Binary, payload: payloadOf(int(tc.size))})
		_, err := feed(t, &d, in, nil)
		if tc.ok && err != nil || !tc.ok && codeOf(err) != CloseMessageTooBig {
			t.Fatalf("rsv %#x, %d bytes (limit %d): err = %v, want ok=%v", tc.rsv, tc.size, limit, err, tc.ok)
		}
	}
}

// TestDecoderSize pins the size the Decoder's doc states (on 64-bit
// platforms).
func TestDecoderSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the stated size is for 64-bit platforms")
	}
	if got := unsafe.Sizeof(Decoder{}); got != 104 {
		t.Fatalf("unsafe.Sizeof(Decoder{}) = %d, the doc says 104: update both", got)
	}
}
