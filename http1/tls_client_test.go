package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestTLSClientServer runs the client against the HTTPS server: verified
// with RootCAs, ALPN, SNI from the config, one handshake for sequential
// requests, bodies both ways, TLS 1.2, and a client certificate.
func TestTLSClientServer(t *testing.T) {
	checkLeaks(t)
	client := newCert(t, "client-one")
	ts := startTLS(t, &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: client.Pool})
	cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: ts.cert.Pool}})
	for i := range 5 {
		resp := do(t, cl, &ClientRequest{URL: ts.url + "/info"})
		if got := string(resp.Body()); resp.StatusCode != 200 || got != "version=TLS 1.3 alpn=http/1.1 sni=- resumed=false peer=-" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, got)
		}
		resp.Release()
	}
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections after sequential requests, want 1", n)
	}
	step := func(what string) {
		t.Helper()
		if st := ts.g.TLSStats(); st.Handshakes != 1 {
			t.Fatalf("after %s: stats %+v, want one handshake", what, st)
		}
	}
	step("GETs")
	body := bigBody(3<<20 + 5)
	resp := do(t, cl, &ClientRequest{Method: "POST", URL: ts.url + "/echo", Body: body})
	if !bytes.Equal(resp.Body(), body) {
		t.Fatalf("echo: %d bytes, want %d", len(resp.Body()), len(body))
	}
	resp.Release()
	step("echo")
	resp = do(t, cl, &ClientRequest{Method: "POST", URL: ts.url + "/echo", BodyReader: bytes.NewReader(body[:1<<20]), ContentLength: -1})
	if !bytes.Equal(resp.Body(), body[:1<<20]) {
		t.Fatalf("chunked echo: %d bytes", len(resp.Body()))
	}
	resp.Release()
	// (The connection may not be reused after a body sent from a reader:
	// a response that ends before the writer reported back closes it.)
	resp = do(t, cl, &ClientRequest{URL: ts.url + "/big?n=5000000", Stream: true})
	got, err := io.ReadAll(resp.BodyReader())
	if err != nil || !bytes.Equal(got, bigBody(5000000)) {
		t.Fatalf("streamed download: %d bytes, %v", len(got), err)
	}
	resp.Release()

	for _, tc := range []struct {
		cfg  *tls.Config
		want string
	}{
		{&tls.Config{RootCAs: ts.cert.Pool, ServerName: "localhost"}, "version=TLS 1.3 alpn=http/1.1 sni=localhost resumed=false peer=-"},
		{&tls.Config{RootCAs: ts.cert.Pool, MaxVersion: tls.VersionTLS12}, "version=TLS 1.2 alpn=http/1.1 sni=- resumed=false peer=-"},
		{&tls.Config{RootCAs: ts.cert.Pool, Certificates: []tls.Certificate{client.TLS}}, "version=TLS 1.3 alpn=http/1.1 sni=- resumed=false peer=client-one"},
		{&tls.Config{InsecureSkipVerify: true}, "version=TLS 1.3 alpn=http/1.1 sni=- resumed=false peer=-"},
	} {
		c := newClient(t, &Client{TLSConfig: tc.cfg})
		resp := do(t, c, &ClientRequest{URL: ts.url + "/adapted"})
		if got := string(resp.Body()); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
		resp.Release()
	}
}

// TestTLSClientVerifyFails: a certificate the client does not trust is the
// request's error, with the x509 error inside; it is not retried, and the
// handler never runs.
func TestTLSClientVerifyFails(t *testing.T) {
	checkLeaks(t)
	ts := startTLS(t, nil)
	cl := newClient(t, nil) // the system's roots: the test certificate is unknown
	_, err := cl.DoContext(context.Background(), &ClientRequest{URL: ts.url + "/info"})
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	if !errors.Is(err, ioloop.ErrTLSHandshake) || !errors.As(err, &cve) || !errors.As(err, &uae) {
		t.Fatalf("got %v, want a handshake error with an x509.UnknownAuthorityError", err)
	}
	if !strings.HasPrefix(err.Error(), "http1: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
	// A name the certificate does not hold.
	wrong := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: ts.cert.Pool, ServerName: "example.com"}})
	_, err = wrong.DoContext(context.Background(), &ClientRequest{URL: ts.url + "/info"})
	var hne x509.HostnameError
	if !errors.Is(err, ioloop.ErrTLSHandshake) || !errors.As(err, &hne) {
		t.Fatalf("got %v, want a handshake error with an x509.HostnameError", err)
	}
	good := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: ts.cert.Pool}})
	resp := do(t, good, &ClientRequest{URL: ts.url + "/info"})
	resp.Release()
	waitFor(t, "the server's count", func() bool { st := ts.g.TLSStats(); return st.Handshakes == 1 && st.HandshakeErrors >= 2 })
	if st := ts.g.TLSStats(); st.HandshakeErrors != 2 {
		t.Fatalf("stats %+v: a failed handshake was retried", st)
	}
	if n := ts.hits.Load(); n != 1 {
		t.Fatalf("the handler ran %d times, want 1", n)
	}
}

