package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ioloop/ioloop/internal/selfsigned"
)

// startServe runs `ioloop args` and reads its standard output up to the
// line "https listening on ADDR"; it returns ADDR and the lines before it.
// The command gets SIGTERM and must exit 0 when the test ends.
func startServe(t *testing.T, args string) (addr string, before []string) {
	t.Helper()
	cmd := command(args)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServe(t, cmd) })
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", before, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if a, ok := strings.CutPrefix(line, "https listening on "); ok {
			go io.Copy(io.Discard, r)
			return a, before
		}
		before = append(before, line)
	}
}

func stopServe(t *testing.T, cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("serve did not exit after SIGTERM")
	}
}

// TestServeHTTPSEphemeral: serve --https without certificate files makes
// one, prints its fingerprint, and serves --http's routes and /ws over TLS
// beside a plain --http listener, natively and through the adapter.
func TestServeHTTPSEphemeral(t *testing.T) {
	for _, extra := range []string{"", " --adapter"} {
		t.Run("args="+extra, func(t *testing.T) {
			addr, before := startServe(t, "serve --http 127.0.0.1:0 --https 127.0.0.1:0 --echo 127.0.0.1:0 --loops 1"+extra)
			if !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Fatalf("https address %q", addr)
			}
			var printed string
			var plain bool
			for _, l := range before {
				if _, fp, ok := strings.Cut(l, "https certificate: "); ok {
					_, printed, _ = strings.Cut(fp, "SHA-256 ")
				}
				plain = plain || strings.HasPrefix(l, "http listening on 127.0.0.1:")
			}
			if printed == "" || !plain {
				t.Fatalf("no fingerprint or no http line before the https line: %q", before)
			}
			// The fingerprint printed is the certificate presented.
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			state := c.ConnectionState()
			c.Close()
			if fp := selfsigned.Fingerprint(state.PeerCertificates[0].Raw); fp != printed {
				t.Fatalf("printed fingerprint %s, presented %s", printed, fp)
			}
			leaf := state.PeerCertificates[0]
			if err := leaf.VerifyHostname("localhost"); err != nil {
				t.Fatal(err)
			}
			if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
				t.Fatal(err)
			}
			checkRoutes(t, &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, "https://"+addr)
			wssEcho(t, addr, &tls.Config{InsecureSkipVerify: true})
		})
	}
}

// TestServeHTTPSCertFiles: with --tls-cert and --tls-key the server
// presents that certificate, and a client verifying against it succeeds.
func TestServeHTTPSCertFiles(t *testing.T) {
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, before := startServe(t, "serve --loops 1 --https 127.0.0.1:0 --tls-cert "+certFile+" --tls-key "+keyFile)
	want := selfsigned.Fingerprint(cert.Leaf.Raw)
	if len(before) != 1 || !strings.Contains(before[0], "SHA-256 "+want) || !strings.Contains(before[0], certFile) {
		t.Fatalf("lines before the https line %q, want the certificate with fingerprint %s", before, want)
	}
	verify := &tls.Config{RootCAs: cert.Pool}
	checkRoutes(t, &http.Transport{TLSClientConfig: verify}, "https://"+addr)
	checkRoutes(t, &http.Transport{TLSClientConfig: verify}, "https://localhost:"+addr[strings.LastIndexByte(addr, ':')+1:])
	wssEcho(t, addr, verify)
	// A client with other roots refuses it.
	other, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: other.Pool}); err == nil {
		c.Close()
		t.Fatal("a client trusting another certificate accepted the server's")
	}
}

// wssEcho upgrades GET /ws over TLS by hand (RFC 6455 handshake, no
// extension) and checks that a masked binary message comes back unmasked,
// byte for byte.
func wssEcho(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade: %d %v", resp.StatusCode, resp.Header)
	}
	msg := []byte("over wss, byte for byte")
	mask := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x82, 0x80 | byte(len(msg))}, mask[:]...)
	for i, b := range msg {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatal(err)
	}
	if head[0] != 0x82 || head[1] != byte(len(msg)) {
		t.Fatalf("echo frame head % x", head)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, %v", got, err)
	}
	// Close handshake: the server answers 1000.
	closeFrame := append([]byte{0x88, 0x82}, mask[:]...)
	code := binary.BigEndian.AppendUint16(nil, 1000)
	closeFrame = append(closeFrame, code[0]^mask[0], code[1]^mask[1])
	if _, err := c.Write(closeFrame); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(br, reply); err != nil || !bytes.Equal(reply, []byte{0x88, 0x02, 0x03, 0xe8}) {
		t.Fatalf("close reply % x, %v", reply, err)
	}
}

// TestServeTLSBadFlags: the certificate flags come in pairs and need
// --https; files that do not load are reported with their names.
func TestServeTLSBadFlags(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ args, want string }{
		{"serve --https 127.0.0.1:0 --tls-cert " + junk, "--tls-cert and --tls-key go together"},
		{"serve --https 127.0.0.1:0 --tls-key " + junk, "--tls-cert and --tls-key go together"},
		{"serve --http 127.0.0.1:0 --tls-cert " + junk + " --tls-key " + junk, "need --https"},
		{"serve --tls-cert " + junk + " --tls-key " + junk, "nothing to serve"},
		{"serve --https 127.0.0.1:0 --tls-cert " + junk + " --tls-key " + junk, junk},
		{"serve --https 127.0.0.1:0 --tls-cert " + filepath.Join(dir, "missing.pem") + " --tls-key " + junk, "missing.pem"},
		{"serve --https 127.0.0.1:99999", "99999"},
	} {
		out, err := command(c.args).CombinedOutput()
		if err == nil {
			t.Errorf("%q exited 0; output %q", c.args, out)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%q: output %q lacks %q", c.args, out, c.want)
		}
	}
}
