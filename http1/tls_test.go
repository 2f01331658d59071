package http1

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

// tlsServer is an HTTPS Server of the tests with its group and certificate.
type tlsServer struct {
	s    *Server
	g    *ioloop.Group
	cert *selfsigned.Cert
	addr string // 127.0.0.1:port
	url  string // https://127.0.0.1:port
	hits atomic.Int64
}

// newCert makes a certificate for localhost, 127.0.0.1 and ::1, or for
// hosts.
func newCert(t testing.TB, hosts ...string) *selfsigned.Cert {
	t.Helper()
	c, err := selfsigned.New(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startTLS serves tlsHandler over HTTPS on a new two-loop group; cfg may
// be nil (a certificate of newCert), and gets that certificate when it has
// none. Everything closes when the test ends.
func startTLS(t testing.TB, cfg *tls.Config) *tlsServer { return startTLSHandler(t, cfg, nil) }

// startTLSHandler is startTLS with the handler h (nil: tlsHandler).
func startTLSHandler(t testing.TB, cfg *tls.Config, h Handler) *tlsServer {
	t.Helper()
	ts := &tlsServer{cert: newCert(t)}
	if h == nil {
		h = tlsHandler(&ts.hits)
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if len(cfg.Certificates) == 0 {
		cfg.Certificates = []tls.Certificate{ts.cert.TLS}
	}
	ts.s = &Server{Handler: h, TLSConfig: cfg}
	g, err := ioloop.New(ioloop.Options{Loops: 2, IOUring: testIOUring})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ts.s.Listen(g, "tcp", "127.0.0.1:0")
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ts.s.Close()
		g.Close()
	})
	ts.g = g
	ts.addr = ln.Addr().String()
	ts.url = "https://" + ts.addr
	return ts
}

// tlsInfo describes a request's TLS state in one line ("plain" without).
func tlsInfo(st *tls.ConnectionState) string {
	if st == nil {
		return "plain"
	}
	peer := "-"
	if len(st.PeerCertificates) > 0 {
		peer = st.PeerCertificates[0].Subject.CommonName
	}
	sni := st.ServerName
	if sni == "" {
		sni = "-"
	}
	return fmt.Sprintf("version=%s alpn=%s sni=%s resumed=%v peer=%s",
		tls.VersionName(st.Version), st.NegotiatedProtocol, sni, st.DidResume, peer)
}

// bigBody returns n bytes of a fixed pattern.
func bigBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// tlsHandler serves /info natively (the request's TLS state, see tlsInfo)
// and, through the net/http adapter, /echo (the body back), /adapted
// (r.TLS as the adapter sets it) and /big?n= (n bytes of bigBody). hits
// counts the requests that reached it.
func tlsHandler(hits *atomic.Int64) Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength >= 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
		}
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("/adapted", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, tlsInfo(r.TLS))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		_, _ = w.Write(bigBody(n))
	})
	ad := Adapt(mux)
	return HandlerFunc(func(w *ResponseWriter, r *Request) {
		hits.Add(1)
		if string(r.Path()) == "/info" {
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString(tlsInfo(r.TLS()))
			return
		}
		ad.ServeHTTP1(w, r)
	})
}

// needTool returns the path of a program the test runs as a peer: the test
// is skipped when it is missing, and fails when env CI is set.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (Debian package %s); CI must have it", name, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s)", name, pkg)
	}
	return p
}

// goHTTPS returns a net/http client of one TLS version trusting cert, with
// HTTP/2 off and ALPN "http/1.1" offered.
func goHTTPS(t testing.TB, cert *selfsigned.Cert, version uint16) *http.Client {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs: cert.Pool, MinVersion: version, MaxVersion: version,
			NextProtos: []string{"http/1.1"},
		},
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
		ForceAttemptHTTP2: false,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// getString GETs url with c and returns the body; the status must be 200.
func getString(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %q %v", url, resp.StatusCode, b, err)
	}
	return string(b)
}

// waitFor polls cond for up to ten seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTLSServerGoTransport runs net/http's Transport against the HTTPS
// server with TLS 1.2 and 1.3: the request's TLS state (native and
// adapted), keep-alive over one handshake, and a large POST echoed byte for
// byte.
func TestTLSServerGoTransport(t *testing.T) {
	for _, tc := range []struct {
		version uint16
		size    int
	}{{tls.VersionTLS12, 1<<20 + 7}, {tls.VersionTLS13, 16 << 20}} {
		t.Run(tls.VersionName(tc.version), func(t *testing.T) {
			checkLeaks(t)
			ts := startTLS(t, nil)
			c := goHTTPS(t, ts.cert, tc.version)
			want := fmt.Sprintf("version=%s alpn=http/1.1 sni=- resumed=false peer=-", tls.VersionName(tc.version))
			reused := 0
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused++
				}
			}}
			for i := range 5 {
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", ts.url+"/info", nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != want || resp.TLS == nil || resp.TLS.Version != tc.version {
					t.Fatalf("request %d: %q, want %q", i, b, want)
				}
			}
			if got := getString(t, c, ts.url+"/adapted"); got != want {
				t.Fatalf("adapted: %q, want %q", got, want)
			}
			body := make([]byte, tc.size)
			_, _ = rand.Read(body)
			resp, err := c.Post(ts.url+"/echo", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("echo: %d bytes (want %d), equal %v, %v", len(got), len(body), bytes.Equal(got, body), err)
			}
			if reused != 4 {
				t.Fatalf("%d of 4 later requests reused the connection", reused)
			}
			if st := ts.g.TLSStats(); st.Handshakes != 1 || st.HandshakeErrors != 0 {
				t.Fatalf("stats %+v: want 1 handshake for every request", st)
			}
		})
	}
}

