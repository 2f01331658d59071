package http1

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/internal/selfsigned"
)

// writePEMs writes cert's certificate and key to files in a temporary
// directory and returns their paths.
func writePEMs(t testing.TB, cert *selfsigned.Cert) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// runCurl runs curl with args (bounded to a minute) and returns its
// standard output; it fails the test when curl fails.
func runCurl(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-sS", "--fail", "--max-time", "50"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// TestTLSCurl runs curl against the HTTPS server: TLS 1.2 and 1.3 (the
// certificate checked with --cacert), two URLs on one connection, SNI, a
// large POST echoed byte for byte, and a rate-limited download (the
// server's output waits for a slow reader).
func TestTLSCurl(t *testing.T) {
	bin := needTool(t, "curl", "curl")
	checkLeaks(t)
	ts := startTLS(t, nil)
	pem, _ := writePEMs(t, ts.cert)
	info := func(v string) string { return "version=TLS " + v + " alpn=http/1.1 sni=- resumed=false peer=-" }

	if got := string(runCurl(t, bin, "--cacert", pem, "--tlsv1.2", "--tls-max", "1.2", ts.url+"/info")); got != info("1.2") {
		t.Fatalf("TLS 1.2: %q", got)
	}
	if got := string(runCurl(t, bin, "--cacert", pem, "--tlsv1.3", ts.url+"/info", ts.url+"/adapted")); got != info("1.3")+info("1.3") {
		t.Fatalf("TLS 1.3: %q", got)
	}
	if st := ts.g.TLSStats(); st.Handshakes != 2 {
		t.Fatalf("stats %+v: want one handshake per curl", st)
	}
	host := strings.Replace(ts.url, "127.0.0.1", "localhost", 1)
	port := ts.addr[strings.LastIndexByte(ts.addr, ':')+1:]
	if got := string(runCurl(t, bin, "--cacert", pem, "--resolve", "localhost:"+port+":127.0.0.1", host+"/info")); got != "version=TLS 1.3 alpn=http/1.1 sni=localhost resumed=false peer=-" {
		t.Fatalf("SNI: %q", got)
	}

	// Not trusted without --cacert: curl fails.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-sS", "--fail", ts.url+"/info").CombinedOutput(); err == nil {
		t.Fatalf("curl without --cacert succeeded: %q", out)
	}

	body := make([]byte, 8<<20+3)
	_, _ = rand.Read(body)
	file := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	got := runCurl(t, bin, "--cacert", pem, "-H", "Content-Type: application/octet-stream", "--data-binary", "@"+file, ts.url+"/echo")
	if !bytes.Equal(got, body) {
		t.Fatalf("echo: %d bytes, want %d, equal %v", len(got), len(body), bytes.Equal(got, body))
	}

	got = runCurl(t, bin, "--cacert", pem, "--limit-rate", "100k", ts.url+"/big?n=300000")
	if !bytes.Equal(got, bigBody(300000)) {
		t.Fatalf("rate-limited download: %d bytes, want 300000", len(got))
	}
}

// syncBuffer is a bytes.Buffer for a process's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sclient drives one openssl s_client process: lines written to its
// standard input are sent to the server (a line "k" or "K" is a command:
// a KeyUpdate, the second one asking the server for one too), and its
// output (standard output and error together) is read as it comes.
type sclient struct {
	t      *testing.T
	cmd    *exec.Cmd
	cancel context.CancelFunc
	in     interface {
		Write([]byte) (int, error)
		Close() error
	}
	out  syncBuffer
	done chan struct{} // closed when the process exited
}

// startSClient runs `openssl s_client -connect addr` with args.
func startSClient(t *testing.T, bin, addr string, args ...string) *sclient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s := &sclient{t: t, cancel: cancel, done: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, bin, append([]string{"s_client", "-connect", addr}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	in, err := s.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.in = in
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait() // the exit status says nothing here: the output does
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = s.in.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			cancel()
			<-s.done
		}
		cancel()
	})
	return s
}

// send writes str to s_client's input.
func (s *sclient) send(str string) {
	s.t.Helper()
	if _, err := s.in.Write([]byte(str)); err != nil {
		s.t.Fatalf("s_client input: %v\n%s", err, s.out.String())
	}
}

