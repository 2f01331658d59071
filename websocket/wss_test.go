package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// newCert makes a certificate for localhost, 127.0.0.1 and ::1.
func newCert(t testing.TB) *selfsigned.Cert {
	t.Helper()
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// newTLSServer is newServer serving wss:// with cert.
func newTLSServer(t testing.TB, o ioloop.Options, up *websocket.Upgrader, h func() websocket.Handler, cert *selfsigned.Cert) *server {
	t.Helper()
	return startServer(t, o, up, h, &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
}

// onLoop runs f on c's loop and waits for it.
func onLoop(t testing.TB, c *websocket.Conn, f func()) {
	t.Helper()
	if _, err := ioloop.Submit(c.Loop(), func() (int, error) { f(); return 0, nil }).Await(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// tlsRecorder is a recorder that echoes, closes on "close CODE REASON",
// and records the TLS state of its connections at OnOpen.
type tlsRecorder struct {
	*recorder
	states chan tls.ConnectionState
}

func newTLSRecorder() *tlsRecorder {
	return &tlsRecorder{recorder: newRecorder(true), states: make(chan tls.ConnectionState, 256)}
}

func (r *tlsRecorder) OnOpen(c *websocket.Conn) {
	st, ok := c.NetConn().ConnectionState()
	if !ok {
		st = tls.ConnectionState{} // Version 0: no TLS
	}
	r.states <- st
	r.recorder.OnOpen(c)
}

func (r *tlsRecorder) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	if s, ok := strings.CutPrefix(string(data), "close "); ok && mt == websocket.TextMessage {
		code, reason, _ := strings.Cut(s, " ")
		n, _ := strconv.Atoi(code)
		_ = c.Close(n, reason)
		return
	}
	r.recorder.OnMessage(c, mt, data)
}

// TestWSSEcho: this package's client against its server over wss://, with
// and without permessage-deflate: TLS 1.3 with ALPN http/1.1 on both ends,
// text and binary from 0 B to 16 MiB echoed byte for byte, a fragmented
// message with a ping inside, and close handshakes started by either side
// with their codes, ended by close_notify (no truncation) on both ends.
func TestWSSEcho(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	for _, deflate := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflate), func(t *testing.T) {
			srec := newTLSRecorder()
			cfg := websocket.Config{Compression: deflate, MaxMessageSize: 32 << 20}
			// The server would speak h2 to a client that offers it: the
			// Dialer offers http/1.1 alone.
			tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"h2", "http/1.1"}}
			s := startServer(t, ioloop.Options{HighWater: 40 << 20, LowWater: 1 << 20}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec }, tlsCfg)
			if !strings.HasPrefix(s.url, "wss://127.0.0.1:") {
				t.Fatalf("url %s", s.url)
			}
			g, err := ioloop.New(ioloop.Options{Loops: 2, HighWater: 40 << 20, MaxOutput: 64 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			crec := newRecorder(false)
			d := &websocket.Dialer{Config: cfg, TLSConfig: &tls.Config{RootCAs: cert.Pool}}
			c := dial(t, g, d, s.url, crec)
			var cst tls.ConnectionState
			var cok, compressed bool
			onLoop(t, c, func() { cst, cok = c.NetConn().ConnectionState(); compressed = c.Compressed() })
			sst := recv(t, srec.states, "server TLS state")
			if !cok || cst.Version != tls.VersionTLS13 || cst.NegotiatedProtocol != "http/1.1" ||
				len(cst.PeerCertificates) != 1 || !cst.PeerCertificates[0].Equal(cert.Leaf) {
				t.Fatalf("client TLS state: ok %v version %x alpn %q", cok, cst.Version, cst.NegotiatedProtocol)
			}
			if sst.Version != tls.VersionTLS13 || sst.NegotiatedProtocol != "http/1.1" {
				t.Fatalf("server TLS state: version %x alpn %q", sst.Version, sst.NegotiatedProtocol)
			}
			if compressed != deflate {
				t.Fatalf("compression %v, want %v", compressed, deflate)
			}
			for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20} {
				for _, mt := range []websocket.MessageType{websocket.TextMessage, websocket.BinaryMessage} {
					data := pattern(n, mt == websocket.TextMessage)
					if _, err := c.WriteMessage(mt, data).Await(context.Background()); err != nil {
						t.Fatal(err)
					}
					got := recv(t, crec.msgs, "echo")
					if got.mt != mt || got.data != string(data) {
						t.Fatalf("size %d %v: got %v of %d bytes", n, mt, got.mt, len(got.data))
					}
				}
			}
			// Pipelined: many messages queued at once come back in order.
			for i := range 200 {
				_ = c.WriteMessage(websocket.BinaryMessage, pattern(i*97, false))
			}
			for i := range 200 {
				if got := recv(t, crec.msgs, "pipelined echo"); got.data != string(pattern(i*97, false)) {
					t.Fatalf("pipelined echo %d: %d bytes", i, len(got.data))
				}
			}
			onLoop(t, c, func() {
				_ = c.SendFragment(websocket.TextMessage, []byte("frag"), false)
				_ = c.Ping([]byte("x"))
				_ = c.SendFragment(websocket.TextMessage, []byte("men"), false)
				_ = c.SendFragment(websocket.TextMessage, []byte("ted"), true)
			})
			if got := recv(t, crec.msgs, "fragmented echo"); got.mt != websocket.TextMessage || got.data != "fragmented" {
				t.Fatalf("fragmented echo: %v %q", got.mt, got.data)
			}

			// The client closes.
			_ = c.Close(4001, "client bye")
			if ce := recv(t, crec.closed, "client close"); ce.Code != 4001 || ce.Reason != "client bye" || ce.Remote || ce.Err != nil {
				t.Fatalf("client saw %v", ce)
			}
			if ce := recv(t, srec.closed, "server close"); ce.Code != 4001 || ce.Reason != "client bye" || !ce.Remote || ce.Err != nil {
				t.Fatalf("server saw %v", ce)
			}

			// The server closes; the client sees close_notify, not a
			// truncation.
			c2 := dial(t, g, d, s.url, crec)
			recv(t, srec.states, "server TLS state")
			_, _ = c2.WriteMessage(websocket.TextMessage, []byte("close 4002 server bye")).Await(context.Background())
			if ce := recv(t, crec.closed, "client close"); ce.Code != 4002 || ce.Reason != "server bye" || !ce.Remote || ce.Err != nil {
				t.Fatalf("client saw %v", ce)
			}
			truncated := true
			onLoop(t, c2, func() { truncated = c2.NetConn().Truncated() })
			if truncated {
				t.Fatal("the server's end of the stream came without close_notify")
			}
			if ce := recv(t, srec.closed, "server close"); ce.Code != 4002 || ce.Remote || ce.Err != nil {
				t.Fatalf("server saw %v", ce)
			}
		})
	}
}

