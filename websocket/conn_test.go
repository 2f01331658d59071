package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

func dial(t testing.TB, g *ioloop.Group, d *websocket.Dialer, url string, h websocket.Handler) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.Dial(g, url, h).Await(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func pattern(n int, text bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789 "[i%37]
		} else {
			b[i] = byte(i*7 + i>>8)
		}
	}
	return b
}

// TestEchoSizes sends text and binary messages from 0 B to 16 MiB through
// the client and the server, with and without compression, and checks every
// byte that comes back, in order.
func TestEchoSizes(t *testing.T) {
	checkLeaks(t)
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20}
	if testing.Short() {
		sizes = sizes[:len(sizes)-1]
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			cfg := websocket.Config{Compression: compress, MaxMessageSize: 17 << 20}
			// 16 MiB in flight each way at once, with the default marks:
			// neither end pauses reading (PolicyQueue).
			s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return echoHandler{} })
			rec := newRecorder(false)
			c := dial(t, s.g, &websocket.Dialer{Config: cfg}, s.url, rec)
			<-rec.open
			var want []msg
			for _, n := range sizes {
				for _, mt := range []websocket.MessageType{websocket.TextMessage, websocket.BinaryMessage} {
					data := pattern(n, mt == websocket.TextMessage)
					want = append(want, msg{mt, string(data)})
					if _, err := c.WriteMessage(mt, data).Await(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, w := range want {
				got := recv(t, rec.msgs, "echo")
				if got.mt != w.mt || got.data != w.data {
					t.Fatalf("message %d: got %v of %d bytes, want %v of %d", i, got.mt, len(got.data), w.mt, len(w.data))
				}
			}
			ok := false
			_, _ = ioloop.Submit(c.Loop(), func() (int, error) { ok = c.Compressed(); return 0, nil }).Await(context.Background())
			if ok != compress {
				t.Fatalf("compression negotiated %v, want %v", ok, compress)
			}
			if err := c.Close(websocket.CloseNormal, "bye"); err != nil {
				t.Fatal(err)
			}
			ce := recv(t, rec.closed, "close")
			if ce == nil || ce.Code != websocket.CloseNormal || ce.Remote || ce.Err != nil {
				t.Fatalf("close: %v", ce)
			}
		})
	}
}

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

// TestCloseFromServer: the server starts the close handshake; the client
// echoes it and both see the server's code.
func TestCloseFromServer(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	sc := recv(t, srec.open, "server open")
	if err := sc.Close(websocket.CloseGoingAway, "restart"); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != 1001 || ce.Reason != "restart" || !ce.Remote {
		t.Fatalf("client saw %v", ce)
	}
	if ce := recv(t, srec.closed, "server close"); ce.Code != 1001 || ce.Remote || ce.Err != nil {
		t.Fatalf("server saw %v", ce)
	}
	if err := sc.Close(9999, ""); !errors.Is(err, websocket.ErrCloseCode) {
		t.Fatalf("invalid code accepted: %v", err)
	}
}

// TestCloseWithoutFrame: a peer that just disconnects gives 1006.
func TestCloseWithoutFrame(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	recv(t, srec.open, "open")
	_ = rc.nc.Close()
	if ce := recv(t, srec.closed, "close"); ce.Code != websocket.CloseAbnormal || ce.Err == nil {
		t.Fatalf("close %v", ce)
	}
}

// TestCloseTimeout: a peer that never answers the close frame is cut after
// CloseTimeout.
func TestCloseTimeout(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: websocket.Config{CloseTimeout: 50 * time.Millisecond}}, func() websocket.Handler { return srec })
	rc := dialRaw(t, s.addr, "")
	sc := recv(t, srec.open, "open")
	_ = sc.Close(websocket.CloseNormal, "")
	if h, _ := rc.readFrame(); h.Opcode != frame.Close {
		t.Fatalf("got %v", h.Opcode)
	}
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.CloseNormal || !errors.Is(ce, websocket.ErrCloseTimeout) {
		t.Fatalf("close %v", ce)
	}
}

