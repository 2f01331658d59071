package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop/websocket"
)

// runBrowser runs testdata/node/browser.mjs on pageURL with Chromium's
// extra command-line args and returns the checks it reported, by name; it
// fails the test when the driver failed or the page did not report done.
func runBrowser(t *testing.T, dir, chromium, pageURL string, args ...string) map[string]browserResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 280*time.Second)
	defer cancel()
	argv := append([]string{filepath.Join(dir, "browser.mjs"), pageURL, chromium, "250000"}, args...)
	cmd := exec.CommandContext(ctx, "node", argv...)
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
	if d, ok := results["driver"]; ok || runErr != nil {
		t.Fatalf("browser driver: %v %s\nstderr:\n%s", runErr, d.Detail, stderr.String())
	}
	if d, ok := results["done"]; !ok || !d.OK {
		t.Fatalf("browser driver ended without finishing the checks: %s\nstderr:\n%s", d.Detail, stderr.String())
	}
	t.Logf("browser: %s", results["done"].UserAgent)
	return results
}

// TestChromiumWSS runs headless Chromium (through playwright-core) against
// this package's server over TLS: the page comes over HTTPS and its script
// (testdata/browser/wss.js) uses the browser's WebSocket over wss:// to the
// same server. Chromium trusts the test's self-signed certificate by its
// public key's hash (--ignore-certificate-errors-spki-list), and nothing
// else. Checked: text and binary messages from 0 B to 1 MiB (sizes around
// the 16 KiB TLS record included), all sent before the first echo, echoed
// byte for byte with and without permessage-deflate, the server seeing each
// message's type, length and SHA-256; a close by the server with its code
// and reason, clean on the browser's side; the connections were TLS 1.3.
// Chromium's ClientHello carries a post-quantum key share (X25519MLKEM768)
// and is larger than the classic one, which exercises the server's
// buffering of the first record.
func TestChromiumWSS(t *testing.T) {
	dir, chromium := chromiumHarness(t)
	checkLeaks(t)
	cert := newCert(t)
	page, err := os.ReadFile(filepath.Join("testdata", "browser", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("testdata", "browser", "wss.js"))
	if err != nil {
		t.Fatal(err)
	}
	bs := startBrowserServer(t, page, script, &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	spki := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	results := runBrowser(t, dir, chromium, "https://"+bs.addr+"/",
		"--ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(spki[:]))
	checks := []string{"wss-plain", "wss-deflate", "wss-server-close"}
	for _, name := range checks {
		if r, ok := results[name]; !ok {
			t.Errorf("check %s: not reported", name)
		} else if !r.OK {
			t.Errorf("check %s: browser says: %s", name, r.Detail)
		}
	}
	if len(results) != len(checks)+1 {
		t.Errorf("%d results, want %d checks and done", len(results), len(checks)+1)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, mode := range []string{"plain", "deflate"} {
		id := "wss-" + mode
		r := results[id]
		c := bs.conn(t, id)
		if got := len(c.msgs); got != len(r.Sent) || got != 20 {
			t.Fatalf("%s: the server got %d messages, the browser sent %d", id, got, len(r.Sent))
		}
		for i, s := range r.Sent {
			m := c.msgs[i]
			if m.mt.String() != s.Type || m.n != s.Len || m.sha != s.SHA256 {
				t.Errorf("%s: message %d: the server got %v of %d bytes (sha256 %s), the browser sent %s of %d (%s)",
					id, i, m.mt, m.n, m.sha, s.Type, s.Len, s.SHA256)
			}
		}
		if c.compressed != (mode == "deflate") || c.protocol != "ioloop.v1" {
			t.Errorf("%s: Compressed() = %v, Subprotocol() = %q", id, c.compressed, c.protocol)
		}
		checkClose(t, id, c.closed, websocket.CloseNormal, "echo done", true)
	}
	checkClose(t, "wss-server-close", bs.conn(t, "wss-server-close").closed, 4001, "server bye \u2713", false)
	for _, id := range append(checks[:0:0], checks...) {
		st := bs.conn(t, id).tls
		if st.Version != tls.VersionTLS13 || !st.HandshakeComplete {
			t.Errorf("%s: TLS version %x, handshake complete %v: want TLS 1.3", id, st.Version, st.HandshakeComplete)
		}
		if st.CurveID != tls.X25519MLKEM768 {
			t.Errorf("%s: key exchange %v: want Chromium's post-quantum X25519MLKEM768 (the large ClientHello)", id, st.CurveID)
		}
		t.Logf("%s: %s, %s, key exchange %v", id, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
	}
}
