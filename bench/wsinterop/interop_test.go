package wsinterop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/internal/selfsigned"
	ws "github.com/ioloop/ioloop/websocket"
)

var sizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20}

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

func checkLeaks(t testing.TB) {
	fds, _ := os.ReadDir("/proc/self/fd")
	gs := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			now, _ := os.ReadDir("/proc/self/fd")
			if len(now) <= len(fds) && runtime.NumGoroutine() <= gs {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leak: %d descriptors (had %d), %d goroutines (had %d)", len(now), len(fds), runtime.NumGoroutine(), gs)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// echo is the ioloop server's handler.
type echo struct{ closed chan error }

func (echo) OnOpen(*ws.Conn) {}
func (echo) OnMessage(c *ws.Conn, mt ws.MessageType, data []byte) {
	_ = c.Send(mt, data)
}
func (e echo) OnClose(_ *ws.Conn, err error) {
	if e.closed != nil {
		e.closed <- err
	}
}

// ioloopServer serves the echo on /ws; over TLS (wss://) with cert when
// it is not nil.
func ioloopServer(t testing.TB, cfg ws.Config, h ws.Handler, cert *selfsigned.Cert) (*ioloop.Group, string) {
	g, err := ioloop.New(ioloop.Options{HighWater: 40 << 20, LowWater: 1 << 20, MaxOutput: 64 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	up := &ws.Upgrader{Config: cfg, CheckOrigin: func(*http1.Request, string) bool { return true }}
	srv := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		_, _ = up.Upgrade(w, r, h)
	})}
	scheme := "ws://"
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		scheme = "wss://"
	}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = g.Close()
	})
	return g, scheme + ln.Addr().String() + "/ws"
}

// newCert makes a self-signed certificate for 127.0.0.1 and localhost.
func newCert(t testing.TB) *selfsigned.Cert {
	t.Helper()
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestGorillaClient: gorilla's client against the ioloop server, over ws://
// and wss:// (crypto/tls's client, verifying the certificate): text and
// binary from 0 B to 16 MiB (fragmented by gorilla's small write buffer),
// pings, and a close with a code.
func TestGorillaClient(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	for _, secure := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("tls=%v/compress=%v", secure, compress), func(t *testing.T) {
				testGorillaClient(t, secure, compress, cert)
			})
		}
	}
}

func testGorillaClient(t *testing.T, secure, compress bool, cert *selfsigned.Cert) {
	closed := make(chan error, 1)
	var srvCert *selfsigned.Cert
	if secure {
		srvCert = cert
	}
	_, url := ioloopServer(t, ws.Config{Compression: compress, MaxMessageSize: 32 << 20}, echo{closed: closed}, srvCert)
	d := websocket.Dialer{EnableCompression: compress, WriteBufferSize: 4096, TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := resp.Header.Get("Sec-WebSocket-Extensions") != ""; got != compress {
		t.Fatalf("extension negotiated: %v", got)
	}
	c.SetReadLimit(32 << 20)
	pongs := make(chan string, 4)
	c.SetPongHandler(func(s string) error { pongs <- s; return nil })
	for _, n := range sizes {
		for _, mt := range []int{websocket.TextMessage, websocket.BinaryMessage} {
			data := pattern(n, mt == websocket.TextMessage)
			if err := c.WriteMessage(mt, data); err != nil {
				t.Fatal(err)
			}
			gt, got, err := c.ReadMessage()
			if err != nil || gt != mt || !bytes.Equal(got, data) {
				t.Fatalf("size %d type %d: got type %d, %d bytes, %v", n, mt, gt, len(got), err)
			}
		}
	}
	if err := c.WriteControl(websocket.PingMessage, []byte("gp"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("after ping")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "after ping" {
		t.Fatalf("%q %v", got, err)
	}
	if p := <-pongs; p != "gp" {
		t.Fatalf("pong %q", p)
	}
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "done"))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 {
		t.Fatalf("close echo: %v", err)
	}
	c.Close()
	if err := <-closed; !strings.Contains(err.Error(), "4001") {
		t.Fatalf("server saw %v", err)
	}
}

// gorillaServer echoes; "close-me" closes with 4002 "bye", "ping-me" sends a
// ping whose pong is reported as "pong:PAYLOAD", "bad-close" sends a close
// frame with the invalid code 999. With cert it serves wss:// (net/http's
// TLS server).
func gorillaServer(t testing.TB, compress bool, cert *selfsigned.Cert) string {
	up := websocket.Upgrader{EnableCompression: compress, WriteBufferSize: 4096}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(32 << 20)
		c.SetPongHandler(func(s string) error { return c.WriteMessage(websocket.TextMessage, []byte("pong:"+s)) })
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			switch string(data) {
			case "close-me":
				_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "bye"))
				_, _, _ = c.ReadMessage()
				return
			case "ping-me":
				_ = c.WriteControl(websocket.PingMessage, []byte("srv"), time.Now().Add(time.Second))
				continue
			case "bad-close":
				_ = c.WriteMessage(websocket.CloseMessage, []byte{0x03, 0xe7})
				_, _, _ = c.ReadMessage()
				return
			}
			if err := c.WriteMessage(mt, data); err != nil {
				return
			}
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hs.Close() })
	if cert != nil {
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		go hs.ServeTLS(ln, "", "")
		return "wss://" + ln.Addr().String() + "/"
	}
	go hs.Serve(ln)
	return "ws://" + ln.Addr().String() + "/"
}

