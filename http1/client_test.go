package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

func do(t *testing.T, cl *Client, req *ClientRequest) *Response {
	t.Helper()
	resp, err := cl.DoContext(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// keepAliveServer answers every request on a connection with resp.
func keepAliveServer(t *testing.T, resp string) *rawServer {
	return newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if line, _ := readRequest(r); line == "" {
				return
			}
			writeCRLF(c, resp)
		}
	})
}

func TestClientKeepAliveReuse(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 5\nX-A: b\n\nhello")
	cl := newClient(t, nil)
	for range 5 {
		resp := do(t, cl, &ClientRequest{URL: srv.url("/x")})
		if resp.StatusCode != 200 || string(resp.Body()) != "hello" || string(resp.Header("x-a")) != "b" || string(resp.Reason()) != "OK" {
			t.Fatalf("got %d %q %q %q", resp.StatusCode, resp.Reason(), resp.Body(), resp.Header("x-a"))
		}
		resp.Release()
	}
	if n := srv.accepted(); n != 1 {
		t.Fatalf("accepted %d connections, want 1 (keep-alive reuse)", n)
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

// TestClientPipelining sends 12 requests over one connection with up to 4
// in flight and checks each response reached its own request.
func TestClientPipelining(t *testing.T) {
	checkLeaks(t)
	var maxBehind int
	srv := newPathServer(t, func(_ string, r *bufio.Reader) {
		maxBehind = max(maxBehind, r.Buffered())
	})
	cl := newClient(t, &Client{MaxConnsPerHost: 1, Pipeline: 4})
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		p := "/r" + strconv.Itoa(i)
		cl.DoFunc(&ClientRequest{URL: srv.url(p)}, func(r *Response, err error) {
			defer wg.Done()
			if err != nil || string(r.Body()) != p {
				t.Errorf("%s: %v %q", p, err, r.Body())
			}
		})
	}
	wg.Wait()
	if n := srv.accepted(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// TestClientHostile checks the specific error for each kind of broken
// server, and that the pool never reuses the connection afterwards.
func TestClientHostile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(c net.Conn, r *bufio.Reader)
		client func(*Client)
		want   error
	}{
		{name: "garbage-status", want: ErrBadResponse, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 2x0 OK\n\n")
		}},
		{name: "not-http", want: ErrBadResponse, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		}},
		{name: "bad-chunk", want: ErrBadResponse, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nzz\nabc\n")
		}},
		{name: "stall-mid-headers", want: ErrResponseHeaderTimeout, client: func(c *Client) { c.ResponseHeaderTimeout = 100 * time.Millisecond }, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Le")
			r.ReadByte() // until the client aborts
		}},
		{name: "total-timeout", want: ErrTimeout, client: func(c *Client) { c.Timeout = 100 * time.Millisecond }, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 10\n\nabc")
			r.ReadByte()
		}},
		{name: "close-mid-body", want: ErrClosedMidBody, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 10\n\nabc")
		}},
		{name: "close-mid-chunks", want: ErrClosedMidBody, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n")
		}},
		{name: "close-mid-headers", want: ErrNoResponse, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Le")
		}},
		{name: "oversized-headers", want: ErrHeaderTooLarge, client: func(c *Client) { c.MaxResponseHeaderBytes = 1024 }, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 200 OK\nX-Big: "+strings.Repeat("a", 2000)+"\n\n")
			r.ReadByte()
		}},
		{name: "switching-protocols", want: ErrBadResponse, script: func(c net.Conn, r *bufio.Reader) {
			readRequest(r)
			writeCRLF(c, "HTTP/1.1 101 Switching Protocols\nUpgrade: x\nConnection: upgrade\n\n")
			r.ReadByte()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			first := true
			var mu sync.Mutex
			srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
				mu.Lock()
				bad := first
				first = false
				mu.Unlock()
				if bad {
					tc.script(c, r)
					return
				}
				for {
					if line, _ := readRequest(r); line == "" {
						return
					}
					writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
				}
			})
			cl := &Client{}
			if tc.client != nil {
				tc.client(cl)
			}
			newClient(t, cl)
			_, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/")})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "http1: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			resp := do(t, cl, &ClientRequest{URL: srv.url("/")})
			if string(resp.Body()) != "ok" {
				t.Fatalf("after the error: %q", resp.Body())
			}
			if n := srv.accepted(); n != 2 {
				t.Fatalf("%d connections, want 2: the broken one must not be reused", n)
			}
		})
	}
}

