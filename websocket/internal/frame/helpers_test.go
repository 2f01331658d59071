package frame

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"unsafe"
)

// msg is a message or control frame as a test expects to receive it.
type msg struct {
	op         Opcode
	data       string
	compressed bool
}

func (m msg) String() string {
	return fmt.Sprintf("%v%s(%d)%q", m.op, map[bool]string{true: "+z"}[m.compressed], len(m.data), trunc(m.data))
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// feed runs d over input delivered in the pieces cut at the given offsets,
// the way a connection on a loop does: unconsumed bytes are kept and the
// next piece appended. It checks the event invariants (payload is a
// subslice of the buffer, First/Final order, opcodes) and returns the
// messages and control frames in order, and the error.
func feed(t testing.TB, d *Decoder, input []byte, cuts []int) ([]msg, error) {
	t.Helper()
	var out []msg
	var buf []byte
	var cur *msg
	var data []byte // payload of cur so far
	prev := 0
	cuts = append(cuts, len(input))
	for _, c := range cuts {
		if c < prev {
			continue
		}
		buf = append(buf, input[prev:c]...)
		prev = c
		for {
			ev, n, err := d.Next(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Next consumed %d of %d bytes", n, len(buf))
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not an *Error", err)
				}
				return out, err
			}
			if ev.Kind != EventNone && len(ev.Payload) > 0 {
				if !within(ev.Payload, buf[:n]) {
					t.Fatalf("payload is not a subslice of the consumed input")
				}
			}
			switch ev.Kind {
			case EventControl:
				if !ev.Opcode.IsControl() || !ev.First || !ev.Final {
					t.Fatalf("bad control event %+v", ev)
				}
				out = append(out, msg{op: ev.Opcode, data: string(ev.Payload)})
			case EventData:
				if ev.Opcode != Text && ev.Opcode != Binary {
					t.Fatalf("data event with opcode %v", ev.Opcode)
				}
				if ev.First != (cur == nil) {
					t.Fatalf("First=%v while a message is open=%v", ev.First, cur != nil)
				}
				if cur == nil {
					cur = &msg{op: ev.Opcode, compressed: ev.Compressed}
					data = data[:0]
				} else if cur.op != ev.Opcode || cur.compressed != ev.Compressed {
					t.Fatalf("message changed type mid-way: %+v then %+v", cur, ev)
				}
				data = append(data, ev.Payload...)
				if ev.Final {
					cur.data = string(data)
					out = append(out, *cur)
					cur = nil
				}
				if d.InMessage() != !ev.Final {
					t.Fatalf("InMessage()=%v after an event with Final=%v", d.InMessage(), ev.Final)
				}
			}
			buf = buf[n:]
			if ev.Kind == EventNone {
				break
			}
		}
		// Keep the unconsumed bytes at a new address, as a loop's
		// per-connection buffer does: the decoder must keep no pointers.
		buf = append([]byte(nil), buf...)
	}
	if len(buf) != 0 {
		return out, errTruncated
	}
	if cur != nil {
		return out, errTruncated
	}
	return out, nil
}

var errTruncated = errors.New("input ended inside a frame or message")

// within reports whether p lies inside buf.
func within(p, buf []byte) bool {
	if len(p) == 0 || len(buf) == 0 {
		return false
	}
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p0 := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return p0 >= b0 && p0+uintptr(len(p)) <= b0+uintptr(len(buf))
}

// decodeWays decodes input whole, one byte at a time, and cut at a few
// places, and checks that all give the same messages and error.
func decodeWays(t testing.TB, cfg Config, input []byte) ([]msg, error) {
	t.Helper()
	var d Decoder
	d.Init(cfg)
	want, wantErr := feed(t, &d, input, nil)
	ways := map[string][]int{
		"bytewise": bytewise(len(input)),
		"halves":   {len(input) / 2},
		"thirds":   {len(input) / 3, 2 * len(input) / 3},
	}
	for name, cuts := range ways {
		d.Init(cfg)
		got, err := feed(t, &d, input, cuts)
		if !sameMsgs(got, want) || !sameErr(err, wantErr) {
			t.Fatalf("%s: got %v, %v; whole gave %v, %v", name, got, err, want, wantErr)
		}
	}
	return want, wantErr
}

func bytewise(n int) []int {
	cuts := make([]int, n)
	for i := range cuts {
		cuts[i] = i
	}
	return cuts
}

func sameMsgs(a, b []msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return codeOf(a) == codeOf(b) && a.Error() == b.Error()
}

func codeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// frameSpec describes one frame for the encoder used by the tests.
type frameSpec struct {
	fin     bool
	rsv     byte
	op      Opcode
	payload string
}

var testKey = [4]byte{0x37, 0xFA, 0x21, 0x3D}

// encode builds frames, masked with testKey when masked is set.
func encode(masked bool, frames ...frameSpec) []byte {
	var b []byte
	for _, f := range frames {
		b = AppendFrame(b, Header{Fin: f.fin, Rsv: f.rsv, Opcode: f.op, Masked: masked, Key: testKey}, []byte(f.payload))
	}
	return b
}

// encodeRaw writes a header by hand (any length encoding) and the payload.
func encodeRaw(b0 byte, masked bool, lenBytes []byte, payload []byte) []byte {
	b := []byte{b0}
	b1 := lenBytes[0]
	if masked {
		b1 |= 0x80
	}
	b = append(b, b1)
	b = append(b, lenBytes[1:]...)
	p := bytes.Clone(payload)
	if masked {
		b = append(b, testKey[:]...)
		maskReference(testKey, 0, p)
	}
	return append(b, p...)
}