// TestPingTimeout: keep-alive pings go out; a peer that answers nothing is
// closed with ErrPingTimeout, one that answers stays.
func TestPingTimeout(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	cfg := websocket.Config{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond}
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })

	// A client of this package answers pings: still open after many.
	crec := newRecorder(false)
	c := dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	time.Sleep(200 * time.Millisecond)
	select {
	case ce := <-srec.closed:
		t.Fatalf("answering client closed: %v", ce)
	default:
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, srec.closed, "close")
	recv(t, crec.closed, "client close")

	// A raw client that reads the ping and never answers.
	rc := dialRaw(t, s.addr, "")
	recv(t, srec.open, "open")
	if h, _ := rc.readFrame(); h.Opcode != frame.Ping {
		t.Fatalf("got %v, want ping", h.Opcode)
	}
	rc.expectClose(websocket.ClosePolicyViolation) // a close frame, never a bare close
	ce := recv(t, srec.closed, "close")
	if ce.Code != websocket.ClosePolicyViolation || !errors.Is(ce, websocket.ErrPingTimeout) {
		t.Fatalf("close %v", ce)
	}
}

// TestHandshakeChecks: bad requests get the right status and no upgrade.
func TestHandshakeChecks(t *testing.T) {
	checkLeaks(t)
	up := &websocket.Upgrader{Subprotocols: []string{"chat.v2", "chat.v1"}}
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, up, func() websocket.Handler { return srec })
	g := s.g
	cases := []struct {
		name   string
		header string
		status string
	}{
		{name: "version", header: "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", status: "426"},
		{name: "key", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", status: "400"},
		{name: "no upgrade", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive\r\n", status: "400"},
		{name: "origin", header: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nOrigin: http://evil.example\r\n", status: "403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, s.addr, "GET /ws HTTP/1.1\r\nHost: "+s.addr+"\r\n"+tc.header+"\r\n")
			if !strings.HasPrefix(resp, "HTTP/1.1 "+tc.status+" ") {
				t.Fatalf("got %q", resp)
			}
			if tc.status == "426" && !strings.Contains(resp, "Sec-WebSocket-Version: 13\r\n") {
				t.Fatalf("426 without the version: %q", resp)
			}
		})
	}
	// Same origin and subprotocol selection in the server's order.
	crec := newRecorder(false)
	c := dial(t, g, &websocket.Dialer{Origin: "http://" + s.addr, Subprotocols: []string{"chat.v1", "chat.v2"}}, s.url, crec)
	var proto string
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) { proto = c.Subprotocol(); return 0, nil }).Await(context.Background())
	if proto != "chat.v2" {
		t.Fatalf("subprotocol %q", proto)
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, crec.closed, "close")
	// The client refuses a server that does not upgrade.
	_, err := (&websocket.Dialer{}).Dial(g, "ws://"+s.addr+"/nows", crec).Await(context.Background())
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("dial to a 404: %v", err)
	}
}

func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := netDial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, _ = nc.Write([]byte(req))
	buf := make([]byte, 4096)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := nc.Read(buf)
	return string(buf[:n])
}

// TestConcurrentWriters: goroutines send through WriteMessage at once;
// every message arrives once and each goroutine's messages in order.
func TestConcurrentWriters(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	c := dial(t, s.g, &websocket.Dialer{}, s.url, newRecorder(false))
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				f := c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("%d:%d", w, i)))
				if _, err := f.Await(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	next := make([]int, writers)
	for k := 0; k < writers*each; k++ {
		m := recv(t, srec.msgs, "message")
		var w, i int
		if _, err := fmt.Sscanf(m.data, "%d:%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		if next[w] != i {
			t.Fatalf("writer %d: got %d, want %d", w, i, next[w])
		}
		next[w]++
	}
	_ = c.Close(websocket.CloseNormal, "")
	recv(t, srec.closed, "close")
}