// TestWSSBadCertificate: a wss:// dial fails with ioloop.ErrTLSHandshake
// when the client does not trust the server's certificate, when the
// certificate does not name the host, and when the server speaks no TLS;
// the handler's OnOpen never runs, and the server's never does either.
// InsecureSkipVerify then connects to the untrusted server.
func TestWSSBadCertificate(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	srec := newTLSRecorder()
	s := newTLSServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return srec }, cert)
	plain := newServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} })
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	opened := make(chan struct{}, 10)
	h := websocket.HandlerFuncs{Open: func(*websocket.Conn) { opened <- struct{}{} }}
	other := newCert(t) // trusted, but not the server's
	cases := []struct {
		name string
		d    *websocket.Dialer
		url  string
	}{
		{"untrusted", &websocket.Dialer{}, s.url},
		{"other root", &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: other.Pool}}, s.url},
		{"wrong name", &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: cert.Pool, ServerName: "example.com"}}, s.url},
		{"plain server", &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: cert.Pool}}, "wss://" + plain.addr + "/ws"},
	}
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := tc.d.Dial(g, tc.url, h).Await(ctx)
		cancel()
		if !errors.Is(err, ioloop.ErrTLSHandshake) {
			t.Fatalf("%s: dial error %v, want ioloop.ErrTLSHandshake", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if len(opened) != 0 || len(srec.open) != 0 {
		t.Fatalf("OnOpen ran: client %d, server %d", len(opened), len(srec.open))
	}
	// A plaintext ws:// client against the wss server: no WebSocket.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := (&websocket.Dialer{}).Dial(g, "ws://"+s.addr+"/ws", h).Await(ctx); err == nil {
		t.Fatal("ws:// dial of a wss server succeeded")
	}
	c := dial(t, g, &websocket.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}}, s.url, h)
	if err := c.Close(websocket.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	recv(t, srec.closed, "server close")
	if st := s.g.TLSStats(); st.Handshakes != 1 || st.HandshakeErrors < 3 {
		t.Fatalf("server TLS stats %+v: want 1 handshake and at least 3 errors", st)
	}
}

