package http1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/internal/selfsigned"
)

// startNginx runs nginx (Debian package nginx-light or nginx) on a free
// 127.0.0.1 port with a generated configuration, and returns its base URL.
// The test is skipped when nginx is not installed.
func startNginx(t *testing.T) string { return startNginxTLS(t, nil) }

// startNginxTLS is startNginx serving HTTPS with cert when it is not nil
// (the base URL is then "https://...").
func startNginxTLS(t *testing.T, cert *selfsigned.Cert) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/nginx"); err2 != nil {
			t.Skip("nginx is not installed (Debian package nginx-light); skipping the nginx interop test")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("nginx-body-0123456789abcdef\n"), 40000)
	if err := os.WriteFile(filepath.Join(www, "big.txt"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	listen, scheme := addr, "http://"
	if cert != nil {
		cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(cf, cert.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kf, cert.KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		listen = fmt.Sprintf("%s ssl; ssl_certificate %s; ssl_certificate_key %s; ssl_protocols TLSv1.2 TLSv1.3", addr, cf, kf)
		scheme = "https://"
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	keepalive_requests 100000;
	server {
		listen %[2]s;
		root %[1]s/www;
		location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
		location = /moved { return 301 /plaintext; }
		location = /empty { return 204; }
	}
}
`, dir, listen)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start on %s: %v\n%s\n%s", addr, err, out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return scheme + addr
}

// TestClientNginx runs the client against nginx: keep-alive, a large
// static file, HEAD, 204, a redirect left alone, 404, and pipelining.
func TestClientNginx(t *testing.T) {
	base := startNginx(t)
	checkLeaks(t)
	cl := newClient(t, &Client{MaxConnsPerHost: 2})
	for i := range 10 {
		resp := do(t, cl, &ClientRequest{URL: base + "/plaintext"})
		if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" || len(resp.Header("Server")) == 0 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, resp.Body())
		}
	}
	big := bytes.Repeat([]byte("nginx-body-0123456789abcdef\n"), 40000)
	resp := do(t, cl, &ClientRequest{URL: base + "/big.txt"})
	if !bytes.Equal(resp.Body(), big) {
		t.Fatalf("big.txt: %d bytes, want %d", len(resp.Body()), len(big))
	}
	resp = do(t, cl, &ClientRequest{Method: "HEAD", URL: base + "/big.txt"})
	if resp.StatusCode != 200 || len(resp.Body()) != 0 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(resp.Body()), resp.ContentLength)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{{path: "/empty", status: 204}, {path: "/moved", status: 301}, {path: "/missing", status: 404}} {
		resp := do(t, cl, &ClientRequest{URL: base + tc.path})
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections after sequential requests, want 1", n)
	}

	pl := newClient(t, &Client{MaxConnsPerHost: 1, Pipeline: 8})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		path := "/plaintext"
		if i%4 == 3 {
			path = "/missing" + strconv.Itoa(i)
		}
		pl.DoFunc(&ClientRequest{URL: base + path}, func(r *Response, err error) {
			defer wg.Done()
			switch {
			case err != nil:
				t.Errorf("pipelined %s: %v", path, err)
			case path == "/plaintext" && (r.StatusCode != 200 || string(r.Body()) != "Hello, World!"):
				t.Errorf("pipelined %s: %d %q", path, r.StatusCode, r.Body())
			case path != "/plaintext" && r.StatusCode != 404:
				t.Errorf("pipelined %s: %d", path, r.StatusCode)
			}
		})
	}
	wg.Wait()
	_, err := pl.DoContext(context.Background(), &ClientRequest{URL: base + "/plaintext"})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClientNetHTTP runs the client against Go's net/http server.
func TestClientNetHTTP(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	conns := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Len", strconv.Itoa(len(b)))
		w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
		w.Write(b)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		for i := range 5 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", "15")
	})
	mux.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		if r.Method != "HEAD" {
			w.Write(make([]byte, 1000))
		}
	})
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/304", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) })
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(103)
		w.WriteHeader(200)
		io.WriteString(w, "after 103")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(bytes.Repeat([]byte("0123456789abcdef"), n/16))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo?from=redirect", http.StatusFound)
	})
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	hs.Start()
	defer hs.Close()
	var followed []int
	cl := newClient(t, &Client{MaxBufferedBody: 1 << 20, Redirect: func(r *Response, n int) bool {
		followed = append(followed, r.StatusCode)
		return true
	}})
	u := hs.URL

	t.Run("post", func(t *testing.T) {
		body := bytes.Repeat([]byte("xyz"), 10000)
		resp := do(t, cl, &ClientRequest{Method: "POST", URL: u + "/echo", Body: body})
		if !bytes.Equal(resp.Body(), body) || string(resp.Header("X-Method")) != "POST" {
			t.Fatalf("echo: %d bytes, method %q, length %d", len(resp.Body()), resp.Header("X-Method"), resp.ContentLength)
		}
	})
	t.Run("reader-chunked", func(t *testing.T) {
		body := bytes.Repeat([]byte("r"), 100_000)
		resp := do(t, cl, &ClientRequest{Method: "PUT", URL: u + "/echo", BodyReader: bytes.NewReader(body), ContentLength: -1})
		if !bytes.Equal(resp.Body(), body) || string(resp.Header("X-TE")) != "chunked" {
			t.Fatalf("echo: %d bytes, TE %q", len(resp.Body()), resp.Header("X-TE"))
		}
	})
	t.Run("reader-length", func(t *testing.T) {
		body := bytes.Repeat([]byte("l"), 70_000)
		resp := do(t, cl, &ClientRequest{Method: "POST", URL: u + "/echo", BodyReader: bytes.NewReader(body), ContentLength: int64(len(body))})
		if !bytes.Equal(resp.Body(), body) || string(resp.Header("X-Len")) != "70000" || string(resp.Header("X-TE")) != "" {
			t.Fatalf("echo: %d bytes, len %q, TE %q", len(resp.Body()), resp.Header("X-Len"), resp.Header("X-TE"))
		}
	})
	t.Run("chunked-trailers", func(t *testing.T) {
		resp := do(t, cl, &ClientRequest{URL: u + "/chunked"})
		if string(resp.Body()) != "part0;part1;part2;part3;part4;" || string(resp.Trailer("x-sum")) != "15" || resp.ContentLength != -1 {
			t.Fatalf("body %q trailer %q", resp.Body(), resp.Trailer("x-sum"))
		}
	})
	t.Run("head", func(t *testing.T) {
		resp := do(t, cl, &ClientRequest{Method: "HEAD", URL: u + "/head"})
		if resp.StatusCode != 200 || len(resp.Body()) != 0 || resp.ContentLength != 1000 {
			t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(resp.Body()), resp.ContentLength)
		}
		// The connection is still in step: a GET after the HEAD works.
		resp = do(t, cl, &ClientRequest{URL: u + "/head"})
		if len(resp.Body()) != 1000 {
			t.Fatalf("GET after HEAD: %d bytes", len(resp.Body()))
		}
	})
	t.Run("204-304", func(t *testing.T) {
		for _, p := range []string{"/204", "/304"} {
			resp := do(t, cl, &ClientRequest{URL: u + p})
			if strconv.Itoa(resp.StatusCode) != p[1:] || len(resp.Body()) != 0 {
				t.Fatalf("%s: %d %q", p, resp.StatusCode, resp.Body())
			}
		}
	})
	t.Run("1xx-skipped", func(t *testing.T) {
		resp := do(t, cl, &ClientRequest{URL: u + "/early"})
		if resp.StatusCode != 200 || string(resp.Body()) != "after 103" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Body())
		}
	})
	t.Run("big-and-limit", func(t *testing.T) {
		resp := do(t, cl, &ClientRequest{URL: u + "/big?n=1000000"})
		if len(resp.Body()) != 1000000 || !bytes.Equal(resp.Body()[16:32], []byte("0123456789abcdef")) {
			t.Fatalf("big: %d bytes", len(resp.Body()))
		}
		_, err := cl.DoContext(context.Background(), &ClientRequest{URL: u + "/big?n=2000000"})
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("over the buffered limit: %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		resp := do(t, cl, &ClientRequest{URL: u + "/redirect"})
		if resp.StatusCode != 200 || string(resp.Header("X-Method")) != "GET" || len(followed) != 1 || followed[0] != 302 {
			t.Fatalf("redirect: %d, method %q, followed %v", resp.StatusCode, resp.Header("X-Method"), followed)
		}
		plain := newClient(t, nil)
		resp = do(t, plain, &ClientRequest{URL: u + "/redirect"})
		if resp.StatusCode != 302 || string(resp.Header("Location")) != "/echo?from=redirect" {
			t.Fatalf("no policy: %d %q", resp.StatusCode, resp.Header("Location"))
		}
	})
	t.Run("stream", func(t *testing.T) {
		n := 4 << 20
		resp := do(t, cl, &ClientRequest{URL: u + "/big?n=" + strconv.Itoa(n), Stream: true})
		body := resp.BodyReader()
		if resp.Body() != nil || body == nil {
			t.Fatal("streamed response without a body reader")
		}
		// Read slowly at first: the connection pauses instead of buffering.
		time.Sleep(50 * time.Millisecond)
		b, err := io.ReadAll(body)
		if err != nil || len(b) != n || !bytes.Equal(b[n-16:], []byte("0123456789abcdef")) {
			t.Fatalf("streamed %d bytes, %v", len(b), err)
		}
		body.Close()
	})
	t.Run("fanout", func(t *testing.T) {
		futs := make([]*Response, 0)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			cl.DoFunc(&ClientRequest{Method: "POST", URL: u + "/echo", Body: []byte(strconv.Itoa(i))}, func(r *Response, err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				if string(r.Body()) != strconv.Itoa(i) {
					t.Errorf("request %d: body %q", i, r.Body())
					return
				}
				mu.Lock()
				futs = append(futs, nil)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(futs) != 50 {
			t.Fatalf("%d responses, want 50", len(futs))
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if conns > DefaultMaxConnsPerHost+2 {
		t.Fatalf("%d connections to one host, limit %d", conns, DefaultMaxConnsPerHost)
	}
}

// TestClientIoloopServer runs the client against the package's server.
func TestClientIoloopServer(t *testing.T) {
	checkLeaks(t)
	s := &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch string(r.Path()) {
		case "/plaintext":
			w.AddHeader("Content-Type", "text/plain")
			w.WriteString("Hello, World!")
		case "/echo":
			if r.Chunked() {
				w.Flush()
			} else {
				w.SetContentLength(r.ContentLength())
			}
			r.ReadBody(BodyHandlerFunc(func(w *ResponseWriter, r *Request, chunk []byte, last bool) { w.Write(chunk) }))
		default:
			w.SetStatus(404)
		}
	})}
	addr := serve(t, s, ioloop.Options{})
	cl := newClient(t, &Client{MaxConnsPerHost: 4})
	for i := range 20 {
		resp := do(t, cl, &ClientRequest{URL: "http://" + addr + "/plaintext"})
		if resp.StatusCode != 200 || string(resp.Body()) != "Hello, World!" || string(resp.Header("content-type")) != "text/plain" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, resp.Body())
		}
	}
	body := bytes.Repeat([]byte("0123456789"), 50_000)
	resp := do(t, cl, &ClientRequest{Method: "POST", URL: "http://" + addr + "/echo", BodyReader: bytes.NewReader(body), ContentLength: -1})
	if !bytes.Equal(resp.Body(), body) {
		t.Fatalf("chunked echo: %d bytes", len(resp.Body()))
	}
	resp = do(t, cl, &ClientRequest{URL: "http://" + addr + "/nope"})
	if resp.StatusCode != 404 {
		t.Fatalf("got %d, want 404", resp.StatusCode)
	}
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d pooled connections after sequential requests, want 1", n)
	}
}
