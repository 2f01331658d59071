package http1

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

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