func TestClientCloseDelimited(t *testing.T) {
	checkLeaks(t)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		writeCRLF(c, "HTTP/1.1 200 OK\n\nuntil the end")
	})
	cl := newClient(t, nil)
	for range 2 {
		resp := do(t, cl, &ClientRequest{URL: srv.url("/")})
		if string(resp.Body()) != "until the end" || resp.ContentLength != -1 {
			t.Fatalf("body %q", resp.Body())
		}
	}
	if n := srv.accepted(); n != 2 {
		t.Fatalf("%d connections, want 2 (close-delimited bodies end the connection)", n)
	}
}

func TestClientConnectionClose(t *testing.T) {
	checkLeaks(t)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if line, _ := readRequest(r); line == "" {
				return
			}
			writeCRLF(c, "HTTP/1.1 200 OK\nConnection: close\nContent-Length: 2\n\nok")
		}
	})
	cl := newClient(t, nil)
	for range 3 {
		if resp := do(t, cl, &ClientRequest{URL: srv.url("/")}); string(resp.Body()) != "ok" {
			t.Fatalf("body %q", resp.Body())
		}
	}
	if n := srv.accepted(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
}

func TestClientCancel(t *testing.T) {
	checkLeaks(t)
	got := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		close(got)
		r.ReadByte() // stall until the client aborts
	})
	cl := newClient(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	fut := cl.Do(&ClientRequest{URL: srv.url("/"), Context: ctx})
	<-got
	cancel()
	_, err := fut.Await(context.Background())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := cl.NumConns(); n != 0 {
		t.Fatalf("%d connections left in the pool after a cancelled exchange", n)
	}
}

// DoContext's ctx cancels the exchange like ClientRequest.Context, without
// touching the request, and ends the wait.
func TestClientDoContextCancel(t *testing.T) {
	checkLeaks(t)
	got := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		close(got)
		r.ReadByte() // stall until the client aborts
	})
	cl := newClient(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req := &ClientRequest{URL: srv.url("/")}
	go func() {
		<-got
		cancel()
	}()
	resp, err := cl.DoContext(ctx, req)
	if !errors.Is(err, context.Canceled) || resp != nil {
		t.Fatalf("got %v, %v; want nil, context.Canceled", resp, err)
	}
	if req.Context != nil {
		t.Fatal("DoContext changed the request's Context")
	}
	if n := cl.NumConns(); n != 0 {
		t.Fatalf("%d connections left in the pool after a cancelled exchange", n)
	}
	// An already cancelled context fails before anything is sent.
	if _, err := cl.DoContext(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v, want context.Canceled", err)
	}
}

