package websocket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// TestFragmentsWithControl sends a fragmented message with pings between its
// fragments; the server gets it whole and answers the pings in between.
func TestFragmentsWithControl(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	var stream []byte
	stream = append(stream, frameBytes(false, 0, frame.Text, []byte("hel"), true)...)
	stream = append(stream, frameBytes(true, 0, frame.Ping, []byte("p1"), true)...)
	stream = append(stream, frameBytes(false, 0, frame.Continuation, []byte("lo "), true)...)
	stream = append(stream, frameBytes(true, 0, frame.Ping, nil, true)...)
	stream = append(stream, frameBytes(true, 0, frame.Continuation, []byte("wörld"), true)...)
	rc.write(stream)
	for _, want := range []string{"p1", ""} {
		h, p := rc.readFrame()
		if h.Opcode != frame.Pong || string(p) != want {
			t.Fatalf("got %v %q, want pong %q", h.Opcode, p, want)
		}
	}
	if got := recv(t, srec.msgs, "message"); got.mt != websocket.TextMessage || got.data != "hello wörld" {
		t.Fatalf("got %v %q", got.mt, got.data)
	}
	rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, 4000, "done"), true))
	rc.expectClose(4000)
	ce := recv(t, srec.closed, "close")
	if ce.Code != 4000 || ce.Reason != "done" || !ce.Remote {
		t.Fatalf("close: %v", ce)
	}
}

// TestSplitEveryByte feeds the same stream of frames to the server cut in
// two at every byte, and once a byte at a time; the messages and pongs are
// the same each time.
func TestSplitEveryByte(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	var stream []byte
	stream = append(stream, frameBytes(true, 0, frame.Binary, pattern(130, false), true)...)
	stream = append(stream, frameBytes(false, 0, frame.Text, []byte("€"[:2]), true)...)
	stream = append(stream, frameBytes(true, 0, frame.Ping, []byte("x"), true)...)
	stream = append(stream, frameBytes(true, 0, frame.Continuation, []byte("€"[2:]+"!"), true)...)
	stream = append(stream, frameBytes(true, 0, frame.Text, nil, true)...)
	check := func(rc *rawClient) {
		t.Helper()
		if h, p := rc.readFrame(); h.Opcode != frame.Pong || string(p) != "x" {
			t.Fatalf("pong: %v %q", h.Opcode, p)
		}
		want := []msg{{websocket.BinaryMessage, string(pattern(130, false))}, {websocket.TextMessage, "€!"}, {websocket.TextMessage, ""}}
		for _, w := range want {
			if got := recv(t, srec.msgs, "message"); got != w {
				t.Fatalf("got %v %q, want %v %q", got.mt, got.data, w.mt, w.data)
			}
		}
		rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseNormal, ""), true))
		rc.expectClose(websocket.CloseNormal)
		recv(t, srec.closed, "close")
	}
	for cut := 1; cut < len(stream); cut++ {
		rc := dialRaw(t, s.addr, "")
		rc.write(stream[:cut])
		time.Sleep(time.Millisecond)
		rc.write(stream[cut:])
		check(rc)
		_ = rc.nc.Close()
	}
	rc := dialRaw(t, s.addr, "")
	for i := range stream {
		rc.write(stream[i : i+1])
	}
	check(rc)
}

