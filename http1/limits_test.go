package http1

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// countingHandler counts the requests that reach testHandler.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) ServeHTTP1(w *ResponseWriter, r *Request) {
	h.n.Add(1)
	testHandler{}.ServeHTTP1(w, r)
}

// TestErrorStatuses checks every limit and malformed request: the right
// status with "Connection: close", then a close; the handler never runs and
// the request pipelined after the bad one is never answered.
func TestErrorStatuses(t *testing.T) {
	checkLeaks(t)
	h := &countingHandler{}
	s := &Server{Handler: h, MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaders: 4, MaxBodyBytes: 10}
	addr := serve(t, s, ioloop.Options{})
	next := "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"
	cases := []struct {
		name, req string
		status    int
	}{
		{"uri too long", "GET /" + strings.Repeat("a", 80) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"header block too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 300) + "\r\n\r\n", 431},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
		{"content-length too large", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", 413},
		{"bad request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400},
		{"CL and TE", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"duplicate CL", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"bad chunk size", "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
		{"unknown coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n", 501},
		{"bad version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"expect other", "GET / HTTP/1.1\r\nHost: a\r\nExpect: fly\r\n\r\n", 417},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.n.Load()
			c := dial(t, addr)
			fmt.Fprint(c, tc.req+next)
			br := bufio.NewReader(c)
			resp, _ := readResponse(t, br, "GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("got %d close=%v, want %d and Connection: close", resp.StatusCode, resp.Close, tc.status)
			}
			expectClosed(t, br)
			want := int64(0)
			if strings.HasPrefix(tc.req, "POST /sink") {
				want = 1 // the head was valid: the handler ran, its body broke
			}
			if n := h.n.Load() - before; n != want {
				t.Fatalf("handler ran %d times, want %d", n, want)
			}
		})
	}
	t.Run("chunked too large", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"+next)
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 413 || !resp.Close {
			t.Fatalf("got %d close=%v, want 413 and a close", resp.StatusCode, resp.Close)
		}
		expectClosed(t, br)
	})
	// The same after a response that did not wait for the body: it arrives
	// whole, then the connection closes.
	t.Run("chunked too large after answer", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "POST /nope HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"+next)
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 404 {
			t.Fatalf("first answer %d: the 404 handler answers before the body is read", resp.StatusCode)
		}
		expectClosed(t, br) // the body broke the limit: no keep-alive, nothing after
	})
}

// TestKeepAliveRules checks RFC 9112 9.3 for HTTP/1.0 and 1.1.
func TestKeepAliveRules(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	cases := []struct {
		name, req  string
		keep       bool
		connHeader string
	}{
		{"1.1 default", "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", true, ""},
		{"1.1 close", "GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false, "close"},
		{"1.0 default", "GET /plaintext HTTP/1.0\r\n\r\n", false, "close"},
		{"1.0 keep-alive", "GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, "keep-alive"},
		{"1.0 keep-alive and close", "GET /plaintext HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, "close"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			br := bufio.NewReader(c)
			for i := range 3 {
				fmt.Fprint(c, tc.req)
				resp, body := readResponse(t, br, "GET")
				if resp.StatusCode != 200 || body != "Hello, World!" || resp.Close == tc.keep ||
					(tc.connHeader == "keep-alive" && resp.Header.Get("Connection") != "keep-alive") {
					t.Fatalf("request %d: %d %q close=%v Connection=%q", i, resp.StatusCode, body, resp.Close, resp.Header.Get("Connection"))
				}
				if !tc.keep {
					expectClosed(t, br)
					return
				}
			}
		})
	}
}

func TestHEAD(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	c := dial(t, addr)
	fmt.Fprint(c, "HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET /json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	got := normalize(readAll(t, c))
	want := "HTTP/1.1 200 OK\r\nServer: ioloop\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nServer: ioloop\r\nDate: X\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n" +
		`{"message":"Hello, World!"}`
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestExpectContinue(t *testing.T) {
	checkLeaks(t)
	addr := serve(t, &Server{Handler: testHandler{}}, ioloop.Options{})
	t.Run("read", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("got %q %v", line, err)
		}
		if l2, _ := br.ReadString('\n'); l2 != "\r\n" {
			t.Fatalf("100 not terminated: %q", l2)
		}
		fmt.Fprint(c, "hello")
		resp, body := readResponse(t, br, "POST")
		if resp.StatusCode != 200 || body != "hello" || resp.Close {
			t.Fatalf("%d %q close=%v", resp.StatusCode, body, resp.Close)
		}
	})
	t.Run("not read", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "POST /nope HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br, "POST")
		if resp.StatusCode != 404 || !resp.Close {
			t.Fatalf("%d close=%v: want 404 and a close (the body was never asked for)", resp.StatusCode, resp.Close)
		}
		expectClosed(t, br)
	})
}