func TestClientDialError(t *testing.T) {
	checkLeaks(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cl := newClient(t, nil)
	_, err := cl.DoContext(context.Background(), &ClientRequest{URL: "http://" + addr + "/"})
	if err == nil || !strings.HasPrefix(err.Error(), "http1: ") {
		t.Fatalf("got %v, want an http1 connect error", err)
	}
	for _, u := range []string{"https://x/", "http:///p", "http://a b/", "ftp://x"} {
		if _, err := cl.DoContext(context.Background(), &ClientRequest{URL: u}); err == nil {
			t.Errorf("%q: no error", u)
		}
	}
}

func TestSplitURL(t *testing.T) {
	for _, tc := range []struct{ in, host, target string }{
		{in: "http://a", host: "a", target: "/"},
		{in: "http://a:81/x?y#z", host: "a:81", target: "/x?y"},
		{in: "HTTP://[::1]:8080?q=1", host: "[::1]:8080", target: "/?q=1"},
	} {
		h, tg, err := splitURL(tc.in)
		if err != nil || h != tc.host || tg != tc.target {
			t.Errorf("%q: %q %q %v", tc.in, h, tg, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{in: "a", want: "a:80"}, {in: "a:1", want: "a:1"}, {in: "[::1]", want: "[::1]:80"}, {in: "[::1]:2", want: "[::1]:2"},
	} {
		if got := dialAddress(tc.in); got != tc.want {
			t.Errorf("dialAddress(%q) = %q", tc.in, got)
		}
	}
}

func TestClientRejectsBadRequests(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 0\n\n")
	cl := newClient(t, nil)
	for _, req := range []*ClientRequest{
		{Method: "GE T", URL: srv.url("/")},
		{URL: srv.url("/"), Header: []Field{{Name: "X-A", Value: "a\r\nInjected: 1"}}},
		{URL: srv.url("/"), Header: []Field{{Name: "Bad Name", Value: "v"}}},
		{URL: srv.url("/"), Header: []Field{{Name: "Content-Length", Value: "5"}}},
		{URL: srv.url("/"), Header: []Field{{Name: "host", Value: "other"}}},
	} {
		_, err := cl.DoContext(context.Background(), req)
		if err == nil || !strings.HasPrefix(err.Error(), "http1: invalid") {
			t.Errorf("%q %v: got %v, want an invalid-request error", req.Method, req.Header, err)
		}
	}
	if n := srv.accepted(); n != 0 {
		t.Fatalf("%d connections for invalid requests, want 0", n)
	}
}

func TestClientWaitTimeout(t *testing.T) {
	checkLeaks(t)
	got := make(chan struct{}, 1)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		got <- struct{}{}
		r.ReadByte() // never answers
	})
	cl := newClient(t, &Client{MaxConnsPerHost: 1, Timeout: 200 * time.Millisecond})
	first := cl.Get(srv.url("/1"))
	<-got
	second := cl.Get(srv.url("/2")) // waits for the only connection
	if _, err := second.Await(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("waiting request: %v, want ErrTimeout", err)
	}
	if _, err := first.Await(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("first request: %v, want ErrTimeout", err)
	}
}

func TestClientCloseClosesConnections(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 0\n\n")
	cl := newClient(t, nil)
	do(t, cl, &ClientRequest{URL: srv.url("/")})
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	cl.Close()
	deadline := time.Now().Add(5 * time.Second)
	for cl.NumConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := cl.NumConns(); n != 0 {
		t.Fatalf("%d connections after Close", n)
	}
	if _, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/")}); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("after Close: %v, want ErrClientClosed", err)
	}
}

// TestClientStaleKeepAlive: a reused connection that the server closes
// without answering is retried once on a new connection for an idempotent
// request, and fails with ErrNoResponse for a POST.
func TestClientStaleKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		method string
		want   error
	}{{method: "GET"}, {method: "POST", want: ErrNoResponse}} {
		t.Run(tc.method, func(t *testing.T) {
			checkLeaks(t)
			var mu sync.Mutex
			conns := 0
			srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
				mu.Lock()
				conns++
				first := conns == 1
				mu.Unlock()
				for n := 0; ; n++ {
					if line, _ := readRequest(r); line == "" {
						return
					}
					if first && n == 1 {
						return // drop the second request unanswered
					}
					writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
				}
			})
			cl := newClient(t, nil)
			do(t, cl, &ClientRequest{URL: srv.url("/")})
			resp, err := cl.DoContext(context.Background(), &ClientRequest{Method: tc.method, URL: srv.url("/")})
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil || string(resp.Body()) != "ok" {
				t.Fatalf("retried request: %v", err)
			}
			if n := srv.accepted(); n != 2 {
				t.Fatalf("%d connections, want 2", n)
			}
		})
	}
}