// TestProtocolViolations sends what RFC 6455 forbids; each one is answered
// with the right close code and never reaches the handler as data.
func TestProtocolViolations(t *testing.T) {
	checkLeaks(t)
	big := frame.Header{Fin: true, Opcode: frame.Binary, Masked: true, Length: 2 << 20}
	cases := []struct {
		name  string
		input []byte
		code  int
	}{
		{name: "unmasked", input: frameBytes(true, 0, frame.Text, []byte("hi"), false), code: 1002},
		{name: "rsv1 without extension", input: frameBytes(true, frame.Rsv1, frame.Text, []byte("hi"), true), code: 1002},
		{name: "rsv2", input: frameBytes(true, frame.Rsv2, frame.Binary, nil, true), code: 1002},
		{name: "reserved opcode", input: frameBytes(true, 0, 3, nil, true), code: 1002},
		{name: "reserved control opcode", input: frameBytes(true, 0, 0xB, nil, true), code: 1002},
		{name: "fragmented ping", input: frameBytes(false, 0, frame.Ping, nil, true), code: 1002},
		{name: "long ping", input: frameBytes(true, 0, frame.Ping, make([]byte, 126), true), code: 1002},
		{name: "continuation without message", input: frameBytes(true, 0, frame.Continuation, []byte("x"), true), code: 1002},
		{name: "new message inside fragmented", input: append(frameBytes(false, 0, frame.Text, []byte("a"), true), frameBytes(true, 0, frame.Text, []byte("b"), true)...), code: 1002},
		{name: "invalid utf8", input: frameBytes(true, 0, frame.Text, []byte{'a', 0xff}, true), code: 1007},
		{name: "invalid utf8 across fragments", input: append(frameBytes(false, 0, frame.Text, []byte{0xe2, 0x82}, true), frameBytes(true, 0, frame.Continuation, []byte{'x'}, true)...), code: 1007},
		{name: "too big", input: frame.AppendHeader(nil, big), code: 1009},
		{name: "invalid close code", input: frameBytes(true, 0, frame.Close, []byte{0x03, 0xe8 + 4}, true), code: 1002},
		{name: "close code 1005 on the wire", input: frameBytes(true, 0, frame.Close, []byte{0x03, 0xed}, true), code: 1002},
		{name: "one-byte close", input: frameBytes(true, 0, frame.Close, []byte{0x03}, true), code: 1002},
		{name: "close reason not utf8", input: frameBytes(true, 0, frame.Close, []byte{0x03, 0xe8, 0xff}, true), code: 1007},
	}
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: websocket.Config{MaxMessageSize: 1 << 20}}, func() websocket.Handler { return srec })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, s.addr, "")
			rc.write(tc.input)
			rc.expectClose(tc.code)
			ce := recv(t, srec.closed, "close")
			if ce.Code != tc.code || ce.Remote || ce.Err == nil {
				t.Fatalf("server OnClose: %v", ce)
			}
			select {
			case m := <-srec.msgs:
				t.Fatalf("violation reached the handler: %v %q", m.mt, m.data)
			default:
			}
		})
	}
}

// TestDecompressionBomb sends a compressed message that inflates past the
// limit: 1009, and the handler sees nothing.
func TestDecompressionBomb(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	cfg := websocket.Config{Compression: true, MaxMessageSize: 64 << 10}
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n")
	comp, err := frame.NewCompressor(9, false)
	if err != nil {
		t.Fatal(err)
	}
	z := comp.Compress(nil, make([]byte, 10<<20)) // 10 MiB of zeros: a few KiB compressed
	rc.write(frameBytes(true, frame.Rsv1, frame.Binary, z, true))
	rc.expectClose(1009)
	if ce := recv(t, srec.closed, "close"); ce.Code != 1009 {
		t.Fatalf("close %v", ce)
	}
	if len(srec.msgs) != 0 {
		t.Fatal("bomb reached the handler")
	}
}

// TestFragmentHandler: a FragmentHandler gets the pieces as they arrive.
func TestFragmentHandler(t *testing.T) {
	checkLeaks(t)
	pieces := make(chan string, 16)
	fh := &fragRecorder{recorder: newRecorder(false), pieces: pieces}
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return fh })
	c := dial(t, s.g, &websocket.Dialer{}, s.url, newRecorder(false))
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) {
		_ = c.SendFragment(websocket.BinaryMessage, []byte("ab"), false)
		_ = c.Ping([]byte("mid"))
		_ = c.SendFragment(websocket.BinaryMessage, []byte("cd"), false)
		if err := c.Send(websocket.TextMessage, []byte("no")); !errors.Is(err, websocket.ErrFragment) {
			t.Errorf("Send inside a fragmented message: %v", err)
		}
		return 0, c.SendFragment(websocket.BinaryMessage, nil, true)
	}).Await(context.Background())
	want := []string{"binary ab first", "binary cd", "binary  final"}
	for _, w := range want {
		if got := recv(t, pieces, "piece"); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, fh.closed, "close")
}

type fragRecorder struct {
	*recorder
	pieces chan string
}

func (f *fragRecorder) OnFragment(c *websocket.Conn, mt websocket.MessageType, data []byte, first, final bool) {
	s := mt.String() + " " + string(data)
	if first {
		s += " first"
	}
	if final {
		s += " final"
	}
	f.pieces <- s
}
