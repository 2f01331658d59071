package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzClientResponse sends arbitrary bytes as the server's answer (then
// closes) and checks the client: it never panics or hangs, never returns a
// body longer than what was sent, fails with an "http1: " error, and, when
// net/http's reader also accepts the bytes as a complete response, agrees
// with it on the status and the body.
func FuzzClientResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil close",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
		"garbage",
		"",
	} {
		f.Add([]byte(s))
	}
	var mu sync.Mutex
	var answer []byte
	srv := newRawServer(f, func(c net.Conn, r *bufio.Reader) {
		readRequest(r)
		mu.Lock()
		b := answer
		mu.Unlock()
		_, _ = c.Write(b)
	})
	cl := newClient(f, &Client{MaxBufferedBody: 1 << 20, ResponseHeaderTimeout: 5 * time.Second, Timeout: 10 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		mu.Lock()
		answer = data
		mu.Unlock()
		resp, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/f"), Close: true})
		ref, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), &http.Request{Method: "GET"})
		var refBody []byte
		if rerr == nil {
			refBody, rerr = io.ReadAll(ref.Body)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "http1: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			if errors.Is(err, ErrTimeout) || errors.Is(err, ErrResponseHeaderTimeout) {
				t.Fatalf("hang on %q: %v", data, err)
			}
			return
		}
		if len(resp.Body()) > len(data) {
			t.Fatalf("body of %d bytes from %d input bytes", len(resp.Body()), len(data))
		}
		if rerr == nil && ref.StatusCode >= 200 {
			if ref.StatusCode != resp.StatusCode || !bytes.Equal(refBody, resp.Body()) {
				t.Fatalf("input %q: client %d %q, net/http %d %q", data, resp.StatusCode, resp.Body(), ref.StatusCode, refBody)
			}
		}
	})
}