type recorder struct {
	msgs   chan []byte
	types  chan ws.MessageType
	closed chan *ws.CloseError
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan []byte, 64), types: make(chan ws.MessageType, 64), closed: make(chan *ws.CloseError, 4)}
}
func (r *recorder) OnOpen(*ws.Conn) {}
func (r *recorder) OnMessage(_ *ws.Conn, mt ws.MessageType, data []byte) {
	r.types <- mt
	r.msgs <- bytes.Clone(data)
}
func (r *recorder) OnClose(_ *ws.Conn, err error) { r.closed <- err.(*ws.CloseError) }

// TestGorillaServer: the ioloop client against gorilla's server, over
// ws:// and wss:// (net/http's TLS server; the Dialer verifies its
// certificate).
func TestGorillaServer(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	for _, secure := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("tls=%v/compress=%v", secure, compress), func(t *testing.T) {
				testGorillaServer(t, secure, compress, cert)
			})
		}
	}
}

func testGorillaServer(t *testing.T, secure, compress bool, cert *selfsigned.Cert) {
	var srvCert *selfsigned.Cert
	if secure {
		srvCert = cert
	}
	url := gorillaServer(t, compress, srvCert)
	g, err := ioloop.New(ioloop.Options{Loops: 1, HighWater: 40 << 20, MaxOutput: 64 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	d := &ws.Dialer{Config: ws.Config{Compression: compress, MaxMessageSize: 32 << 20}, TLSConfig: &tls.Config{RootCAs: cert.Pool}}
	rec := newRecorder()
	c, err := d.Dial(g, url, rec).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		for _, mt := range []ws.MessageType{ws.TextMessage, ws.BinaryMessage} {
			data := pattern(n, mt == ws.TextMessage)
			if _, err := c.WriteMessage(mt, data).Await(context.Background()); err != nil {
				t.Fatal(err)
			}
			if gt, got := <-rec.types, <-rec.msgs; gt != mt || !bytes.Equal(got, data) {
				t.Fatalf("size %d: got %v of %d bytes", n, gt, len(got))
			}
		}
	}
	_, _ = c.WriteMessage(ws.TextMessage, []byte("ping-me")).Await(context.Background())
	if <-rec.types; string(<-rec.msgs) != "pong:srv" {
		t.Fatal("no pong report")
	}
	_, _ = c.WriteMessage(ws.TextMessage, []byte("close-me")).Await(context.Background())
	if ce := <-rec.closed; ce.Code != 4002 || ce.Reason != "bye" || !ce.Remote {
		t.Fatalf("close %v", ce)
	}
	c2, err := d.Dial(g, url, rec).Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c2.WriteMessage(ws.TextMessage, []byte("bad-close")).Await(context.Background())
	if ce := <-rec.closed; ce.Code != ws.CloseProtocolError || ce.Remote {
		t.Fatalf("invalid close code: %v", ce)
	}
}
