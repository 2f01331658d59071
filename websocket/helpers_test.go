package websocket_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/internal/leaktest"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// checkLeaks fails the test if descriptors or goroutines opened during it
// are still there once it ended (after a grace period).
func checkLeaks(t testing.TB) { leaktest.Check(t) }

// server is a group serving WebSocket on /ws with an Upgrader and handler
// chosen by the test, and HTTP 404 elsewhere.
type server struct {
	g    *ioloop.Group
	srv  *http1.Server
	addr string
	url  string
}

func newServer(t testing.TB, o ioloop.Options, up *websocket.Upgrader, h func() websocket.Handler) *server {
	t.Helper()
	return startServer(t, o, up, h, nil)
}

// startServer is newServer, serving HTTPS and wss:// when tlsCfg is set.
func startServer(t testing.TB, o ioloop.Options, up *websocket.Upgrader, h func() websocket.Handler, tlsCfg *tls.Config) *server {
	t.Helper()
	if o.Loops == 0 {
		o.Loops = 2
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = 64 << 20
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.IOUring = o.IOUring || os.Getenv("IOLOOP_TEST_IOURING") == "1" // .ci/run runs the tests both ways
	g, err := ioloop.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{g: g}
	s.srv = &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Path()) != "/ws" {
			_ = w.SetStatus(404)
			return
		}
		_, _ = up.Upgrade(w, r, h())
	}), TLSConfig: tlsCfg}
	ln, err := s.srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = g.Close()
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.url = "ws://" + s.addr + "/ws"
	if tlsCfg != nil {
		s.url = "wss://" + s.addr + "/ws"
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		_ = g.Close()
	})
	return s
}

// msg is a received message or close, for assertions.
type msg struct {
	mt   websocket.MessageType
	data string
}

// recorder is a Handler that records what it receives on channels.
type recorder struct {
	open   chan *websocket.Conn
	msgs   chan msg
	closed chan *websocket.CloseError
	echo   bool
}

func newRecorder(echo bool) *recorder {
	return &recorder{
		open:   make(chan *websocket.Conn, 256),
		msgs:   make(chan msg, 4096),
		closed: make(chan *websocket.CloseError, 256),
		echo:   echo,
	}
}

func (r *recorder) OnOpen(c *websocket.Conn) {
	select {
	case r.open <- c:
	default: // a test that does not look at opens
	}
}
func (r *recorder) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	if r.echo {
		_ = c.Send(mt, data)
		return
	}
	r.msgs <- msg{mt, string(data)}
}
func (r *recorder) OnClose(c *websocket.Conn, err error) {
	ce, _ := err.(*websocket.CloseError)
	r.closed <- ce
}

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// echoHandler echoes every message on the loop.
type echoHandler struct{}

func (echoHandler) OnOpen(*websocket.Conn) {}
func (echoHandler) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	_ = c.Send(mt, data)
}
func (echoHandler) OnClose(*websocket.Conn, error) {}

// rawClient is a hand-driven client over a blocking socket, to send what a
// conforming client never would.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string, extraHeader string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return upgradeRaw(t, nc, addr, extraHeader)
}

// upgradeRaw sends the opening handshake over nc (a TCP or TLS
// connection) and checks the 101.
func upgradeRaw(t testing.TB, nc net.Conn, addr string, extraHeader string) *rawClient {
	t.Helper()
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\n" + extraHeader + "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != websocket.AcceptKey(k) {
		t.Fatalf("accept %q", got)
	}
	return rc
}

// frameBytes encodes one frame, masked as a client must unless unmasked.
func frameBytes(fin bool, rsv byte, op frame.Opcode, payload []byte, masked bool) []byte {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: masked, Key: [4]byte{1, 2, 3, 4}}
	return frame.AppendFrame(nil, h, payload)
}

func (rc *rawClient) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

// readFrame reads one whole unmasked frame from the server.
func (rc *rawClient) readFrame() (frame.Header, []byte) {
	rc.t.Helper()
	var hb []byte
	for {
		b, err := rc.br.ReadByte()
		if err != nil {
			rc.t.Fatalf("read frame: %v", err)
		}
		hb = append(hb, b)
		h, n, err := frame.ParseHeader(hb)
		if err != nil {
			rc.t.Fatal(err)
		}
		if n > 0 {
			if h.Masked {
				rc.t.Fatal("server sent a masked frame")
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(rc.br, p); err != nil {
				rc.t.Fatal(err)
			}
			return h, p
		}
	}
}

// expectClose reads frames until a close frame and checks its code, then
// expects the server to end the connection.
func (rc *rawClient) expectClose(code int) {
	rc.t.Helper()
	for {
		h, p := rc.readFrame()
		if h.Opcode != frame.Close {
			continue
		}
		got, _, err := frame.ParseClose(p)
		if err != nil {
			rc.t.Fatal(err)
		}
		if got != code {
			rc.t.Fatalf("close code %d, want %d (%q)", got, code, p)
		}
		break
	}
	if _, err := io.ReadAll(rc.br); err != nil {
		rc.t.Fatalf("after close: %v", err)
	}
	_ = rc.nc.Close()
}

func netDial(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

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
