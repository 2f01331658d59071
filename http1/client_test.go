package http1

import (
	"bufio"
	"context"
	"net"
	"testing"
)

func TestClientSmoke(t *testing.T) {
	checkLeaks(t)
	srv := newRawServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			line, _ := readRequest(r)
			if line == "" {
				return
			}
			writeCRLF(c, "HTTP/1.1 200 OK\nContent-Length: 5\nX-A: b\n\nhello")
		}
	})
	cl := newClient(t, nil)
	for range 3 {
		resp, err := cl.DoContext(context.Background(), &ClientRequest{URL: srv.url("/x")})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || string(resp.Body()) != "hello" || string(resp.Header("x-a")) != "b" {
			t.Fatalf("got %d %q %q", resp.StatusCode, resp.Body(), resp.Header("x-a"))
		}
	}
	if n := srv.accepted(); n != 1 {
		t.Fatalf("accepted %d connections, want 1 (keep-alive reuse)", n)
	}
}