// TestTLSClientHostConfig checks the per-host copy of Client.TLSConfig.
func TestTLSClientHostConfig(t *testing.T) {
	base := &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	cl := &Client{TLSConfig: base}
	for _, tc := range []struct{ addr, want string }{
		{"example.com:443", "example.com"}, {"[::1]:8443", "::1"}, {"127.0.0.1:1", "127.0.0.1"},
	} {
		c := cl.hostTLS(tc.addr)
		if c.ServerName != tc.want || len(c.NextProtos) != 1 || c.NextProtos[0] != "http/1.1" {
			t.Errorf("%s: ServerName %q, NextProtos %q", tc.addr, c.ServerName, c.NextProtos)
		}
	}
	if len(base.NextProtos) != 2 || base.ServerName != "" {
		t.Fatalf("the Client's config was changed: %+v", base)
	}
	cl.TLSConfig = &tls.Config{ServerName: "named"}
	if c := cl.hostTLS("example.com:443"); c.ServerName != "named" {
		t.Fatalf("ServerName %q, want the config's", c.ServerName)
	}
}

// TestTLSClientSchemesApart: http and https to one host:port (a server that
// speaks both) use separate connections, and a redirect may change the
// scheme.
func TestTLSClientSchemesApart(t *testing.T) {
	checkLeaks(t)
	cert := newCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to-https" {
			http.Redirect(w, r, "https://"+addr+"/where", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, tlsInfo(r.TLS)[:5])
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(sniffListener{ln, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: cert.Pool}, Redirect: func(*Response, int) bool { return true }})
	for i := range 6 {
		scheme, want := "http://", "plain"
		if i%2 == 1 {
			scheme, want = "https://", "versi"
		}
		resp := do(t, cl, &ClientRequest{URL: scheme + addr + "/"})
		if got := string(resp.Body()); got != want {
			t.Fatalf("request %d (%s): %q, want %q", i, scheme, got, want)
		}
		resp.Release()
	}
	if n := cl.NumConns(); n != 2 {
		t.Fatalf("%d connections, want one per scheme", n)
	}
	resp := do(t, cl, &ClientRequest{URL: "http://" + addr + "/to-https"})
	if got := string(resp.Body()); got != "versi" {
		t.Fatalf("after the redirect to https: %q", got)
	}
	resp.Release()
}

// TestTLSClientHTTPTest runs the client against net/http's
// httptest.NewTLSServer.
func TestTLSClientHTTPTest(t *testing.T) {
	checkLeaks(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Proto", r.TLS.NegotiatedProtocol)
		if r.URL.Path == "/chunked" {
			for range 3 {
				_, _ = w.Write(b)
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: pool}})
	body := bigBody(200000)
	for i := range 3 {
		resp := do(t, cl, &ClientRequest{Method: "POST", URL: srv.URL + "/", Body: body})
		if !bytes.Equal(resp.Body(), body) || string(resp.Header("X-Proto")) != "http/1.1" {
			t.Fatalf("request %d: %d bytes, proto %q", i, len(resp.Body()), resp.Header("X-Proto"))
		}
		resp.Release()
	}
	resp := do(t, cl, &ClientRequest{Method: "PUT", URL: srv.URL + "/chunked", Body: []byte("abc")})
	if string(resp.Body()) != "abcabcabc" {
		t.Fatalf("chunked: %q", resp.Body())
	}
	resp.Release()
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// closeDelimited serves one response without a length on each TLS
// connection and ends it with close_notify (clean) or with a bare FIN.
func closeDelimited(t *testing.T, clean bool) (url string, cert *tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	c := newCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer raw.Close()
				_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
				tc := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{c.TLS}})
				if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
					return
				}
				_, _ = io.WriteString(tc, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
				_, _ = tc.Write(bigBody(100000))
				if clean {
					_ = tc.Close() // close_notify, then the FIN
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return "https://" + ln.Addr().String() + "/", &c.TLS, c.Pool
}

// TestTLSClientTruncated: a close-delimited body ended by a FIN without
// close_notify is an error (ErrTruncated), buffered or streamed; with
// close_notify it is the body.
func TestTLSClientTruncated(t *testing.T) {
	checkLeaks(t)
	for _, clean := range []bool{true, false} {
		url, _, pool := closeDelimited(t, clean)
		cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: pool}})
		resp, err := cl.DoContext(context.Background(), &ClientRequest{URL: url})
		switch {
		case clean && (err != nil || !bytes.Equal(resp.Body(), bigBody(100000))):
			t.Fatalf("with close_notify: %v", err)
		case !clean && (!errors.Is(err, ErrTruncated) || !errors.Is(err, ioloop.ErrTLSTruncated) || !errors.Is(err, io.ErrUnexpectedEOF)):
			t.Fatalf("without close_notify: got %v, want ErrTruncated", err)
		}
		if resp != nil {
			resp.Release()
		}
		resp, err = cl.DoContext(context.Background(), &ClientRequest{URL: url, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.BodyReader())
		switch {
		case clean && (err != nil || !bytes.Equal(got, bigBody(100000))):
			t.Fatalf("streamed, with close_notify: %d bytes, %v", len(got), err)
		case !clean && !errors.Is(err, ErrTruncated):
			t.Fatalf("streamed, without close_notify: %d bytes, %v; want ErrTruncated", len(got), err)
		}
		resp.Release()
	}
}

