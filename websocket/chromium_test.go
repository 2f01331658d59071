package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// chromiumHarness returns the node harness directory and the Chromium
// executable, or skips the test when one of them is missing. Under CI (the
// CI environment variable set) a missing tool fails the test instead: CI
// installs all of them (.ci/run), so a skip there would hide a broken setup.
func chromiumHarness(t *testing.T) (dir, chromium string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but "+format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: the browser interop test drives Chromium from node")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		missing("chromium is not installed (apt-get install chromium)")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing("the npm playwright-core package is not installed: run `npm ci --prefix websocket/testdata/node`")
	}
	return dir, chromium
}

// browserResult is one JSON line of testdata/node/browser.mjs: the result of
// one check of testdata/browser/checks.js.
type browserResult struct {
	Check      string `json:"check"`
	OK         bool   `json:"ok"`
	Detail     string `json:"detail"`
	Extensions string `json:"extensions"`
	Protocol   string `json:"protocol"`
	UserAgent  string `json:"userAgent"`
	Sent       []struct {
		Type   string `json:"type"`
		Len    int    `json:"len"`
		SHA256 string `json:"sha256"`
	} `json:"sent"`
	Close *struct {
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		WasClean bool   `json:"wasClean"`
	} `json:"close"`
}

// browserChecks are the checks of checks.js, in its order.
var browserChecks = []string{
	"echo-plain", "echo-deflate", "echo-nocontext",
	"browser-close-1000", "browser-close-4000", "browser-close-nocode",
	"server-close-4001", "server-close-1000", "server-close-nocode", "server-abort",
	"server-ping", "server-fragments", "too-big", "too-big-inflated", "keepalive", "going-away", "cross-origin",
}