// TestWSSDialTimeout: Dialer.Timeout bounds the TLS handshake of a wss://
// dial too: a server that accepts and never answers the ClientHello fails
// the dial after Timeout, not after ioloop.Options.HandshakeTimeout.
func TestWSSDialTimeout(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
	}()
	g, err := ioloop.New(ioloop.Options{Loops: 1, HandshakeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	d := &websocket.Dialer{Timeout: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = d.Dial(g, "wss://"+ln.Addr().String()+"/", websocket.HandlerFuncs{}).Await(ctx)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("dial error %v, want a time-out", err)
	}
	nc := recv(t, accepted, "accept")
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf [4096]byte
	for { // the client gave up: its side of the connection ends
		if _, err := nc.Read(buf[:]); err != nil {
			break
		}
	}
	_ = nc.Close()
}

// TestWSSSpill: over TLS the output holds records, a little longer than
// the frames in them, so the spill beyond ioloop.Options.MaxOutput moves
// on by what the records take: a message four times MaxOutput is echoed
// whole in both directions, with and without backpressure events.
func TestWSSSpill(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	const mark = 256 << 10
	for _, o := range []ioloop.Options{
		{Loops: 1, HighWater: mark, LowWater: mark / 4, MaxOutput: mark},     // no OnBackpressure
		{Loops: 1, HighWater: mark / 2, LowWater: mark / 8, MaxOutput: mark}, // OnBackpressure
	} {
		t.Run(fmt.Sprintf("high=%d", o.HighWater), func(t *testing.T) {
			cfg := websocket.Config{MaxMessageSize: 8 * mark}
			s := newTLSServer(t, o, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return echoHandler{} }, cert)
			o.MaxOutput = mark
			g, err := ioloop.New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			crec := newRecorder(false)
			c := dial(t, g, &websocket.Dialer{Config: cfg, TLSConfig: &tls.Config{RootCAs: cert.Pool}}, s.url, crec)
			for i := range 3 {
				payload := pattern(4*mark+i, false)
				if _, err := c.WriteMessage(websocket.BinaryMessage, payload).Await(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got := recv(t, crec.msgs, "echo"); got.data != string(payload) {
					t.Fatalf("echo %d: %d bytes, want %d", i, len(got.data), len(payload))
				}
			}
			_ = c.Close(websocket.CloseNormal, "")
			if ce := recv(t, crec.closed, "close"); ce.Code != websocket.CloseNormal || ce.Err != nil {
				t.Fatalf("close %v", ce)
			}
		})
	}
}

// dialRawTLS is dialRaw over TLS, trusting cert.
func dialRawTLS(t testing.TB, addr string, cert *selfsigned.Cert) *rawClient {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: cert.Pool})
	if err != nil {
		t.Fatal(err)
	}
	return upgradeRaw(t, nc, addr, "")
}