// TestTLSClientNginx runs the client against nginx over TLS.
func TestTLSClientNginx(t *testing.T) {
	cert := newCert(t)
	base := startNginxTLS(t, cert)
	checkLeaks(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: cert.Pool, MinVersion: v, MaxVersion: v}})
		for i := range 5 {
			resp := do(t, cl, &ClientRequest{URL: base + "/plaintext"})
			if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" {
				t.Fatalf("%s request %d: %d %q", tls.VersionName(v), i, resp.StatusCode, resp.Body())
			}
			resp.Release()
		}
		big := bytes.Repeat([]byte("nginx-body-0123456789abcdef\n"), 40000)
		resp := do(t, cl, &ClientRequest{URL: base + "/big.txt"})
		if !bytes.Equal(resp.Body(), big) {
			t.Fatalf("big.txt: %d bytes, want %d", len(resp.Body()), len(big))
		}
		resp.Release()
		if n := cl.NumConns(); n != 1 {
			t.Fatalf("%d connections, want 1", n)
		}
	}
}

// TestTLSClientResumption: with a ClientSessionCache in Client.TLSConfig,
// a new connection to the host resumes the session of the one before.
func TestTLSClientResumption(t *testing.T) {
	checkLeaks(t)
	ts := startTLS(t, nil)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cl := newClient(t, &Client{TLSConfig: &tls.Config{RootCAs: ts.cert.Pool, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}})
		for i, want := range []string{"resumed=false", "resumed=true", "resumed=true"} {
			// Close: each request on a connection of its own.
			resp := do(t, cl, &ClientRequest{URL: ts.url + "/info", Close: true})
			if got := string(resp.Body()); !strings.Contains(got, "version="+tls.VersionName(v)) || !strings.Contains(got, want) {
				t.Fatalf("%s request %d: %q, want %s", tls.VersionName(v), i, got, want)
			}
			resp.Release()
		}
	}
}

// TestTLSClientPipeline: pipelined requests on one TLS connection.
func TestTLSClientPipeline(t *testing.T) {
	checkLeaks(t)
	ts := startTLS(t, nil)
	cl := newClient(t, &Client{MaxConnsPerHost: 1, Pipeline: 8, TLSConfig: &tls.Config{RootCAs: ts.cert.Pool}})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		path := "/info"
		if i%3 == 2 {
			path = "/big?n=70000"
		}
		cl.DoFunc(&ClientRequest{URL: ts.url + path}, func(r *Response, err error) {
			defer wg.Done()
			switch {
			case err != nil:
				t.Errorf("%s: %v", path, err)
			case path == "/info" && !strings.HasPrefix(string(r.Body()), "version=TLS 1.3 alpn=http/1.1"):
				t.Errorf("%s: %q", path, r.Body())
			case path != "/info" && !bytes.Equal(r.Body(), bigBody(70000)):
				t.Errorf("%s: %d bytes", path, len(r.Body()))
			}
		})
	}
	wg.Wait()
	if st := ts.g.TLSStats(); st.Handshakes != 1 {
		t.Fatalf("stats %+v, want one connection", st)
	}
}
