package wsinterop

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	ws "github.com/ioloop/ioloop/websocket"
)

// Tests of the benchmark harness itself: the raw client's frame checks, the
// registry, and each server child's echo and broadcast, so that no server
// is measured while it answers wrongly.

// frame returns a server frame (unmasked) with header byte b0 and payload p.
func frame(b0 byte, p []byte) []byte {
	out := []byte{b0}
	switch n := len(p); {
	case n < 126:
		out = append(out, byte(n))
	case n < 1<<16:
		out = append(out, 126, byte(n>>8), byte(n))
	default:
		out = append(out, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, p...)
}

func TestSeqPayload(t *testing.T) {
	for _, c := range []struct {
		seq  uint64
		tail string
	}{{seq: 1, tail: "0001"}, {seq: 42, tail: "0042"}, {seq: 1234567, tail: "01234567"}} {
		p := seqPayload(c.seq)
		if len(p) != bcastSize || !strings.HasSuffix(string(p), c.tail) || strings.Trim(string(p), "0123456789") != "" {
			t.Fatalf("seqPayload(%d) = %q", c.seq, p)
		}
	}
	if !bytes.Equal(seqPayload(99), []byte(fmt.Sprintf("%064d", 99))) {
		t.Fatal("seqPayload differs from %064d")
	}
}

// TestFrameReaderSplits feeds three messages whole, cut in two at every
// byte, and one byte at a time: always three messages, in order.
func TestFrameReaderSplits(t *testing.T) {
	var stream []byte
	for seq := uint64(1); seq <= 3; seq++ {
		stream = append(stream, frame(0x82, seqPayload(seq))...)
	}
	feedAll := func(pieces ...[]byte) (int, *frameReader, error) {
		r := &frameReader{}
		total := 0
		for _, p := range pieces {
			n, err := r.feed(bytes.Clone(p))
			total += n
			if err != nil {
				return total, r, err
			}
		}
		return total, r, nil
	}
	check := func(name string, pieces ...[]byte) {
		t.Helper()
		n, r, err := feedAll(pieces...)
		if err != nil || n != 3 || r.next != 4 || len(r.pend) != 0 {
			t.Fatalf("%s: %d messages, next %d, %d pending, %v", name, n, r.next, len(r.pend), err)
		}
	}
	check("whole", stream)
	for cut := 0; cut <= len(stream); cut++ {
		check(fmt.Sprintf("cut at %d", cut), stream[:cut], stream[cut:])
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	check("one byte at a time", bytewise...)
	// A partial frame is kept, not counted.
	if n, r, err := feedAll(stream[:len(stream)-1]); n != 2 || err != nil || len(r.pend) != 65 {
		t.Fatalf("partial: %d messages, %d pending, %v", n, len(r.pend), err)
	}
}

func TestFrameReaderRejects(t *testing.T) {
	good := frame(0x82, seqPayload(1))
	masked := bytes.Clone(good)
	masked[1] |= 0x80
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{name: "masked", in: masked, want: "masked"},
		{name: "text", in: frame(0x81, seqPayload(1)), want: "0x81"},
		{name: "not final", in: frame(0x02, seqPayload(1)), want: "0x02"},
		{name: "ping", in: frame(0x89, nil), want: "0x89"},
		{name: "close", in: frame(0x88, []byte{3, 232}), want: "close frame"},
		{name: "short", in: frame(0x82, seqPayload(1)[:63]), want: "63-byte"},
		{name: "16-bit length", in: frame(0x82, make([]byte, 200)), want: "200-byte"},
		{name: "64-bit length", in: frame(0x82, make([]byte, 70000)), want: "70000-byte"},
		{name: "out of order", in: frame(0x82, seqPayload(2)), want: "want"},
		{name: "duplicate", in: append(bytes.Clone(good), good...), want: "want"},
	} {
		r := &frameReader{}
		n, err := r.feed(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wsinterop: ") {
			t.Errorf("%s: %d messages, error %v, want one containing %q", c.name, n, err, c.want)
		}
		if c.name == "duplicate" && n != 1 {
			t.Errorf("duplicate: %d messages before the error, want 1", n)
		}
	}
}

func TestRegistry(t *testing.T) {
	var r registry[string]
	a, b, c := r.add("a"), r.add("b"), r.add("c")
	r.remove(a) // c moves into a's place
	if got := strings.Join(r.items, ","); got != "c,b" || *c != 0 || *b != 1 || *a != -1 {
		t.Fatalf("after removing a: %q, slots a=%d b=%d c=%d", got, *a, *b, *c)
	}
	r.remove(a) // twice: nothing
	r.remove(b)
	if got := strings.Join(r.items, ","); got != "c" || r.len() != 1 {
		t.Fatalf("after removing b: %q", got)
	}
	r.remove(c)
	if r.len() != 0 || len(r.slots) != 0 {
		t.Fatalf("%d left", r.len())
	}
}

// TestServersBroadcast: each server child in broadcast mode, 50 raw
// clients, three broadcasts: every client gets each message exactly once,
// in order, and nothing more.
func TestServersBroadcast(t *testing.T) {
	checkLeaks(t)
	const n = 50
	for _, name := range servers {
		t.Run(name, func(t *testing.T) {
			p := spawn(t, name, "broadcast")
			rc, err := dialRawClient(p.url, n, 4)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rc.Close)
			if err := p.waitCount(n); err != nil {
				t.Fatal(err)
			}
			fx := &bcastFixture{srv: p, rc: rc, n: n}
			for i := 0; i < 3; i++ {
				if _, err := fx.broadcast(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
			if got := rc.got.Load(); got != 3*n || rc.Err() != nil {
				t.Fatalf("%d messages, want %d; %v", got, 3*n, rc.Err())
			}
			for i, c := range rc.conns {
				if c.fr.next != 4 {
					t.Fatalf("connection %d expects message %d next, want 4", i, c.fr.next)
				}
			}
		})
	}
}

// TestServersEcho: each server child in echo mode echoes text and binary
// messages from 0 bytes (1 for nbio) to 70,000 exactly to ioloop's client, and drops a
// connection from its registry when it closes.
func TestServersEcho(t *testing.T) {
	checkLeaks(t)
	for _, name := range servers {
		t.Run(name, func(t *testing.T) {
			p := spawn(t, name, "echo")
			g, err := ioloop.New(ioloop.Options{Loops: 1, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			rec := newRecorder()
			c, err := (&ws.Dialer{}).Dial(g, p.url, rec).Await(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := p.waitCount(1); err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{0, 1, 64, 125, 126, 4096, 65535, 65536, 70000} {
				if size == 0 && name == "nbio" {
					continue // nbio v1.6.8 does not echo an empty message
				}
				for _, mt := range []ws.MessageType{ws.TextMessage, ws.BinaryMessage} {
					data := pattern(size, mt == ws.TextMessage)
					if _, err := c.WriteMessage(mt, data).Await(context.Background()); err != nil {
						t.Fatal(err)
					}
					if gt, got := <-rec.types, <-rec.msgs; gt != mt || !bytes.Equal(got, data) {
						t.Fatalf("size %d %v: got %v of %d bytes", size, mt, gt, len(got))
					}
				}
			}
			if _, err := c.WriteMessage(ws.BinaryMessage, payloadOf(64)).Await(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := <-rec.msgs; !bytes.Equal(got, payloadOf(64)) {
				t.Fatal("payloadOf(64) not echoed")
			}
			_ = c.Close(ws.CloseNormal, "")
			<-rec.closed
			if err := p.waitCount(0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestChildRejects: the child answers a bad request with an error and the
// gorilla echo server (no hub) refuses to broadcast.
func TestChildRejects(t *testing.T) {
	checkLeaks(t)
	p := spawn(t, "gorilla", "echo")
	for _, req := range []string{"bcast 1", "bcast x", "what"} {
		if v, err := p.call(req); err == nil || !strings.Contains(err.Error(), "gorilla server: err ") {
			t.Errorf("%q: %q, %v", req, v, err)
		}
	}
	if _, err := startChild("none", "echo", false); err == nil || !strings.Contains(err.Error(), `unknown server "none"`) {
		t.Fatalf("unknown server: %v", err)
	}
}

// TestAcceptFor: the example of RFC 6455 1.3.
func TestAcceptFor(t *testing.T) {
	if got := acceptFor("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptFor = %q", got)
	}
}
