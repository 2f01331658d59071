package websocket_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/onloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// rawServer accepts one connection, reads the handshake request and lets
// answer write the response and what follows.
func rawServer(t *testing.T, answer func(nc net.Conn, key string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		_ = ln.Close()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		answer(nc, req.Header.Get("Sec-WebSocket-Key"))
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return "ws://" + ln.Addr().String() + "/"
}

func accept(key string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + websocket.AcceptKey(key) + "\r\n\r\n"
}

// TestClientHandshakeFailures: a server that answers wrongly fails Dial's
// future with a specific error, and the handler sees nothing.
func TestClientHandshakeFailures(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cases := []struct {
		name string
		resp func(key string) string
		want string
	}{
		{name: "wrong accept", resp: func(string) string { return accept("AAAAAAAAAAAAAAAAAAAAAA==") }, want: "Sec-WebSocket-Accept"},
		{name: "not 101", resp: func(string) string { return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" }, want: "403"},
		{name: "garbage", resp: func(string) string { return "SSH-2.0-OpenSSH\r\n\r\n" }, want: "status line"},
		{name: "no upgrade field", resp: func(k string) string { return strings.Replace(accept(k), "Upgrade: websocket\r\n", "", 1) }, want: "Upgrade"},
		{name: "unoffered subprotocol", resp: func(k string) string {
			return strings.Replace(accept(k), "\r\n\r\n", "\r\nSec-WebSocket-Protocol: other\r\n\r\n", 1)
		}, want: "subprotocol"},
		{name: "unoffered extension", resp: func(k string) string {
			return strings.Replace(accept(k), "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1)
		}, want: "extension"},
		{name: "bad status line", resp: func(k string) string { return strings.Replace(accept(k), "101", "1O1", 1) }, want: "malformed status line"},
		{name: "HTTP/1.0", resp: func(k string) string { return strings.Replace(accept(k), "HTTP/1.1", "HTTP/1.0", 1) }, want: "HTTP/1.1 required"},
		{name: "obs-fold", resp: func(k string) string {
			return strings.Replace(accept(k), "Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n", 1)
		}, want: "obsolete line folding"},
		{name: "missing accept", resp: func(k string) string {
			return strings.Replace(accept(k), "Sec-WebSocket-Accept: "+websocket.AcceptKey(k)+"\r\n", "", 1)
		}, want: "Sec-WebSocket-Accept"},
		{name: "oversized head", resp: func(k string) string {
			return strings.Replace(accept(k), "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("a", 8<<10)+"\r\n\r\n", 1)
		}, want: "response head too large"},
		{name: "closed mid-head", resp: func(string) string { return "HTTP/1.1 101 Switching" }, want: "closed"},
		{name: "stall", resp: func(string) string { return "HTTP/1.1 101 Switching" }, want: "timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, func(nc net.Conn, key string) {
				_, _ = nc.Write([]byte(tc.resp(key)))
				if tc.name == "closed mid-head" {
					_ = nc.(*net.TCPConn).CloseWrite()
				}
			})
			rec := newRecorder(false)
			d := &websocket.Dialer{Subprotocols: []string{"chat"}, Timeout: 5 * time.Second}
			if tc.name == "stall" {
				d.Timeout = 200 * time.Millisecond
			}
			_, err := d.Dial(g, url, rec).Await(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
			if len(rec.open) != 0 || len(rec.closed) != 0 {
				t.Fatal("the handler saw a failed handshake")
			}
		})
	}
}

// TestClientHandshakeByteByByte: a 101 that arrives one byte at a time,
// with a frame right behind it, opens the connection and the frame is read.
func TestClientHandshakeByteByByte(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	url := rawServer(t, func(nc net.Conn, key string) {
		b := []byte(strings.Replace(accept(key), "\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n", 1))
		b = append(b, frameBytes(true, 0, frame.Text, []byte("ok"), false)...)
		for i := range b {
			if _, err := nc.Write(b[i : i+1]); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	rec := newRecorder(false)
	c, err := (&websocket.Dialer{Subprotocols: []string{"v1", "chat"}}).Dial(g, url, rec).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rec.msgs, "message"); m.data != "ok" {
		t.Fatalf("got %q", m.data)
	}
	if p := c.Subprotocol(); p != "chat" {
		t.Fatalf("subprotocol %q", p)
	}
}

// TestClientRejectsMaskedFrame: a server must not mask; the client closes
// with 1002 and the message never reaches the handler. Frames that came
// right behind the 101 are read.
func TestClientRejectsMaskedFrame(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got := make(chan []byte, 1)
	url := rawServer(t, func(nc net.Conn, key string) {
		b := []byte(accept(key))
		b = append(b, frameBytes(true, 0, frame.Text, []byte("ok"), false)...)
		b = append(b, frameBytes(true, 0, frame.Text, []byte("masked"), true)...)
		_, _ = nc.Write(b)
		hb := make([]byte, 64)
		n, _ := nc.Read(hb)
		got <- hb[:n]
	})
	rec := newRecorder(false)
	if _, err := (&websocket.Dialer{}).Dial(g, url, rec).Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, rec.msgs, "first message"); m.data != "ok" {
		t.Fatalf("got %q", m.data)
	}
	if ce := recv(t, rec.closed, "close"); ce.Code != websocket.CloseProtocolError || ce.Remote {
		t.Fatalf("close %v", ce)
	}
	b := recv(t, got, "close frame")
	h, n, err := frame.ParseHeader(b)
	if err != nil || n == 0 || h.Opcode != frame.Close || !h.Masked {
		t.Fatalf("client sent %x", b)
	}
	p := b[n : n+int(h.Length)]
	frame.Mask(h.Key, 0, p)
	if code, _, _ := frame.ParseClose(p); code != websocket.CloseProtocolError {
		t.Fatalf("close code %d", code)
	}
	if len(rec.msgs) != 0 {
		t.Fatal("masked frame reached the handler")
	}
}

// loopID returns the goroutine id of l's loop.
func loopID(t testing.TB, l *ioloop.Loop) uint64 {
	t.Helper()
	id, err := ioloop.Submit(l, func() (uint64, error) { return onloop.ID(), nil }).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// continuedOn returns the goroutine id a continuation of f runs on.
func continuedOn[T any](t testing.TB, f *async.Future[T]) (uint64, error) {
	t.Helper()
	type res struct {
		id  uint64
		err error
	}
	ch := make(chan res, 1)
	f.OnComplete(func(_ T, err error) { ch <- res{onloop.ID(), err} })
	r := recv(t, ch, "continuation")
	return r.id, r.err
}

// TestDialContinuations: the continuations of Dial's future run on the
// connection's loop, and on the group's first loop when Dial fails before a
// connection exists; never on a goroutine of their own.
func TestDialContinuations(t *testing.T) {
	checkLeaks(t)
	s := newServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} })
	g, err := ioloop.New(ioloop.Options{Loops: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	d := &websocket.Dialer{}
	first := loopID(t, g.Loops()[0])
	loops := map[uint64]bool{}
	for _, l := range g.Loops() {
		loops[loopID(t, l)] = true
	}

	for _, url := range []string{"://bad", "ftp://127.0.0.1:1/", "wss:///nohost"} {
		id, err := continuedOn(t, d.Dial(g, url, echoHandler{}))
		if err == nil {
			t.Fatalf("%s: dial succeeded", url)
		}
		if id != first {
			t.Fatalf("%s: continuation on goroutine %d, not the first loop's %d", url, id, first)
		}
	}
	// A refused connect fails on the loop the connection was given.
	for _, url := range []string{"ws://127.0.0.1:1/", "wss://127.0.0.1:1/"} {
		if id, err := continuedOn(t, d.Dial(g, url, echoHandler{})); err == nil || !loops[id] {
			t.Fatalf("%s: refused dial: %v, continuation on goroutine %d, not a loop", url, err, id)
		}
	}
	for range 3 {
		f := d.Dial(g, s.url, echoHandler{})
		id, err := continuedOn(t, f)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := f.Result()
		if want := loopID(t, c.Loop()); id != want {
			t.Fatalf("continuation on goroutine %d, not the connection's loop's %d", id, want)
		}
		_ = c.Close(websocket.CloseNormal, "")
	}
}