// TestChromium runs headless Chromium (through playwright-core) against this
// package's server: the page, served by the same server, runs its checks
// with the browser's WebSocket (testdata/browser/checks.js) and the test
// asserts each one, then what the server saw (every message's type, length
// and SHA-256, every close code and reason) and what went over the wire,
// from a frame-parsing relay between the two: compressed frames only where
// compression was negotiated, the server's fragmented frames, the browser's
// pongs. Sizes go from 0 B to 16 MiB, with and without permessage-deflate.
// The close paths: the browser's close with a code and reason, and without
// a code; the server's, likewise; the server's reset; the server's 1009 for
// a message over the limit (plain and inflated); the browser's 1001 when the
// document that opened the connection goes away; the keep-alive that the
// browser's pongs alone satisfy; a refused cross-origin handshake.
//
// Not covered: this package's client against the browser (a browser is not
// a WebSocket server) and protocol violations by the browser (its WebSocket
// cannot send an invalid frame or invalid UTF-8; those paths are covered by
// the raw-socket tests).
func TestChromium(t *testing.T) {
	dir, chromium := chromiumHarness(t)
	checkLeaks(t)

	page, err := os.ReadFile(filepath.Join("testdata", "browser", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "browser", "checks.js"))
	if err != nil {
		t.Fatal(err)
	}
	bs := startBrowserServer(t, page, script)
	tp := startTap(t, bs.addr)

	_, directPort, _ := net.SplitHostPort(bs.addr)
	pageURL := "http://" + tp.addr + "/?direct=" + directPort
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "browser.mjs"), pageURL, chromium, "120000")
	// On the time-out, SIGTERM lets playwright close the browser it started.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	results := map[string]browserResult{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r browserResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("browser driver printed %q: %v", sc.Text(), err)
		}
		if _, dup := results[r.Check]; dup {
			t.Errorf("check %s reported twice", r.Check)
		}
		results[r.Check] = r
	}
	for _, name := range browserChecks {
		if r, ok := results[name]; ok && !r.OK {
			t.Errorf("check %s: browser says: %s", name, r.Detail)
		}
	}
	if d, ok := results["driver"]; ok || runErr != nil {
		t.Fatalf("browser driver: %v %s\nstderr:\n%s", runErr, d.Detail, stderr.String())
	}
	if _, ok := results["done"]; !ok {
		t.Fatalf("browser driver ended without finishing the checks\nstderr:\n%s", stderr.String())
	}
	t.Logf("browser: %s", results["done"].UserAgent)
	for _, name := range browserChecks {
		if _, ok := results[name]; !ok {
			t.Errorf("check %s: not reported", name)
		}
	}
	if len(results) != len(browserChecks)+1 {
		t.Errorf("%d results, want %d checks and done", len(results), len(browserChecks))
	}
	if t.Failed() {
		t.Fatalf("browser console:\n%s", stderr.String())
	}

	// The server's side of every check.
	for _, mode := range []string{"plain", "deflate", "nocontext"} {
		id := "echo-" + mode
		r := results[id]
		c := bs.conn(t, id)
		if got := len(c.msgs); got != len(r.Sent) || got != 16 {
			t.Fatalf("%s: the server got %d messages, the browser sent %d", id, got, len(r.Sent))
		}
		for i, s := range r.Sent {
			m := c.msgs[i]
			if m.mt.String() != s.Type || m.n != s.Len || m.sha != s.SHA256 {
				t.Errorf("%s: message %d: the server got %v of %d bytes (sha256 %s), the browser sent %s of %d (%s)",
					id, i, m.mt, m.n, m.sha, s.Type, s.Len, s.SHA256)
			}
		}
		if c.compressed != (mode != "plain") {
			t.Errorf("%s: Compressed() = %v", id, c.compressed)
		}
		if c.protocol != "ioloop.v1" {
			t.Errorf("%s: Subprotocol() = %q", id, c.protocol)
		}
		checkClose(t, id, c.closed, websocket.CloseNormal, "echo done", true)
	}
	checkClose(t, "browser-close-1000", bs.conn(t, "browser-close-1000").closed, 1000, "done", true)
	checkClose(t, "browser-close-4000", bs.conn(t, "browser-close-4000").closed, 4000, "browser bye \u2713", true)
	checkClose(t, "browser-close-nocode", bs.conn(t, "browser-close-nocode").closed, websocket.CloseNoStatus, "", true)
	checkClose(t, "server-close-4001", bs.conn(t, "server-close-4001").closed, 4001, "server bye \u2713", false)
	checkClose(t, "server-close-1000", bs.conn(t, "server-close-1000").closed, 1000, "", false)
	if ce := bs.conn(t, "server-close-nocode").closed; ce.Remote || ce.Err != nil {
		t.Errorf("server-close-nocode: the server's OnClose got %v", ce)
	}
	if ce := bs.conn(t, "server-abort").closed; ce.Code != websocket.CloseAbnormal || !errors.Is(ce.Err, ioloop.ErrAborted) {
		t.Errorf("server-abort: the server's OnClose got %v", ce)
	}
	checkClose(t, "server-ping", bs.conn(t, "server-ping").closed, 1000, "ping done", true)
	checkClose(t, "server-fragments", bs.conn(t, "server-fragments").closed, 1000, "fragments done", true)
	checkClose(t, "keepalive", bs.conn(t, "keepalive").closed, 1000, "keepalive done", true)
	checkClose(t, "going-away", bs.conn(t, "going-away").closed, websocket.CloseGoingAway, "", true)
	for _, id := range []string{"too-big", "too-big-inflated"} {
		ce := bs.conn(t, id).closed
		if ce.Code != websocket.CloseMessageTooBig || ce.Remote || ce.Err == nil || len(bs.conn(t, id).msgs) != 1 {
			t.Errorf("%s: the server's OnClose got %v after %d messages", id, ce, len(bs.conn(t, id).msgs))
		}
		if c := results[id].Close; c == nil || c.Reason != ce.Reason {
			t.Errorf("%s: the browser saw %+v, the server sent %v", id, c, ce)
		}
	}
	if r := bs.conn(t, "too-big-inflated").closed.Reason; !strings.Contains(r, "inflated") {
		t.Errorf("too-big-inflated: closed for %q, want the inflated size", r)
	}
	if st := bs.refusedStatus("cross-origin"); st != 403 {
		t.Errorf("cross-origin: handshake status %d, want 403", st)
	}

	// The wire, once every relay has ended.
	tp.close()
	for _, mode := range []string{"plain", "deflate", "nocontext"} {
		id := "echo-" + mode
		tc := tp.conn(t, id)
		var data []wireFrame
		for _, f := range tc.down {
			if f.op == frame.Text || f.op == frame.Binary || f.op == frame.Continuation {
				data = append(data, f)
			}
		}
		if len(data) != 16 {
			t.Fatalf("%s: the server sent %d data frames, want one per message (16)", id, len(data))
		}
		for i, s := range results[id].Sent {
			wantRsv1 := mode != "plain" && s.Len >= 128 // the default CompressThreshold
			if f := data[i]; !f.fin || f.rsv1 != wantRsv1 || (!wantRsv1 && f.length != int64(s.Len)) {
				t.Errorf("%s: echo %d (%s, %d bytes) went out as %+v", id, i, s.Type, s.Len, f)
			}
		}
		upCompressed := false
		for _, f := range tc.up {
			upCompressed = upCompressed || f.rsv1
		}
		if upCompressed != (mode != "plain") {
			t.Errorf("%s: the browser sent compressed frames: %v", id, upCompressed)
		}
	}
	if pongs := tp.conn(t, "server-ping").control(frame.Pong, false); len(pongs) != 1 || pongs[0] != "chromium-ping" {
		t.Errorf("server-ping: the browser's pongs: %q", pongs)
	}
	fr := tp.conn(t, "server-fragments").down
	var shape []string
	for _, f := range fr {
		shape = append(shape, fmt.Sprintf("%v/%v/%d", f.op, f.fin, f.length))
	}
	wantShape := []string{"text/false/15", "ping/true/11", "continuation/false/1", "continuation/true/8"}
	for i := 0; i < 16; i++ {
		op := "continuation"
		if i == 0 {
			op = "binary"
		}
		wantShape = append(wantShape, fmt.Sprintf("%s/false/65536", op))
		if i == 7 {
			wantShape = append(wantShape, "continuation/false/0")
		}
	}
	wantShape = append(wantShape, "continuation/true/0", "text/false/0", "continuation/true/0")
	if len(shape) < len(wantShape) || strings.Join(shape[:len(wantShape)], " ") != strings.Join(wantShape, " ") {
		t.Errorf("server-fragments: the server sent %v\nwant %v then the close", shape, wantShape)
	}
	pings := tp.conn(t, "keepalive").control(frame.Ping, true)
	pongs := tp.conn(t, "keepalive").control(frame.Pong, false)
	if len(pings) < 2 || len(pongs) < 2 || strings.Join(pings, "") != "" || strings.Join(pongs, "") != "" {
		t.Errorf("keepalive: pings %q sent, pongs %q answered, want at least 2 empty ones of each", pings, pongs)
	}
}

