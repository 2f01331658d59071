package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
