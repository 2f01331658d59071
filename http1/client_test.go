package http1

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
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
	for _, u := range []string{"https:///p", "http:///p", "http://a b/", "ftp://x"} {
		if _, err := cl.DoContext(context.Background(), &ClientRequest{URL: u}); err == nil {
			t.Errorf("%q: no error", u)
		}
	}
}

func TestSplitURL(t *testing.T) {
	for _, tc := range []struct {
		in, host, target string
		secure           bool
	}{
		{in: "http://a", host: "a", target: "/"},
		{in: "http://a:81/x?y#z", host: "a:81", target: "/x?y"},
		{in: "HTTP://[::1]:8080?q=1", host: "[::1]:8080", target: "/?q=1"},
		{in: "https://a", host: "a", target: "/", secure: true},
		{in: "HTTPS://[::1]:8443/x?q=1", host: "[::1]:8443", target: "/x?q=1", secure: true},
	} {
		sec, h, tg, err := splitURL(tc.in)
		if err != nil || h != tc.host || tg != tc.target || sec != tc.secure {
			t.Errorf("%q: %v %q %q %v", tc.in, sec, h, tg, err)
		}
	}
	for _, u := range []string{"httpx://a/", "https:/a/", "ftp://a/", "https://"} {
		if _, _, _, err := splitURL(u); err == nil {
			t.Errorf("%q: no error", u)
		}
	}
	for _, tc := range []struct {
		in     string
		secure bool
		want   string
	}{
		{in: "a", want: "a:80"}, {in: "a:1", want: "a:1"}, {in: "[::1]", want: "[::1]:80"}, {in: "[::1]:2", want: "[::1]:2"},
		{in: "a", secure: true, want: "a:443"}, {in: "[::1]", secure: true, want: "[::1]:443"}, {in: "a:80", secure: true, want: "a:80"},
	} {
		if got := dialAddress(tc.in, tc.secure); got != tc.want {
			t.Errorf("dialAddress(%q, %v) = %q", tc.in, tc.secure, got)
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

func TestClientNoGroup(t *testing.T) {
	_, err := (&Client{}).DoContext(context.Background(), &ClientRequest{URL: "http://127.0.0.1:1/"})
	if !errors.Is(err, ErrNoGroup) {
		t.Fatalf("got %v, want ErrNoGroup", err)
	}
}
