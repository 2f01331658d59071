package http1

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

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