// TestClientRedirects: 307 keeps the method and body, 303 turns a POST into
// a GET, a redirect to another host uses that host's pool, and the policy
// stops a loop.
func TestClientRedirects(t *testing.T) {
	checkLeaks(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other host "+r.Host)
	}))
	defer other.Close()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/307":
			http.Redirect(w, r, "/echo", http.StatusTemporaryRedirect)
		case "/303":
			http.Redirect(w, r, "/echo", http.StatusSeeOther)
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+string(b))
		}
	}))
	defer hs.Close()
	cl := newClient(t, &Client{Redirect: func(r *Response, n int) bool { return n < 3 }})
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{method: "POST", path: "/307", body: "payload", status: 200, want: "POST payload"},
		{method: "POST", path: "/303", body: "payload", status: 200, want: "GET "},
		{method: "GET", path: "/away", status: 200, want: "other host " + strings.TrimPrefix(other.URL, "http://")},
		{method: "GET", path: "/loop", status: 302},
	} {
		resp := do(t, cl, &ClientRequest{Method: tc.method, URL: hs.URL + tc.path, Body: []byte(tc.body)})
		if resp.StatusCode != tc.status || tc.want != "" && string(resp.Body()) != tc.want {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Body(), tc.status, tc.want)
		}
	}
}

func TestClientNoGroup(t *testing.T) {
	_, err := (&Client{}).DoContext(context.Background(), &ClientRequest{URL: "http://127.0.0.1:1/"})
	if !errors.Is(err, ErrNoGroup) {
		t.Fatalf("got %v, want ErrNoGroup", err)
	}
}

// Goroutines blocked in DoContext each get their own response: 16
// goroutines x 50 requests, each with its own path echoed back, on a
// Client whose idle waits (one descriptor each) are reused between calls
// and released by Close (checkLeaks counts them).
func TestClientDoContextConcurrentWaits(t *testing.T) {
	testConcurrentWaits(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.DoContext(context.Background(), req)
	})
}

// TestClientDoAwaitConcurrentWaits is the same with Do(req).Await, whose
// first awaiter sleeps in one of the Client's waits (async.WaiterSource).
func TestClientDoAwaitConcurrentWaits(t *testing.T) {
	testConcurrentWaits(t, func(cl *Client, req *ClientRequest) (*Response, error) {
		return cl.Do(req).Await(context.Background())
	})
}

// testConcurrentWaits runs 16 goroutines × 50 requests through do, each
// checking that it got its own response; the waits' descriptors are
// counted by the leak check.
func testConcurrentWaits(t *testing.T, do func(*Client, *ClientRequest) (*Response, error)) {
	checkLeaks(t)
	srv := newPathServer(t, nil)
	cl := newClient(t, &Client{MaxConnsPerHost: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				path := "/" + strconv.Itoa(g) + "/" + strconv.Itoa(i)
				resp, err := do(cl, &ClientRequest{URL: srv.url(path)})
				if err != nil {
					errs <- err
					return
				}
				body := string(resp.Body())
				resp.Release()
				if body != path {
					errs <- fmt.Errorf("request %s got %q", path, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestClientDoAwaitContextEnds: an Await whose context ends before the
// response returns the context's error and leaves the exchange going; a
// second Await gets the response, and the next requests (reusing the
// Client's waits) get theirs.
func TestClientDoAwaitContextEnds(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	srv := newPathServer(t, func(path string, _ *bufio.Reader) {
		if path == "/slow" {
			<-release
		}
	})
	cl := newClient(t, &Client{})
	f := cl.Do(&ClientRequest{URL: srv.url("/slow")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await: %v, want the context's deadline", err)
	}
	close(release)
	resp, err := f.Await(context.Background())
	if err != nil || string(resp.Body()) != "/slow" {
		t.Fatalf("second Await: %v, %v", resp, err)
	}
	resp.Release()
	for i := range 20 {
		path := "/" + strconv.Itoa(i)
		resp, err := cl.Do(&ClientRequest{URL: srv.url(path)}).Await(nil)
		if err != nil || string(resp.Body()) != path {
			t.Fatalf("request %s: %v, %v", path, resp, err)
		}
		resp.Release()
	}
}
