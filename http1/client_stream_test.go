package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientStreamBackpressure: while nobody reads a streamed body the
// connection stops reading, so the server's writes stall far short of the
// body; once read, every byte arrives in order.
func TestClientStreamBackpressure(t *testing.T) {
	checkLeaks(t)
	const total = 64 << 20
	var written atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(total))
		buf := make([]byte, 64<<10)
		for off := 0; off < total; off += len(buf) {
			for i := range buf {
				buf[i] = byte((off + i) % 251)
			}
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer hs.Close()
	cl := newClient(t, nil)
	resp := do(t, cl, &ClientRequest{URL: hs.URL + "/", Stream: true})
	body := resp.BodyReader()
	defer body.Close()
	// Wait until the server's writes stop progressing.
	last := int64(-1)
	for written.Load() != last {
		last = written.Load()
		time.Sleep(100 * time.Millisecond)
	}
	if last >= total/2 {
		t.Fatalf("server wrote %d of %d bytes while the body was not read: no backpressure", last, total)
	}
	buf := make([]byte, 100_000)
	got := 0
	for {
		n, err := body.Read(buf)
		for i := range n {
			if buf[i] != byte((got+i)%251) {
				t.Fatalf("byte %d is %d, want %d", got+i, buf[i], (got+i)%251)
			}
		}
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got != total {
		t.Fatalf("read %d bytes, want %d", got, total)
	}
	// The connection is reused after a fully read streamed body.
	if resp := do(t, cl, &ClientRequest{Method: "HEAD", URL: hs.URL + "/"}); resp.StatusCode != 200 {
		t.Fatalf("HEAD after the stream: %d", resp.StatusCode)
	}
	if n := cl.NumConns(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// TestClientStreamCloseEarly: closing a streamed body before its end aborts
// the connection, which is not reused.
func TestClientStreamCloseEarly(t *testing.T) {
	checkLeaks(t)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			if line, _ := readRequest(r); line == "" {
				return
			}
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 1000\n\n0123456789")
		}
	})
	cl := newClient(t, nil)
	resp := do(t, cl, &ClientRequest{URL: srv.url("/"), Stream: true})
	body := resp.BodyReader()
	b := make([]byte, 10)
	if _, err := io.ReadFull(body, b); err != nil || string(b) != "0123456789" {
		t.Fatalf("read %q %v", b, err)
	}
	body.Close()
	if _, err := body.Read(b); !errors.Is(err, ErrBodyClosed) {
		t.Fatalf("read after close: %v, want ErrBodyClosed", err)
	}
	resp2, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/"), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp2.BodyReader().Close()
	if n := srv.accepted(); n != 2 {
		t.Fatalf("%d connections, want 2: an abandoned body's connection must not be reused", n)
	}
}

// TestClientIdleLimits: no more than MaxIdlePerHost connections stay open
// once idle, and those close after IdleTimeout.
func TestClientIdleLimits(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 0\n\n")
	cl := newClient(t, &Client{MaxIdlePerHost: 2, IdleTimeout: 200 * time.Millisecond})
	futs := make([]interface {
		Await(context.Context) (*Response, error)
	}, 5)
	for i := range futs {
		futs[i] = cl.Get(srv.url("/"))
	}
	for _, f := range futs {
		if _, err := f.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := cl.NumConns(); n > 2 {
		t.Fatalf("%d connections kept idle, MaxIdlePerHost is 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cl.NumConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := cl.NumConns(); n != 0 {
		t.Fatalf("%d connections left after the idle timeout", n)
	}
}

// TestClientMaxConnsQueue: with one connection allowed, concurrent requests
// wait for it and all succeed over that one connection.
func TestClientMaxConnsQueue(t *testing.T) {
	checkLeaks(t)
	srv := keepAliveServer(t, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
	cl := newClient(t, &Client{MaxConnsPerHost: 1})
	var futs []interface {
		Await(context.Context) (*Response, error)
	}
	for i := range 20 {
		futs = append(futs, cl.Get(srv.url("/"+strconv.Itoa(i))))
	}
	for _, f := range futs {
		r, err := f.Await(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body(), []byte("ok")) {
			t.Fatalf("body %q", r.Body())
		}
	}
	if n := srv.accepted(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}
