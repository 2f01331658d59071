package websocket_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
	"github.com/ioloop/ioloop/websocket"
)

// nodeHarness returns the directory of the ws-package harness, or skips the
// test when node or the installed package is missing. Install it with
// `npm install --prefix websocket/testdata/node`.
func nodeHarness(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" { // CI installs both (.ci/run): a skip would hide a broken setup
			t.Fatalf("CI is set but "+format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed: the interop tests against the npm ws package need it")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		missing("the npm ws package is not installed: run `npm ci --prefix websocket/testdata/node`")
	}
	return dir
}

// writePEM writes cert's certificate and key to files in a temporary
// directory, for node, and returns their paths.
func writePEM(t *testing.T, cert *selfsigned.Cert) (certFile, keyFile string) {
	t.Helper()
	d := t.TempDir()
	certFile, keyFile = filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem")
	if err := os.WriteFile(certFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestNodeClient: the ws package's client against this package's server,
// over ws:// and wss:// (TLS 1.3, the certificate verified by node against
// the test's CA), text and binary from 0 B to 16 MiB, a fragmented message
// with a ping inside, and a close started by the client.
func TestNodeClient(t *testing.T) {
	dir := nodeHarness(t)
	checkLeaks(t)
	cert := newCert(t)
	caFile, _ := writePEM(t, cert)
	for _, secure := range []bool{false, true} {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("tls=%v/deflate=%v", secure, deflate), func(t *testing.T) {
				testNodeClient(t, dir, secure, deflate, cert, caFile)
			})
		}
	}
}

func testNodeClient(t *testing.T, dir string, secure, deflate bool, cert *selfsigned.Cert, caFile string) {
	srec := newRecorder(true)
	cfg := websocket.Config{Compression: deflate, MaxMessageSize: 32 << 20}
	o := ioloop.Options{HighWater: 40 << 20, LowWater: 1 << 20}
	args := []string{filepath.Join(dir, "client.mjs")}
	var s *server
	if secure {
		s = newTLSServer(t, o, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec }, cert)
	} else {
		s = newServer(t, o, &websocket.Upgrader{Config: cfg}, func() websocket.Handler { return srec })
	}
	arg := "plain"
	if deflate {
		arg = "deflate"
	}
	args = append(args, s.url, arg)
	if secure {
		args = append(args, caFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", args...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node client: %v\n%s", err, out)
	}
	ce := recv(t, srec.closed, "server close")
	if ce.Code != 4001 || ce.Reason != "interop done" || !ce.Remote || ce.Err != nil {
		t.Fatalf("server saw %v", ce)
	}
}

// TestNodeServer: this package's client against the ws package's server,
// over ws:// and over wss:// (node's https server, the certificate verified
// by the Dialer against the test's CA).
func TestNodeServer(t *testing.T) {
	dir := nodeHarness(t)
	checkLeaks(t)
	cert := newCert(t)
	certFile, keyFile := writePEM(t, cert)
	for _, secure := range []bool{false, true} {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("tls=%v/deflate=%v", secure, deflate), func(t *testing.T) {
				testNodeServer(t, dir, secure, deflate, cert, certFile, keyFile)
			})
		}
	}
}

func testNodeServer(t *testing.T, dir string, secure, deflate bool, cert *selfsigned.Cert, certFile, keyFile string) {
	arg := "plain"
	if deflate {
		arg = "deflate"
	}
	args := []string{filepath.Join(dir, "server.mjs"), arg}
	scheme := "ws://"
	var tlsCfg *tls.Config
	if secure {
		args = append(args, certFile, keyFile)
		scheme = "wss://"
		tlsCfg = &tls.Config{RootCAs: cert.Pool}
	}
	cmd := exec.Command("node", args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "port ") {
		t.Fatalf("node server: %q %v", line, err)
	}
	url := scheme + "127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "port ")) + "/"

	g, err := ioloop.New(ioloop.Options{Loops: 1, HighWater: 40 << 20, MaxOutput: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cfg := websocket.Config{Compression: deflate, MaxMessageSize: 32 << 20}
	crec := newRecorder(false)
	c := dial(t, g, &websocket.Dialer{Config: cfg, TLSConfig: tlsCfg}, url, crec)
	compressed := false
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) { compressed = c.Compressed(); return 0, nil }).Await(context.Background())
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
	// Fragments with a ping between them; then a ping from the server.
	_, _ = ioloop.Submit(c.Loop(), func() (int, error) {
		_ = c.SendFragment(websocket.TextMessage, []byte("frag"), false)
		_ = c.Ping([]byte("x"))
		return 0, c.SendFragment(websocket.TextMessage, []byte("mented"), true)
	}).Await(context.Background())
	if got := recv(t, crec.msgs, "fragmented echo"); got.data != "fragmented" {
		t.Fatalf("got %q", got.data)
	}
	_, _ = c.WriteMessage(websocket.TextMessage, []byte("ping-me")).Await(context.Background())
	if got := recv(t, crec.msgs, "pong report"); got.data != "pong:srv" {
		t.Fatalf("got %q", got.data)
	}
	_, _ = c.WriteMessage(websocket.TextMessage, []byte("close-me")).Await(context.Background())
	ce := recv(t, crec.closed, "close")
	if ce.Code != 4002 || ce.Reason != "bye" || !ce.Remote {
		t.Fatalf("client saw %v", ce)
	}

	// A server that sends text that is not UTF-8: closed with 1007.
	c2 := dial(t, g, &websocket.Dialer{TLSConfig: tlsCfg}, url, crec)
	_, _ = c2.WriteMessage(websocket.TextMessage, []byte("bad-utf8")).Await(context.Background())
	if ce := recv(t, crec.closed, "close"); ce.Code != websocket.CloseInvalidPayload || ce.Remote {
		t.Fatalf("client saw %v", ce)
	}
}
