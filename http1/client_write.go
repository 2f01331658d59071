package http1

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
)

// checkRequest rejects a method that is not a token and header fields that
// are not valid or that the client writes itself.
func checkRequest(method string, hdr []Field) error {
	for i := range len(method) {
		if !isToken(method[i]) {
			return errors.New("http1: invalid request method " + strconv.Quote(method))
		}
	}
	for _, f := range hdr {
		if !validField(f.Name, f.Value) || equalFoldString(f.Name, "Host") {
			return errors.New("http1: invalid or reserved request header field " + strconv.Quote(f.Name))
		}
	}
	return nil
}

// writeHead queues the request head and a []byte body. Loop only.
func (x *clientExchange) writeHead(c *ioloop.Conn) {
	b := x.buf[:0]
	b = append(b, x.method...)
	b = append(b, ' ')
	b = append(b, x.target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, x.host...)
	b = append(b, "\r\n"...)
	for _, f := range x.req.Header {
		if x.redirects > 0 && (equalFoldString(f.Name, "Authorization") || equalFoldString(f.Name, "Cookie")) {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case x.reader != nil && x.req.ContentLength >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, x.req.ContentLength, 10)
		b = append(b, "\r\n"...)
	case x.reader != nil:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case len(x.body) > 0 || x.method == "POST" || x.method == "PUT" || x.method == "PATCH":
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(x.body)), 10)
		b = append(b, "\r\n"...)
	}
	if x.req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	x.buf = b
	_, _ = c.Write(b)
	if len(x.body) > 0 {
		_, _ = c.Write(x.body)
	}
}

// sendBody streams the request's BodyReader on its own goroutine, one
// piece in flight at a time. It gets the reader and the length as arguments
// and touches x only through the loop (bodySent checks seq), because the
// loop may finish and recycle x while the body is still being sent (a
// server that answers before reading the whole body).
func (x *clientExchange) sendBody(cc *clientConn, seq uint64, reader io.Reader, want int64) {
	chunked := want < 0
	var sent int64
	done := make(chan error, 1)
	write := func(b []byte) error {
		cc.c.AsyncWrite(b, func(err error) { done <- err })
		return <-done
	}
	var err error
	// One buffer serves every piece: AsyncWrite keeps it only until done
	// ran, and write waits for that.
	buf := make([]byte, 32<<10+16)
	for {
		off := 0
		if chunked {
			off = 10 // room for the size line
		}
		n, rerr := reader.Read(buf[off : len(buf)-2])
		if n > 0 {
			sent += int64(n)
			if !chunked && sent > want {
				err = errors.New("http1: request body longer than ContentLength")
				break
			}
			piece := buf[off : off+n]
			if chunked {
				line := strconv.AppendInt(buf[:0], int64(n), 16)
				line = append(line, "\r\n"...)
				start := off - len(line)
				copy(buf[start:], line)
				piece = append(buf[start:off+n], "\r\n"...)
			}
			if err = write(piece); err != nil {
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = fmt.Errorf("http1: reading the request body: %w", rerr)
			} else if chunked {
				err = write([]byte("0\r\n\r\n"))
			} else if sent != want {
				err = errors.New("http1: request body shorter than ContentLength")
			}
			break
		}
	}
	cc.l.Execute(async.TaskFunc(func() { cc.bodySent(x, seq, err) }))
}
