package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// rawEcho is an upgraded protocol: it echoes bytes, upper-cased, and
// records its events.
type rawEcho struct {
	events chan string
}

func (e *rawEcho) OnOpen(c *ioloop.Conn) { e.events <- "open" }
func (e *rawEcho) OnData(c *ioloop.Conn) {
	b, _ := c.Next(-1)
	_, _ = c.Write([]byte(strings.ToUpper(string(b))))
}
func (e *rawEcho) OnEOF(c *ioloop.Conn)                  { e.events <- "eof"; _ = c.Close() }
func (e *rawEcho) OnBackpressure(c *ioloop.Conn, _ bool) {}
func (e *rawEcho) OnShutdown(c *ioloop.Conn)             { e.events <- "shutdown"; _ = c.Close() }
func (e *rawEcho) OnClose(c *ioloop.Conn, err error)     { e.events <- "close" }

// TestUpgrade: the 101 head carries the handler's fields, bytes sent right
// behind the request head reach the new handler, the connection's later
// events go to it, and Shutdown reaches it through OnShutdown.
func TestUpgrade(t *testing.T) {
	checkLeaks(t)
	up := &rawEcho{events: make(chan string, 16)}
	errs := make(chan error, 4)
	s := &Server{Logger: quietLogger(), Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) != "/up" {
			_, _ = w.WriteString("plain")
			return
		}
		_ = w.AddHeader("Upgrade", "shout")
		err := w.Upgrade(up)
		errs <- err
		if err == nil {
			if w.Upgrade(up) != ErrUpgradeState {
				t.Error("second Upgrade accepted")
			}
			if _, err := w.WriteString("late"); err == nil {
				t.Error("write after Upgrade accepted")
			}
		}
	})}
	addr := serve(t, s, ioloop.Options{Loops: 1})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /up HTTP/1.1\r\nHost: x\r\n\r\nhello "); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	h := head.String()
	if !strings.HasPrefix(h, "HTTP/1.1 101 Switching Protocols\r\n") || !strings.Contains(h, "\r\nUpgrade: shout\r\n") ||
		!strings.HasSuffix(h, "Connection: Upgrade\r\n\r\n") || strings.Contains(h, "Content-Length") {
		t.Fatalf("head %q", h)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if ev := <-up.events; ev != "open" {
		t.Fatalf("first event %q", ev)
	}
	got := make([]byte, len("HELLO "))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "HELLO " {
		t.Fatalf("%q %v", got, err)
	}
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\n\r\n") // not HTTP any more: echoed
	got = make([]byte, 18)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("%q %v", got, err)
	}
	if s.NumConns() != 1 {
		t.Fatalf("NumConns %d", s.NumConns())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(ctx) }()
	if ev := <-up.events; ev != "shutdown" {
		t.Fatalf("event %q", ev)
	}
	_ = c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for ev := range up.events {
		if ev == "close" {
			break
		}
	}
}

// TestUpgradeRefused: a request with a body or an HTTP/1.0 request cannot
// switch; the handler's ordinary response goes out instead.
func TestUpgradeRefused(t *testing.T) {
	checkLeaks(t)
	up := &rawEcho{events: make(chan string, 16)}
	errs := make(chan error, 4)
	s := &Server{Logger: quietLogger(), Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		err := w.Upgrade(up)
		errs <- err
		if err != nil {
			_, _ = w.WriteString("no")
		}
	})}
	addr := serve(t, s, ioloop.Options{Loops: 1})
	for _, tc := range []struct {
		req  string
		want error
	}{
		{req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab", want: ErrUpgradeBody},
		{req: "GET / HTTP/1.0\r\n\r\n", want: ErrUpgradeState},
	} {
		c := dial(t, addr)
		_, _ = io.WriteString(c, tc.req)
		resp := readAll(t, c)
		if err := <-errs; !errors.Is(err, tc.want) {
			t.Fatalf("%q: %v", tc.req, err)
		}
		if !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(resp, "\r\n\r\nno") {
			t.Fatalf("response %q", resp)
		}
	}
	if len(up.events) != 0 {
		t.Fatal("refused upgrade reached the handler")
	}
}