// wait waits (up to 20 s) until the output holds sub n times.
func (s *sclient) wait(sub string, n int) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.out.String(), sub) < n {
		if time.Now().After(deadline) {
			s.t.Fatalf("s_client: no %d× %q in its output:\n%s", n, sub, s.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finish closes s_client's input (it then sends close_notify and exits)
// and returns its output.
func (s *sclient) finish() string {
	s.t.Helper()
	_ = s.in.Close()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("s_client did not exit:\n%s", s.out.String())
	}
	return s.out.String()
}

// infoRequest asks for /info; pad adds a header field of that many bytes.
func infoRequest(pad int) string {
	r := "GET /info HTTP/1.1\r\nHost: x\r\n"
	if pad > 0 {
		r += "X-Pad: " + strings.Repeat("p", pad) + "\r\n"
	}
	return r + "\r\n"
}

// TestTLSOpenSSL runs openssl s_client against the HTTPS server: TLS 1.2
// and 1.3, records of 512 bytes at most (a request split across many),
// ALPN, KeyUpdates both ways, session resumption, and mutual TLS.
func TestTLSOpenSSL(t *testing.T) {
	bin := needTool(t, "openssl", "openssl")
	checkLeaks(t)
	client := newCert(t, "client-one")
	ts := startTLS(t, &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: client.Pool})
	pem, _ := writePEMs(t, ts.cert)
	ccert, ckey := writePEMs(t, client)
	base := []string{"-CAfile", pem, "-verify_return_error"}

	for _, v := range []struct{ version, alpn string }{{"1_2", "http/1.1"}, {"1_3", "h2,http/1.1"}} {
		name := "TLS " + strings.Replace(v.version, "_", ".", 1)
		s := startSClient(t, bin, ts.addr, append(base, "-tls"+v.version, "-alpn", v.alpn, "-max_send_frag", "512")...)
		s.send(infoRequest(3000)) // six records or more
		s.wait("version="+name+" alpn=http/1.1 sni=- resumed=false peer=-", 1)
		out := s.finish()
		for _, want := range []string{"Verify return code: 0 (ok)", "ALPN protocol: http/1.1", "HTTP/1.1 200 OK"} {
			if !strings.Contains(out, want) {
				t.Fatalf("%s: no %q in:\n%s", name, want, out)
			}
		}
	}

	t.Run("KeyUpdate", func(t *testing.T) {
		s := startSClient(t, bin, ts.addr, append(base, "-tls1_3")...)
		want := "version=TLS 1.3 alpn= sni=- resumed=false peer=-"
		s.send(infoRequest(0))
		s.wait(want, 1)
		s.send("k\n") // a KeyUpdate
		s.wait("KEYUPDATE", 1)
		s.send(infoRequest(0))
		s.wait(want, 2)
		s.send("K\n") // a KeyUpdate asking for one back
		s.wait("KEYUPDATE", 2)
		s.send(infoRequest(100))
		s.wait(want, 3)
		s.send(infoRequest(0))
		s.wait(want, 4)
		if out := s.finish(); strings.Contains(out, "alert") {
			t.Fatalf("an alert:\n%s", out)
		}
	})

	t.Run("Resumption", func(t *testing.T) {
		for _, v := range []string{"1_2", "1_3"} {
			name := "TLS " + strings.Replace(v, "_", ".", 1)
			sess := filepath.Join(t.TempDir(), "session.pem")
			s := startSClient(t, bin, ts.addr, append(base, "-tls"+v, "-sess_out", sess)...)
			s.send(infoRequest(0))
			s.wait("version="+name+" alpn= sni=- resumed=false", 1)
			if out := s.finish(); !strings.Contains(out, "\nNew, TLSv") {
				t.Fatalf("%s, first: not a new session:\n%s", name, out)
			}
			s = startSClient(t, bin, ts.addr, append(base, "-tls"+v, "-sess_in", sess)...)
			s.send(infoRequest(0))
			s.wait("version="+name+" alpn= sni=- resumed=true", 1)
			if out := s.finish(); !strings.Contains(out, "\nReused, TLSv"+strings.Replace(v, "_", ".", 1)) {
				t.Fatalf("%s, second: not reused:\n%s", name, out)
			}
		}
	})

	t.Run("ClientCertificate", func(t *testing.T) {
		s := startSClient(t, bin, ts.addr, append(base, "-tls1_3", "-cert", ccert, "-key", ckey)...)
		s.send(infoRequest(0))
		s.wait("version=TLS 1.3 alpn= sni=- resumed=false peer=client-one", 1)
		s.finish()
	})

	t.Run("ClientCertificateRequired", func(t *testing.T) {
		cfg := &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: client.Pool}
		ms := startTLS(t, cfg)
		mpem, _ := writePEMs(t, ms.cert)
		for _, v := range []string{"1_2", "1_3"} {
			s := startSClient(t, bin, ms.addr, "-CAfile", mpem, "-tls"+v, "-cert", ccert, "-key", ckey)
			s.send(infoRequest(0))
			s.wait("peer=client-one", 1)
			s.finish()
		}
		before := ms.g.TLSStats()
		for i, v := range []string{"1_2", "1_3"} {
			s := startSClient(t, bin, ms.addr, "-CAfile", mpem, "-tls"+v)
			// s_client may have exited already (the handshake failed): the
			// write may fail.
			_, _ = s.in.Write([]byte(infoRequest(0)))
			out := s.finish()
			if strings.Contains(out, "HTTP/1.1") {
				t.Fatalf("TLS %s without a certificate: answered:\n%s", v, out)
			}
			waitFor(t, "the failed handshake", func() bool { return ms.g.TLSStats().HandshakeErrors == before.HandshakeErrors+uint64(i)+1 })
		}
		if n := ms.hits.Load(); n != 2 {
			t.Fatalf("the handler ran %d times, want 2", n)
		}
		if st := ms.g.TLSStats(); st.Handshakes != before.Handshakes {
			t.Fatalf("stats %+v, before %+v", st, before)
		}
	})
}
