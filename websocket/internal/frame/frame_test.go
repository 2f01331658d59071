package frame

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// The examples of RFC 6455 section 5.7.
var rfcFrames = []struct {
	name    string
	wire    string // hex
	h       Header
	payload string
}{
	{name: "unmasked text", wire: "810548656c6c6f", h: Header{Fin: true, Opcode: Text, Length: 5}, payload: "Hello"},
	{name: "masked text", wire: "818537fa213d7f9f4d5158", h: Header{Fin: true, Opcode: Text, Masked: true, Length: 5, Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, payload: "Hello"},
	{name: "first fragment", wire: "010348656c", h: Header{Opcode: Text, Length: 3}, payload: "Hel"},
	{name: "last fragment", wire: "80026c6f", h: Header{Fin: true, Opcode: Continuation, Length: 2}, payload: "lo"},
	{name: "unmasked ping", wire: "890548656c6c6f", h: Header{Fin: true, Opcode: Ping, Length: 5}, payload: "Hello"},
	{name: "masked pong", wire: "8a8537fa213d7f9f4d5158", h: Header{Fin: true, Opcode: Pong, Masked: true, Length: 5, Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, payload: "Hello"},
}

func TestParseHeaderRFCExamples(t *testing.T) {
	for _, c := range rfcFrames {
		wire, _ := hex.DecodeString(c.wire)
		h, n, err := ParseHeader(wire)
		if err != nil || h != c.h || n != len(wire)-len(c.payload) {
			t.Fatalf("%s: ParseHeader = %+v, %d, %v; want %+v, %d", c.name, h, n, err, c.h, len(wire)-len(c.payload))
		}
		p := bytes.Clone(wire[n:])
		if h.Masked {
			Mask(h.Key, 0, p)
		}
		if string(p) != c.payload {
			t.Fatalf("%s: payload %q, want %q", c.name, p, c.payload)
		}
		if got := AppendFrame(nil, c.h, []byte(c.payload)); !bytes.Equal(got, wire) {
			t.Fatalf("%s: AppendFrame = %x, want %x", c.name, got, wire)
		}
		// Every strict prefix of the header needs more input.
		for i := range n {
			if _, m, err := ParseHeader(wire[:i]); m != 0 || err != nil {
				t.Fatalf("%s: prefix %d: n=%d err=%v, want need-more", c.name, i, m, err)
			}
		}
	}
}

func TestHeaderLengthEncodings(t *testing.T) {
	cases := []struct {
		length int64
		wire   string // header after the first byte, unmasked
	}{
		{0, "00"}, {1, "01"}, {125, "7d"},
		{126, "7e007e"}, {127, "7e007f"}, {256, "7e0100"}, {65535, "7effff"},
		{65536, "7f0000000000010000"},
		{1<<63 - 1, "7f7fffffffffffffff"},
	}
	for _, c := range cases {
		want, _ := hex.DecodeString("82" + c.wire)
		got := AppendHeader(nil, Header{Fin: true, Opcode: Binary, Length: c.length})
		if !bytes.Equal(got, want) {
			t.Fatalf("length %d: AppendHeader = %x, want %x", c.length, got, want)
		}
		h, n, err := ParseHeader(got)
		if err != nil || n != len(want) || h.Length != c.length || h.Len() != n {
			t.Fatalf("length %d: ParseHeader = %+v, %d, %v (Len %d)", c.length, h, n, err, h.Len())
		}
		masked := AppendHeader(nil, Header{Fin: true, Opcode: Binary, Length: c.length, Masked: true, Key: testKey})
		if len(masked) != len(want)+4 || masked[1]&0x80 == 0 || !bytes.Equal(masked[len(masked)-4:], testKey[:]) {
			t.Fatalf("length %d: masked header %x", c.length, masked)
		}
	}
}

func TestParseHeaderRejects(t *testing.T) {
	cases := []struct {
		name string
		wire string
	}{
		{"16-bit length 0", "827e0000"},
		{"16-bit length 125", "827e007d"},
		{"64-bit length 126", "827f000000000000007e"},
		{"64-bit length 65535", "827f000000000000ffff"},
		{"64-bit length with MSB", "827f8000000000000000"},
		{"64-bit length all ones", "827fffffffffffffffff"},
	}
	for _, c := range cases {
		wire, _ := hex.DecodeString(c.wire)
		_, n, err := ParseHeader(wire)
		if n != 0 || codeOf(err) != CloseProtocolError {
			t.Fatalf("%s: n=%d err=%v, want a 1002 error", c.name, n, err)
		}
	}
	// The lax form accepts non-minimal lengths but never the MSB.
	wire, _ := hex.DecodeString("827e007d")
	if h, n, err := parseHeader(wire, true); err != nil || n != 4 || h.Length != 125 {
		t.Fatalf("lax 16-bit 125: %+v %d %v", h, n, err)
	}
	wire, _ = hex.DecodeString("827f8000000000000000")
	if _, _, err := parseHeader(wire, true); codeOf(err) != CloseProtocolError {
		t.Fatalf("lax MSB: err=%v", err)
	}
}

func TestHeaderRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int64{0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 65537, 1 << 32, 1<<63 - 1}
	for i := range 5000 {
		h := Header{
			Fin:    r.IntN(2) == 0,
			Rsv:    byte(r.IntN(8)) << 4,
			Opcode: Opcode(r.IntN(16)),
			Masked: r.IntN(2) == 0,
			Length: lengths[i%len(lengths)],
		}
		if h.Masked {
			h.Key = [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		}
		wire := AppendHeader([]byte("prefix"), h)
		if string(wire[:6]) != "prefix" {
			t.Fatalf("AppendHeader overwrote dst")
		}
		got, n, err := ParseHeader(append(wire[6:], 0xAA, 0xBB))
		if err != nil || got != h || n != len(wire)-6 || n != h.Len() {
			t.Fatalf("round trip of %+v: %+v, %d, %v", h, got, n, err)
		}
	}
}

func TestAppendFrameLeavesPayload(t *testing.T) {
	payload := []byte("some payload that is longer than eight bytes")
	orig := bytes.Clone(payload)
	wire := AppendFrame(nil, Header{Fin: true, Opcode: Binary, Masked: true, Key: testKey}, payload)
	if !bytes.Equal(payload, orig) {
		t.Fatalf("AppendFrame changed its payload argument")
	}
	h, n, err := ParseHeader(wire)
	if err != nil || h.Length != int64(len(payload)) {
		t.Fatalf("ParseHeader: %+v %v", h, err)
	}
	body := bytes.Clone(wire[n:])
	if bytes.Equal(body, payload) {
		t.Fatalf("payload was not masked on the wire")
	}
	Mask(h.Key, 0, body)
	if !bytes.Equal(body, payload) {
		t.Fatalf("unmasked %q, want %q", body, payload)
	}
}

func TestOpcodeNames(t *testing.T) {
	want := map[Opcode]string{0: "continuation", 1: "text", 2: "binary", 3: "opcode(03)", 8: "close", 9: "ping", 10: "pong", 11: "opcode(11)", 15: "opcode(15)"}
	for op, s := range want {
		if op.String() != s {
			t.Fatalf("Opcode(%d).String() = %q, want %q", op, op.String(), s)
		}
	}
	for op := range Opcode(16) {
		known := op <= 2 || op >= 8 && op <= 10
		if op.IsKnown() != known || op.IsControl() != (op >= 8) {
			t.Fatalf("opcode %d: IsKnown=%v IsControl=%v", op, op.IsKnown(), op.IsControl())
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Code: 1002, Reason: "reserved opcode"}
	if got := e.Error(); got != "websocket: reserved opcode (close 1002)" {
		t.Fatalf("Error() = %q", got)
	}
}
