package http1

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// TestDateLine: the cached Date line (and the 200 head built with it)
// changes exactly when the wall-clock second does.
func TestDateLine(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 900_000_000, time.UTC)
	ls := &loopState{s: &Server{base: base, serverLine: []byte("Server: t\r\n")}}
	for _, off := range []time.Duration{0, 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond,
		101 * time.Millisecond, 1099 * time.Millisecond, 1100 * time.Millisecond, 5 * time.Second} {
		now := base.Add(off)
		ls.nowT, ls.now = now, now.Sub(base)
		want := "Date: " + now.UTC().Format(http.TimeFormat) + "\r\n"
		if got := string(ls.dateLine()); got != want {
			t.Fatalf("at +%v: %q, want %q", off, got, want)
		}
		if got, want := string(ls.headOK()), "HTTP/1.1 200 OK\r\nServer: t\r\n"+want; got != want {
			t.Fatalf("at +%v: head %q, want %q", off, got, want)
		}
	}
}

// TestHeadCache: the per-loop copy of the last usual 200 head is used only
// for a response with the same header lines and length; any other
// response (other lines of the same size, another length, another status,
// HEAD, HTTP/1.0) gets its own head, and a new Date line drops the copy.
func TestHeadCache(t *testing.T) {
	checkLeaks(t)
	s := &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		switch string(r.Path()) {
		case "/a":
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abc")
		case "/b": // same lines, another length
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abcd")
		case "/c": // lines of the same size, other bytes
			_ = w.AddHeader("Content-Type", "text/PLAIN")
			_, _ = w.WriteString("abc")
		case "/d":
			_ = w.SetStatus(404)
			_ = w.AddHeader("Content-Type", "text/plain")
			_, _ = w.WriteString("abc")
		case "/e":
			_ = w.AddHeader("Content-Type", "text/plain")
			_ = w.AddHeader("X-A", "1")
			_, _ = w.WriteString("abc")
		}
	})}
	const (
		head  = "HTTP/1.1 200 OK\r\nServer: ioloop\r\nDate: X\r\n"
		a     = head + "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
		b     = head + "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nabcd"
		c     = head + "Content-Type: text/PLAIN\r\nContent-Length: 3\r\n\r\nabc"
		d     = "HTTP/1.1 404 Not Found\r\nServer: ioloop\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
		e     = head + "Content-Type: text/plain\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc"
		headA = head + "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n"
		a10   = head + "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"
	)
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	steps := []struct{ req, want string }{
		{req: get("/a"), want: a},
		{req: get("/a"), want: a},
		{req: get("/b"), want: b},
		{req: get("/a"), want: a},
		{req: get("/c"), want: c},
		{req: get("/a") + get("/a"), want: a + a},
		{req: get("/d"), want: d},
		{req: get("/a"), want: a},
		{req: get("/e") + get("/e") + get("/a"), want: e + e + a},
		{req: "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", want: headA},
		{req: get("/a"), want: a},
		{req: "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", want: a10},
		{req: get("/a"), want: a},
	}
	addr := serve(t, s, ioloop.Options{Loops: 1})
	conn := dial(t, addr)
	for i, st := range steps {
		if _, err := io.WriteString(conn, st.req); err != nil {
			t.Fatal(err)
		}
		rb := make([]byte, rawLen(st.want))
		if _, err := io.ReadFull(conn, rb); err != nil {
			t.Fatalf("step %d: %v (got %q)", i, err, rb)
		}
		if got := normalize(string(rb)); got != st.want {
			t.Fatalf("step %d: output\n%q\nwant\n%q", i, got, st.want)
		}
	}
	// A new second: the Date line changes and the kept head goes.
	l, ls := serverLoop(t, s)
	onLoop(t, l, func() {
		if !ls.lastOK.valid {
			t.Error("no head kept after the usual responses")
		}
		ls.dateUntil = ls.now
		ls.dateLine()
		if ls.lastOK.valid {
			t.Error("the kept head outlived its Date line")
		}
	})
}

// TestSameBytes compares sameBytes with bytes.Equal for every length up to
// 40 and a difference at every position.
func TestSameBytes(t *testing.T) {
	for n := 0; n <= 40; n++ {
		a := []byte(strings.Repeat("Content-Type: text/plain\r\n", 2)[:n])
		if !sameBytes(a, append([]byte(nil), a...)) {
			t.Fatalf("length %d: equal bytes differ", n)
		}
		if n > 0 && sameBytes(a, a[:n-1]) {
			t.Fatalf("length %d: a shorter slice is the same", n)
		}
		for pos := range n {
			b := append([]byte(nil), a...)
			b[pos] ^= 0x20
			if sameBytes(a, b) != bytes.Equal(a, b) {
				t.Fatalf("length %d, change at %d: sameBytes %v", n, pos, sameBytes(a, b))
			}
		}
	}
}