// TestWSSBroadcast: a PreparedMessage queued by reference (WriteRef) on
// many wss connections, some compressed without context takeover, reaches
// every one byte for byte: each connection encrypts the shared frame with
// its own keys, and the frame is not changed by it.
func TestWSSBroadcast(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	srec := newTLSRecorder()
	up := &websocket.Upgrader{Config: websocket.Config{Compression: true, NoContextTakeover: true}}
	s := newTLSServer(t, ioloop.Options{Loops: 3}, up, func() websocket.Handler { return srec }, cert)
	g, err := ioloop.New(ioloop.Options{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const n = 12
	crec := newRecorder(false)
	var conns []*websocket.Conn
	for i := range n {
		cfg := websocket.Config{Compression: i%2 == 0, NoContextTakeover: true}
		dial(t, g, &websocket.Dialer{Config: cfg, TLSConfig: &tls.Config{RootCAs: cert.Pool}}, s.url, crec)
		conns = append(conns, recv(t, srec.open, "server open"))
	}
	for _, size := range []int{10, 100 << 10, 3 << 20} {
		data := pattern(size, true)
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := websocket.Broadcast(pm, conns).Await(context.Background())
		if err != nil || got != n {
			t.Fatalf("Broadcast: %d, %v", got, err)
		}
		for range n {
			if m := recv(t, crec.msgs, "broadcast"); m.mt != websocket.TextMessage || m.data != string(data) {
				t.Fatalf("size %d: got %v of %d bytes", size, m.mt, len(m.data))
			}
		}
	}
	for _, c := range conns {
		_ = c.Close(websocket.CloseGoingAway, "")
	}
	for range n {
		if ce := recv(t, crec.closed, "client close"); ce.Code != websocket.CloseGoingAway || !ce.Remote {
			t.Fatalf("client saw %v", ce)
		}
	}
}

// TestWSSSlowConsumer: over TLS, a peer that does not read makes
// PolicyDrop drop and PolicyClose close with 1008, as over TCP: the
// policies see the records queued for the peer.
func TestWSSSlowConsumer(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	for _, pol := range []websocket.Policy{websocket.PolicyDrop, websocket.PolicyClose} {
		t.Run(fmt.Sprint(pol), func(t *testing.T) {
			srec := newRecorder(false)
			// The close handshake waits while the peer reads the backlog.
			cfg := websocket.Config{SlowConsumer: pol, CloseTimeout: 15 * time.Second}
			s := newTLSServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec }, cert)
			rc := dialRawTLS(t, s.addr, cert)
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
				rc.write(frameBytes(true, 0, frame.Text, []byte("still reading"), true))
				if m := recv(t, srec.msgs, "message over the mark"); m.data != "still reading" {
					t.Fatalf("got %q", m.data)
				}
				// The peer reads everything: each message whole, then
				// the close.
				sent := sends - 1
				_ = sc.Close(websocket.CloseNormal, "")
				for i := 0; ; i++ {
					h, p := rc.readFrame()
					if h.Opcode == frame.Close {
						if i != sent {
							t.Fatalf("%d messages before the close, %d sent", i, sent)
						}
						break
					}
					if h.Opcode != frame.Binary || !bytes.Equal(p, chunk) {
						t.Fatalf("message %d: %v of %d bytes", i, h.Opcode, len(p))
					}
				}
				rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseNormal, ""), true))
				if _, err := io.ReadAll(rc.br); err != nil { // close_notify, then the FIN
					t.Fatalf("after the close: %v", err)
				}
				_ = rc.nc.Close()
				if ce := recv(t, srec.closed, "close"); ce.Code != websocket.CloseNormal || ce.Err != nil {
					t.Fatalf("close %v", ce)
				}
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

// TestWSSIdle: the idle limit closes a silent wss connection with 1001
// "idle timeout" and the close handshake; the TLS stream then ends with
// close_notify on both sides.
func TestWSSIdle(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	const idle = 200 * time.Millisecond
	srec := newRecorder(false)
	s := newTLSServer(t, ioloop.Options{IdleTimeout: idle}, &websocket.Upgrader{}, func() websocket.Handler { return srec }, cert)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	crec := newRecorder(false)
	start := time.Now()
	c := dial(t, g, &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: cert.Pool}}, s.url, crec)
	ce := recv(t, crec.closed, "client close")
	if el := time.Since(start); el < idle-20*time.Millisecond {
		t.Fatalf("idle close after %v", el)
	}
	if ce.Code != websocket.CloseGoingAway || ce.Reason != "idle timeout" || !ce.Remote || ce.Err != nil {
		t.Fatalf("client saw %v", ce)
	}
	wantIdleClose(t, recv(t, srec.closed, "server close"), "server")
	truncated := true
	onLoop(t, c, func() { truncated = c.NetConn().Truncated() })
	if truncated {
		t.Fatal("the server's end of the stream came without close_notify")
	}
}

