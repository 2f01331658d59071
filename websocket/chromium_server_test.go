package websocket_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
)

// browserServer serves the page, its script and the WebSocket endpoints of
// checks.js (and of wss.js, over HTTPS when it has a TLS configuration), recording what each connection (named by the id in its query)
// received and how it ended:
//
//	/ws/echo?mode=plain|deflate|nocontext  echo, subprotocols ioloop.v1, ioloop.v2
//	/ws/ctl      commands: "close CODE [REASON]", "abort", "ping PAYLOAD", "fragments"
//	/ws/small?mode=plain|deflate  echo with MaxMessageSize 1024
//	/ws/keepalive  echo with a keep-alive ping every 100 ms, 2 s time-out
type browserServer struct {
	addr string

	mu      sync.Mutex
	conns   map[string]*browserConn
	refused map[string]int
}

// browserConn is the server's record of one connection; the loop writes it
// under browserServer.mu until done is closed.
type browserConn struct {
	msgs       []serverMsg
	compressed bool
	protocol   string
	tls        tls.ConnectionState // Version 0: no TLS
	closed     *websocket.CloseError
	done       chan struct{}
}

type serverMsg struct {
	mt  websocket.MessageType
	n   int
	sha string
}

func startBrowserServer(t *testing.T, page, script []byte, tlsCfg *tls.Config) *browserServer {
	t.Helper()
	g, err := ioloop.New(ioloop.Options{
		Loops: 2, HighWater: 40 << 20, LowWater: 1 << 20, MaxOutput: 64 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	big := websocket.Config{MaxMessageSize: 32 << 20}
	deflate, nocontext := big, big
	deflate.Compression = true
	nocontext.Compression, nocontext.NoContextTakeover = true, true
	subs := []string{"ioloop.v1", "ioloop.v2"}
	ups := map[string]*websocket.Upgrader{
		"/ws/echo?plain":     {Config: big, Subprotocols: subs},
		"/ws/echo?deflate":   {Config: deflate, Subprotocols: subs},
		"/ws/echo?nocontext": {Config: nocontext, Subprotocols: subs},
		"/ws/ctl":            {Config: deflate},
		"/ws/small?plain":    {Config: websocket.Config{MaxMessageSize: 1024}},
		"/ws/small?deflate":  {Config: websocket.Config{MaxMessageSize: 1024, Compression: true}},
		"/ws/keepalive":      {Config: websocket.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 2 * time.Second, Compression: true}},
	}
	bs := &browserServer{conns: map[string]*browserConn{}, refused: map[string]int{}}
	srv := &http1.Server{TLSConfig: tlsCfg, Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		path := string(r.Path())
		switch path {
		case "/":
			_ = w.AddHeader("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
			return
		case "/checks.js":
			_ = w.AddHeader("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(script)
			return
		}
		q, _ := url.ParseQuery(string(r.Query()))
		key := path
		if path == "/ws/echo" || path == "/ws/small" {
			key += "?" + q.Get("mode")
		}
		up, ok := ups[key]
		if !ok {
			_ = w.SetStatus(404)
			return
		}
		id := q.Get("id")
		bc := &browserConn{done: make(chan struct{})}
		h := &browserHandler{bs: bs, bc: bc, ctl: path == "/ws/ctl"}
		bs.mu.Lock()
		bs.conns[id] = bc
		bs.mu.Unlock()
		if _, err := up.Upgrade(w, r, h); err != nil {
			var he *websocket.HandshakeError
			errors.As(err, &he)
			bs.mu.Lock()
			delete(bs.conns, id)
			if he != nil {
				bs.refused[id] = he.Status
			}
			bs.mu.Unlock()
		}
	})}
	ln, err := srv.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = g.Close()
		t.Fatal(err)
	}
	bs.addr = ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = g.Close()
	})
	return bs
}

// conn returns the record of connection id once it has ended.
func (bs *browserServer) conn(t *testing.T, id string) *browserConn {
	t.Helper()
	bs.mu.Lock()
	bc := bs.conns[id]
	bs.mu.Unlock()
	if bc == nil {
		t.Fatalf("%s: the server saw no such connection", id)
	}
	recv(t, bc.done, id+": server OnClose")
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bc
}

func (bs *browserServer) refusedStatus(id string) int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.refused[id]
}

// browserHandler records messages and echoes them, or, on /ws/ctl, runs
// them as commands.
type browserHandler struct {
	bs  *browserServer
	bc  *browserConn
	ctl bool
}

func (h *browserHandler) OnOpen(c *websocket.Conn) {
	h.bs.mu.Lock()
	h.bc.compressed, h.bc.protocol = c.Compressed(), c.Subprotocol()
	h.bc.tls, _ = c.NetConn().ConnectionState()
	h.bs.mu.Unlock()
}

func (h *browserHandler) OnMessage(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	sum := sha256.Sum256(data)
	h.bs.mu.Lock()
	h.bc.msgs = append(h.bc.msgs, serverMsg{mt: mt, n: len(data), sha: hex.EncodeToString(sum[:])})
	h.bs.mu.Unlock()
	if !h.ctl {
		_ = c.Send(mt, data)
		return
	}
	cmd, arg, _ := strings.Cut(string(data), " ")
	switch cmd {
	case "close":
		codeText, reason, _ := strings.Cut(arg, " ")
		code, _ := strconv.Atoi(codeText)
		_ = c.Close(code, reason)
	case "abort":
		_ = c.NetConn().Abort()
	case "ping":
		_ = c.Ping([]byte(arg))
		_ = c.SendText("pinged")
	case "fragments":
		// Text with a ping between its frames and a code point (é) split
		// between two of them; 1 MiB of binary in 64 KiB frames with an
		// empty one among them; an empty text message in two empty frames.
		_ = c.SendFragment(websocket.TextMessage, []byte("fragmented caf\xc3"), false)
		_ = c.Ping([]byte("mid-message"))
		_ = c.SendFragment(websocket.TextMessage, []byte("\xa9"), false)
		_ = c.SendFragment(websocket.TextMessage, []byte(" \u2713 end"), true)
		p := fragPattern(1 << 20)
		for i := 0; i < 16; i++ {
			_ = c.SendFragment(websocket.BinaryMessage, p[i<<16:(i+1)<<16], false)
			if i == 7 {
				_ = c.SendFragment(websocket.BinaryMessage, nil, false)
			}
		}
		_ = c.SendFragment(websocket.BinaryMessage, nil, true)
		_ = c.SendFragment(websocket.TextMessage, nil, false)
		_ = c.SendFragment(websocket.TextMessage, nil, true)
	}
}

func (h *browserHandler) OnClose(c *websocket.Conn, err error) {
	ce, _ := err.(*websocket.CloseError)
	h.bs.mu.Lock()
	h.bc.closed = ce
	h.bs.mu.Unlock()
	close(h.bc.done)
}

// fragPattern is the binary message of the "fragments" command (checks.js's
// pattern).
func fragPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>11)
	}
	return b
}
