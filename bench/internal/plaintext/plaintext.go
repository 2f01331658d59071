// Package plaintext holds what the HTTP plaintext peers of the benchmark
// share: the body, a request-head scanner for the minimal servers and a
// fixed response whose Date header is refreshed once per second.
//
// Contract: the scanner is the one gnet's own HTTP benchmark uses in
// spirit, not a parser. A request is everything up to and including the
// next "\r\n\r\n"; request bodies, methods and paths are not looked at.
// It is therefore only fit for the benchmark's GET requests, which the
// harness checks before measuring. Servers that use it answer every
// complete request head in a read with one copy of the fixed response, in
// order, written together (pipelining aware), and keep an incomplete head
// for the next read.
package plaintext

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Body is the plaintext response body.
const Body = "Hello, World!"

var crlfcrlf = []byte("\r\n\r\n")

// Scan returns the number of complete request heads at the start of buf
// and how many bytes they span; the bytes after consumed are an incomplete
// head to keep for the next read. It does not allocate and may be called
// from any goroutine; its cost is one bytes.Index per request.
func Scan(buf []byte) (n, consumed int) {
	for {
		i := bytes.Index(buf[consumed:], crlfcrlf)
		if i < 0 {
			return n, consumed
		}
		consumed += i + len(crlfcrlf)
		n++
	}
}

// Response is a complete "200 OK" plaintext response (Server, Date,
// Content-Type, Content-Length headers and Body) rebuilt once per second
// so that its Date stays current. Bytes is safe from any goroutine.
type Response struct {
	server string
	cur    atomic.Pointer[[]byte]
	stop   chan struct{}
}

// NewResponse builds the response with the given Server header and starts
// the goroutine that refreshes it every second until Stop.
func NewResponse(server string) *Response {
	r := &Response{server: server, stop: make(chan struct{})}
	r.refresh(time.Now())
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				r.refresh(now)
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

func (r *Response) refresh(now time.Time) {
	b := Build(r.server, now)
	r.cur.Store(&b)
}

// Bytes returns the current response. The slice is never modified; it is
// replaced as a whole once per second. No allocation.
func (r *Response) Bytes() []byte { return *r.cur.Load() }

// Stop ends the refreshing goroutine; Bytes keeps returning the last
// response.
func (r *Response) Stop() { close(r.stop) }

// Build returns the plaintext response for server at time now. It
// allocates; servers call it once per second.
func Build(server string, now time.Time) []byte {
	b := make([]byte, 0, 160)
	b = append(b, "HTTP/1.1 200 OK\r\nServer: "...)
	b = append(b, server...)
	b = append(b, "\r\nDate: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(Body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, Body...)
}