// TestBroadcast sends prepared messages to many connections, plain and
// compressed; each connection gets each message once, in order.
func TestBroadcast(t *testing.T) {
	checkLeaks(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			srec := newRecorder(false)
			cfg := websocket.Config{Compression: compress, NoContextTakeover: true, CompressThreshold: 1}
			s := newServer(t, ioloop.Options{}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
			const n = 50
			var conns []*websocket.Conn
			crec := newRecorder(false)
			for i := 0; i < n; i++ {
				dial(t, s.g, &websocket.Dialer{Config: cfg}, s.url, crec)
				conns = append(conns, recv(t, srec.open, "open"))
			}
			for k := 0; k < 3; k++ {
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, bytes.Repeat([]byte{byte('a' + k)}, 64))
				if err != nil {
					t.Fatal(err)
				}
				sent, err := websocket.Broadcast(pm, conns).Await(context.Background())
				if err != nil || sent != n {
					t.Fatalf("sent %d, %v", sent, err)
				}
			}
			counts := map[string]int{}
			for i := 0; i < 3*n; i++ {
				counts[recv(t, crec.msgs, "broadcast").data]++
			}
			for k := 0; k < 3; k++ {
				if c := counts[strings.Repeat(string(rune('a'+k)), 64)]; c != n {
					t.Fatalf("message %d arrived %d times", k, c)
				}
			}
			for _, c := range conns {
				_ = c.Close(websocket.CloseNormal, "")
			}
			for i := 0; i < n; i++ {
				recv(t, crec.closed, "close")
			}
		})
	}
}

// TestSlowConsumer: a peer that does not read makes PolicyDrop drop and
// PolicyClose close.
func TestSlowConsumer(t *testing.T) {
	checkLeaks(t)
	for _, pol := range []websocket.Policy{websocket.PolicyDrop, websocket.PolicyClose} {
		t.Run(fmt.Sprint(pol), func(t *testing.T) {
			srec := newRecorder(false)
			cfg := websocket.Config{SlowConsumer: pol, CloseTimeout: 100 * time.Millisecond}
			s := newServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
			rc := dialRaw(t, s.addr, "")
			sc := recv(t, srec.open, "open")
			chunk := make([]byte, 256<<10)
			result := make(chan error, 1)
			var tick func()
			sends := 0
			tick = func() {
				err := sc.Send(websocket.BinaryMessage, chunk)
				sends++
				if err != nil || sends > 2000 {
					result <- err
					return
				}
				sc.Loop().AfterFunc(time.Millisecond, tick)
			}
			_ = sc.Loop().Post(tick)
			err := recv(t, result, "slow consumer")
			switch pol {
			case websocket.PolicyDrop:
				if !errors.Is(err, websocket.ErrDropped) {
					t.Fatalf("got %v after %d sends", err, sends)
				}
				var dropped uint64
				_, _ = ioloop.Submit(sc.Loop(), func() (int, error) { dropped = sc.Dropped(); return 0, nil }).Await(context.Background())
				if dropped != 1 {
					t.Fatalf("dropped %d", dropped)
				}
				// Over the mark, the server still reads: the policy
				// bounds its output, so reading is not paused.
				rc.write(frameBytes(true, 0, frame.Text, []byte("still reading"), true))
				if m := recv(t, srec.msgs, "message over the mark"); m.data != "still reading" {
					t.Fatalf("got %q", m.data)
				}
				_ = rc.nc.Close()
				recv(t, srec.closed, "close")
			case websocket.PolicyClose:
				if !errors.Is(err, websocket.ErrSlowConsumer) {
					t.Fatalf("got %v after %d sends", err, sends)
				}
				_ = rc.nc.Close()
				ce := recv(t, srec.closed, "close")
				if ce.Code != websocket.ClosePolicyViolation || !errors.Is(ce, websocket.ErrSlowConsumer) {
					t.Fatalf("close %v", ce)
				}
			}
		})
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

// TestShutdown: the server's Shutdown closes upgraded connections with
// 1001 and waits for them.
func TestShutdown(t *testing.T) {
	checkLeaks(t)
	srec := newRecorder(false)
	s := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec })
	crec := newRecorder(false)
	dial(t, s.g, &websocket.Dialer{}, s.url, crec)
	recv(t, srec.open, "open")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseGoingAway {
		t.Fatalf("client saw %v", ce)
	}
	if s.srv.NumConns() != 0 {
		t.Fatalf("%d connections left", s.srv.NumConns())
	}
}