// TestTLSRequestPlain checks that Request.TLS and the adapter's r.TLS are
// nil over plain HTTP, and that Request.TLS allocates nothing there, nor
// over TLS once the state was copied.
func TestTLSRequestPlain(t *testing.T) {
	checkLeaks(t)
	var hits atomic.Int64
	allocs := make(chan string, 2)
	h := tlsHandler(&hits)
	measure := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) != "/allocs" {
			h.ServeHTTP1(w, r)
			return
		}
		n := testing.AllocsPerRun(50, func() { _ = r.TLS() })
		allocs <- fmt.Sprintf("%s: %v", tlsInfo(r.TLS())[:5], n)
		_, _ = w.WriteString("ok")
	})
	addr := serve(t, &Server{Handler: measure}, ioloop.Options{})
	c := &http.Client{Timeout: 30 * time.Second}
	if got := getString(t, c, "http://"+addr+"/info"); got != "plain" {
		t.Fatalf("native: %q", got)
	}
	if got := getString(t, c, "http://"+addr+"/adapted"); got != "plain" {
		t.Fatalf("adapted: %q", got)
	}
	getString(t, c, "http://"+addr+"/allocs")
	if got := <-allocs; got != "plain: 0" {
		t.Fatalf("Request.TLS allocates: %s per call", got)
	}
	ts := startTLSHandler(t, nil, measure)
	getString(t, goHTTPS(t, ts.cert, tls.VersionTLS13), ts.url+"/allocs")
	if got := <-allocs; got != "versi: 0" {
		t.Fatalf("Request.TLS allocates: %s per call over TLS", got)
	}
}

// TestTLSHandshakeFailureNoHandler sends the server what is not a TLS
// handshake, and a handshake its client gives up (an unknown certificate):
// the handler never runs, the connections close, and the failures are
// counted.
func TestTLSHandshakeFailureNoHandler(t *testing.T) {
	checkLeaks(t)
	ts := startTLS(t, nil)
	c := dial(t, ts.addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c) // crypto/tls may answer with an alert; then the close
	if bytes.Contains(b, []byte("HTTP/1.1")) {
		t.Fatalf("plain request answered in HTTP: %q", b)
	}
	// The server lingers until this side closes too, then counts the failure.
	c.Close()
	// A client that does not trust the certificate.
	tc, err := tls.Dial("tcp", ts.addr, &tls.Config{ServerName: "localhost"})
	if err == nil {
		tc.Close()
		t.Fatal("handshake with an unknown certificate succeeded")
	}
	waitFor(t, "two failed handshakes", func() bool { return ts.g.TLSStats().HandshakeErrors == 2 })
	waitFor(t, "no connection", func() bool { return ts.s.NumConns() == 0 })
	if n := ts.hits.Load(); n != 0 {
		t.Fatalf("the handler ran %d times", n)
	}
	// The server still serves.
	if got := getString(t, goHTTPS(t, ts.cert, tls.VersionTLS13), ts.url+"/info"); !strings.HasPrefix(got, "version=TLS 1.3") {
		t.Fatalf("after the failures: %q", got)
	}
	if st := ts.g.TLSStats(); st.Handshakes != 1 || st.HandshakeErrors != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTLSMutualGo: a server that requires client certificates sees the
// Go client's certificate, and refuses a client without one before the
// handler.
func TestTLSMutualGo(t *testing.T) {
	checkLeaks(t)
	client := newCert(t, "client-one")
	ts := startTLS(t, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: client.Pool})
	with := goHTTPS(t, ts.cert, tls.VersionTLS13)
	with.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{client.TLS}
	if got := getString(t, with, ts.url+"/adapted"); !strings.HasSuffix(got, "peer=client-one") {
		t.Fatalf("with a certificate: %q", got)
	}
	without := goHTTPS(t, ts.cert, tls.VersionTLS13)
	if resp, err := without.Get(ts.url + "/info"); err == nil {
		resp.Body.Close()
		t.Fatalf("without a certificate: %d", resp.StatusCode)
	}
	waitFor(t, "the failed handshake", func() bool { return ts.g.TLSStats().HandshakeErrors == 1 })
	if n := ts.hits.Load(); n != 1 {
		t.Fatalf("the handler ran %d times, want 1", n)
	}
}

// sniffListener serves plain HTTP and HTTPS on one port: a connection whose
// first byte is a TLS handshake record is wrapped in tls.Server.
type sniffListener struct {
	net.Listener
	cfg *tls.Config
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return l.Accept()
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, first: b[:]}
	if b[0] == 22 {
		return tls.Server(pc, l.cfg), nil
	}
	return pc, nil
}

type prefixConn struct {
	net.Conn
	first []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(p, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// TestTLSServerALPN: the server agrees on http/1.1 with an empty
// NextProtos, keeps the protocols a config lists, and refuses a client
// that offers only h2.
func TestTLSServerALPN(t *testing.T) {
	checkLeaks(t)
	ts := startTLS(t, &tls.Config{NextProtos: []string{"acme"}})
	for _, tc := range []struct {
		offer []string
		want  string
	}{{[]string{"h2", "http/1.1"}, "http/1.1"}, {[]string{"acme"}, "acme"}, {nil, ""}} {
		c, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.cert.Pool, ServerName: "127.0.0.1", NextProtos: tc.offer})
		if err != nil {
			t.Fatalf("%q: %v", tc.offer, err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != tc.want {
			t.Errorf("%q: %q, want %q", tc.offer, got, tc.want)
		}
		c.Close()
	}
	if c, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.cert.Pool, ServerName: "127.0.0.1", NextProtos: []string{"h2"}}); err == nil {
		c.Close()
		t.Fatal("a client offering only h2 got a connection")
	}
}