// TestWSSFramesWithRequest: a client that sends frames in the same TLS
// record as its opening handshake (and more in the records after, without
// waiting for the 101) gets every one echoed: the plaintext after the
// request head is handed to the WebSocket connection with the upgrade.
func TestWSSFramesWithRequest(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	s := newTLSServer(t, ioloop.Options{Loops: 1}, &websocket.Upgrader{}, func() websocket.Handler { return echoHandler{} }, cert)
	nc, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: cert.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET /ws HTTP/1.1\r\nHost: " + s.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	first := append([]byte(req), frameBytes(true, 0, frame.Text, []byte("in the request's record"), true)...)
	big := pattern(100<<10, false) // several records
	rest := append(frameBytes(true, 0, frame.Binary, big, true), frameBytes(true, 0, frame.Text, []byte("last"), true)...)
	if _, err := nc.Write(first); err != nil { // one record
		t.Fatal(err)
	}
	if _, err := nc.Write(rest); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != websocket.AcceptKey(key) {
		t.Fatalf("response %v %v", resp, err)
	}
	for _, want := range []struct {
		op   frame.Opcode
		data []byte
	}{{frame.Text, []byte("in the request's record")}, {frame.Binary, big}, {frame.Text, []byte("last")}} {
		if h, p := rc.readFrame(); h.Opcode != want.op || !bytes.Equal(p, want.data) {
			t.Fatalf("echo: %v of %d bytes, want %v of %d", h.Opcode, len(p), want.op, len(want.data))
		}
	}
	rc.write(frameBytes(true, 0, frame.Close, frame.AppendClose(nil, websocket.CloseNormal, ""), true))
	rc.expectClose(websocket.CloseNormal)
}

// TestWSSServerFirst: a message the server sends from OnOpen, right behind
// the 101, reaches the wss client; a server shutdown then closes the
// client's connection with 1001 and the close handshake.
func TestWSSServerFirst(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	greet := websocket.HandlerFuncs{Open: func(c *websocket.Conn) { _ = c.SendText("hello over TLS") }}
	s := newTLSServer(t, ioloop.Options{}, &websocket.Upgrader{}, func() websocket.Handler { return greet }, cert)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	crec := newRecorder(false)
	// By name: SNI and verification use "localhost".
	url := strings.Replace(s.url, "127.0.0.1", "localhost", 1)
	c := dial(t, g, &websocket.Dialer{TLSConfig: &tls.Config{RootCAs: cert.Pool}}, url, crec)
	if m := recv(t, crec.msgs, "greeting"); m.mt != websocket.TextMessage || m.data != "hello over TLS" {
		t.Fatalf("got %v %q", m.mt, m.data)
	}
	var st tls.ConnectionState
	onLoop(t, c, func() { st, _ = c.NetConn().ConnectionState() })
	if st.ServerName != "localhost" {
		t.Fatalf("SNI %q, want localhost", st.ServerName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ce := recv(t, crec.closed, "close"); ce.Code != websocket.CloseGoingAway || !ce.Remote || ce.Err != nil {
		t.Fatalf("client saw %v", ce)
	}
}