func TestTimeouts(t *testing.T) {
	checkLeaks(t)
	const d = 150 * time.Millisecond
	hold := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) == "/hold" {
			w.Hold() // never ends: RequestTimeout must
			return
		}
		testHandler{}.ServeHTTP1(w, r)
	})
	s := &Server{Handler: hold, ReadHeaderTimeout: d, IdleTimeout: d, RequestTimeout: 2 * d, WriteTimeout: d}
	addr := serve(t, s, ioloop.Options{HighWater: 4 << 10, LowWater: 1 << 10})
	elapsed := func(t *testing.T, c net.Conn, f func(br *bufio.Reader)) time.Duration {
		start := time.Now()
		f(bufio.NewReader(c))
		return time.Since(start)
	}
	t.Run("read header", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost:")
		e := elapsed(t, c, func(br *bufio.Reader) {
			resp, _ := readResponse(t, br, "GET")
			if resp.StatusCode != 408 || !resp.Close {
				t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
			}
			expectClosed(t, br)
		})
		if e < d {
			t.Fatalf("cut after %v, before the %v timeout", e, d)
		}
	})
	t.Run("slow head one byte at a time", func(t *testing.T) {
		c := dial(t, addr)
		req := "GET /plaintext HTTP/1.1\r\nHost: a\r\nX-Slow: " + strings.Repeat("z", 100) + "\r\n\r\n"
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range len(req) {
				if _, err := c.Write([]byte{req[i]}); err != nil {
					return
				}
				time.Sleep(d / 10)
			}
		}()
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 408 {
			t.Fatalf("%d: a head trickling in must be cut by the read-header timeout", resp.StatusCode)
		}
		c.Close()
		<-done
	})
	t.Run("idle", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
		br := bufio.NewReader(c)
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
		e := elapsed(t, c, func(*bufio.Reader) { expectClosed(t, br) })
		if e < d/2 {
			t.Fatalf("idle connection closed after %v", e)
		}
	})
	t.Run("request body", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
		br := bufio.NewReader(c)
		// The chunked echo sent its head at once; the timeout can only reset.
		resp, err := readHeadOnly(br)
		if err != nil || resp != "HTTP/1.1 200 OK" {
			t.Fatalf("head %q %v", resp, err)
		}
		if _, err := io.ReadAll(br); err != nil && !isReset(err) {
			t.Fatal(err)
		}
	})
	t.Run("request held", func(t *testing.T) {
		c := dial(t, addr)
		fmt.Fprint(c, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
		br := bufio.NewReader(c)
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 503 || !resp.Close {
			t.Fatalf("%d close=%v", resp.StatusCode, resp.Close)
		}
		expectClosed(t, br)
	})
	t.Run("write", func(t *testing.T) {
		c := dial(t, addr)
		// Ask for a large echo and never read it: the output passes the
		// high-water mark and the write timeout cuts the connection.
		body := strings.Repeat("w", 8<<20)
		go func() {
			fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}()
		time.Sleep(5 * d)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if err == nil && n >= int64(len(body)) {
			t.Fatalf("whole echo (%d bytes) arrived: the write timeout did not fire", n)
		}
	})
}

func readHeadOnly(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == "\r\n" {
			return strings.TrimSpace(line), nil
		}
	}
}

// TestIdleDeadlineMoves: a keep-alive connection that keeps asking stays
// open well past IdleTimeout (its deadline moves to the tail of the loop's
// idle list with each request), while one that goes quiet beside it is
// closed; the busy one closes once it goes quiet too.
func TestIdleDeadlineMoves(t *testing.T) {
	checkLeaks(t)
	const d = 200 * time.Millisecond
	addr := serve(t, &Server{Handler: testHandler{}, IdleTimeout: d}, ioloop.Options{Loops: 1})
	busy, quiet := dial(t, addr), dial(t, addr)
	bb, bq := bufio.NewReader(busy), bufio.NewReader(quiet)
	get := func(c net.Conn, br *bufio.Reader) {
		t.Helper()
		fmt.Fprint(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
	}
	get(quiet, bq)
	start := time.Now()
	for time.Since(start) < 3*d {
		get(busy, bb)
		time.Sleep(d / 4)
	}
	expectClosed(t, bq) // quiet for 3d: closed by its idle timeout
	get(busy, bb)       // still open after 3d
	expectClosed(t, bb)
}