func checkClose(t *testing.T, id string, ce *websocket.CloseError, code int, reason string, remote bool) {
	t.Helper()
	if ce == nil || ce.Code != code || ce.Reason != reason || ce.Remote != remote || ce.Err != nil {
		t.Errorf("%s: the server's OnClose got %v, want code %d %q remote %v", id, ce, code, reason, remote)
	}
}

// browserServer serves the page, its script and the WebSocket endpoints of
// checks.js, recording what each connection (named by the id in its query)
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
	closed     *websocket.CloseError
	done       chan struct{}
}

type serverMsg struct {
	mt  websocket.MessageType
	n   int
	sha string
}

func startBrowserServer(t *testing.T, page, script []byte) *browserServer {
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
	srv := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
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

// tap is a TCP relay between the browser and the server that parses the
// frames of every upgraded connection in both directions, to show what the
// page cannot see: which frames were compressed (RSV1), how a message was
// split into frames, and the pongs the browser sent on its own (the server
// consumes pongs without telling its handler). It forwards each frame as it
// parses it, payloads streamed, and a reset as a reset.
type tap struct {
	addr   string
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[string]*tapConn // by the id in the request's query
	open  map[net.Conn]struct{}
}

// tapConn is what went over one upgraded connection: up from the browser,
// down from the server. Written under tap.mu.
type tapConn struct {
	up, down []wireFrame
}

// wireFrame is one frame as seen on the wire.
type wireFrame struct {
	op      frame.Opcode
	fin     bool
	rsv1    bool
	length  int64
	payload string // control frames only, unmasked
}

func startTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{addr: ln.Addr().String(), target: target, ln: ln, conns: map[string]*tapConn{}, open: map[net.Conn]struct{}{}}
	tp.wg.Add(1)
	go tp.accept()
	t.Cleanup(tp.close)
	return tp
}

