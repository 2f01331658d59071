package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/websocket"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

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
	bs := startBrowserServer(t, page, script, nil)
	tp := startTap(t, bs.addr)

	_, directPort, _ := net.SplitHostPort(bs.addr)
	pageURL := "http://" + tp.addr + "/?direct=" + directPort
	ctx, cancel := context.WithTimeout(context.Background(), 280*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "browser.mjs"), pageURL, chromium, "250000")
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