func (tp *tap) accept() {
	defer tp.wg.Done()
	for {
		bc, err := tp.ln.Accept()
		if err != nil {
			return
		}
		sc, err := net.Dial("tcp", tp.target)
		if err != nil {
			_ = bc.Close()
			continue
		}
		tp.mu.Lock()
		tp.open[bc], tp.open[sc] = struct{}{}, struct{}{}
		tp.mu.Unlock()
		tc := &tapConn{}
		ids := make(chan struct{})
		tp.wg.Add(2)
		go func() {
			defer tp.wg.Done()
			tp.relay(bc, sc, tc, ids, true)
		}()
		go func() {
			defer tp.wg.Done()
			tp.relay(sc, bc, tc, ids, false)
		}()
	}
}

// close stops the tap and waits for its relays. It is called once the
// browser has exited, so they are done or about to be; connections still
// open after a grace period are closed. Calling it again does nothing.
func (tp *tap) close() {
	_ = tp.ln.Close()
	done := make(chan struct{})
	go func() {
		tp.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(10 * time.Second):
	}
	tp.mu.Lock()
	for c := range tp.open {
		_ = c.Close()
	}
	tp.mu.Unlock()
	<-done
}

// relay copies src to dst: an HTTP head, then, after an upgrade, frame by
// frame. up is the browser-to-server direction, which learns the
// connection's id from the request and closes ids once it is recorded (or
// once it gives up), for the other direction to go on.
func (tp *tap) relay(src, dst net.Conn, tc *tapConn, ids chan struct{}, up bool) {
	defer func() {
		if up {
			select {
			case <-ids:
			default:
				close(ids)
			}
		}
		tp.mu.Lock()
		delete(tp.open, src)
		tp.mu.Unlock()
		_ = src.Close()
	}()
	br := bufio.NewReaderSize(src, 64<<10)
	err := tp.relayFrames(br, dst, tc, ids, up)
	if errors.Is(err, io.EOF) {
		_ = dst.(*net.TCPConn).CloseWrite()
		return
	}
	// A reset or another failure: pass it on as a reset.
	_ = dst.(*net.TCPConn).SetLinger(0)
	_ = dst.Close()
}

func (tp *tap) relayFrames(br *bufio.Reader, dst net.Conn, tc *tapConn, ids chan struct{}, up bool) error {
	// The head: a request up, a response down.
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return err
		}
	}
	if _, err := dst.Write(head); err != nil {
		return err
	}
	upgraded := false
	if up {
		target := strings.Fields(string(head))[1]
		if u, err := url.Parse(target); err == nil && bytes.Contains(bytes.ToLower(head), []byte("\r\nupgrade: websocket\r\n")) {
			id := u.Query().Get("id")
			tp.mu.Lock()
			tp.conns[id] = tc
			tp.mu.Unlock()
			upgraded = true
		}
		close(ids)
	} else {
		<-ids
		upgraded = bytes.HasPrefix(head, []byte("HTTP/1.1 101 "))
	}
	if !upgraded {
		_, err := io.Copy(dst, br)
		if err == nil {
			err = io.EOF
		}
		return err
	}
	for {
		var hb []byte
		var h frame.Header
		for {
			b, err := br.ReadByte()
			if err != nil {
				return err
			}
			hb = append(hb, b)
			var n int
			if h, n, err = frame.ParseHeader(hb); err != nil {
				return err
			} else if n > 0 {
				break
			}
		}
		f := wireFrame{op: h.Opcode, fin: h.Fin, rsv1: h.Rsv&frame.Rsv1 != 0, length: h.Length}
		if _, err := dst.Write(hb); err != nil {
			return err
		}
		if h.Opcode >= frame.Close {
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				return err
			}
			if _, err := dst.Write(p); err != nil {
				return err
			}
			if h.Masked {
				frame.Mask(h.Key, 0, p)
			}
			f.payload = string(p)
		} else if _, err := io.CopyN(dst, br, h.Length); err != nil {
			return err
		}
		tp.mu.Lock()
		if up {
			tc.up = append(tc.up, f)
		} else {
			tc.down = append(tc.down, f)
		}
		tp.mu.Unlock()
	}
}

// conn returns what went over connection id.
func (tp *tap) conn(t *testing.T, id string) *tapConn {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tc := tp.conns[id]
	if tc == nil {
		t.Fatalf("%s: no such connection went through the relay", id)
	}
	return tc
}

// control returns the payloads of the op frames sent down (by the server)
// or up (by the browser).
func (tc *tapConn) control(op frame.Opcode, down bool) []string {
	fs := tc.up
	if down {
		fs = tc.down
	}
	var out []string
	for _, f := range fs {
		if f.op == op {
			out = append(out, f.payload)
		}
	}
	return out
}
