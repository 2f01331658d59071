package http1

import (
	"encoding/binary"
	"net/http"
	"time"
)

// Output gathering. While a connection is processed, the heads (and bodies
// buffered with them) of the responses it finishes are appended to the
// loop's pend buffer and reach the connection in one Write when process
// ends, so a burst of pipelined responses costs one copy into the
// connection's queue. Every other write to the connection (streamed body
// pieces, 100 Continue, a close or a reset) first calls flushPend, so bytes
// leave in the order they were produced.

// outBuf returns the buffer to append cs's next output to: the loop's pend
// buffer while cs is processed, else the scratch buffer. Pass the result to
// emit.
func (cs *conn) outBuf() []byte {
	ls := cs.ls
	if !cs.processing {
		return ls.scratch[:0]
	}
	if ls.pendConn != cs {
		ls.flushPend()
		ls.pendConn = cs
	}
	return ls.pend
}

// emit queues b, obtained from outBuf and appended to, on the connection.
func (cs *conn) emit(b []byte) {
	ls := cs.ls
	if cs.processing && ls.pendConn == cs {
		ls.pend = b
		if len(b) >= maxPend {
			ls.flushPend()
		}
		return
	}
	_, _ = cs.c.Write(b)
	ls.keepScratch(b)
}

// flushPend writes the gathered output to its connection.
func (ls *loopState) flushPend() {
	if cs := ls.pendConn; cs != nil {
		ls.pendConn = nil
		if len(ls.pend) > 0 {
			_, _ = cs.c.Write(ls.pend)
		}
		if cap(ls.pend) > maxScratch {
			ls.pend = nil
		}
		ls.pend = ls.pend[:0]
	}
}

// flushOutput writes what cs gathered, before a write that bypasses
// gathering or a close.
func (cs *conn) flushOutput() {
	if cs.ls.pendConn == cs {
		cs.ls.flushPend()
	}
}

// dateLine returns the Date header line for ls.nowT (refreshed by the
// running callback), formatted once per second: until the loop's clock
// passes the next whole second, it is one comparison.
func (ls *loopState) dateLine() []byte {
	if ls.now >= ls.dateUntil || ls.date == nil {
		ls.formatDate()
	}
	return ls.date
}

// formatDate formats the Date line and the 200 head for ls.nowT; apart
// from dateLine so that dateLine's one comparison is inlined.
func (ls *loopState) formatDate() {
	ls.dateUntil = ls.now + time.Second - time.Duration(ls.nowT.Nanosecond())
	b := append(ls.date[:0], "Date: "...)
	b = ls.nowT.UTC().AppendFormat(b, http.TimeFormat)
	ls.date = append(b, crlf...)
	b = append(ls.okHead[:0], "HTTP/1.1 200 OK\r\n"...)
	b = append(b, ls.s.serverLine...)
	ls.okHead = append(b, ls.date...)
	ls.lastOK.valid = false
}

// headOK returns the status line of a 200 response, the Server line (if
// any) and the Date line as one piece (kept with the Date line), so the
// common head starts with one copy.
func (ls *loopState) headOK() []byte {
	ls.dateLine()
	return ls.okHead
}

// headCache keeps the last head of a 200 keep-alive HTTP/1.1 response with a
// Content-Length and the server's Server and Date lines, per loop: the
// next response with the same header lines and length (a server answering
// the same route again and again) copies it whole.
type headCache struct {
	head  []byte // status line to final CRLF
	hdr   []byte // the handler's header lines in it
	n     int64  // its Content-Length
	valid bool   // cleared when the Date line changes
}

// sameBytes reports whether a and b hold the same bytes: for header blocks
// of 8 to 32 bytes (a Content-Type line, say) with words and no call.
func sameBytes(a, b []byte) bool {
	n := len(a)
	if n != len(b) {
		return false
	}
	if n < 8 || n > 32 {
		return string(a) == string(b)
	}
	for i := 0; i+8 < n; i += 8 {
		if binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]) {
			return false
		}
	}
	return binary.LittleEndian.Uint64(a[n-8:]) == binary.LittleEndian.Uint64(b[n-8:])
}

// maxCachedHead bounds the head kept by headCache.
const maxCachedHead = 1 << 10

// keep remembers head, built from the handler's lines hdr and length n.
func (c *headCache) keep(head, hdr []byte, n int64) {
	if len(head) > maxCachedHead {
		c.valid = false
		return
	}
	c.head = append(c.head[:0], head...)
	c.hdr = append(c.hdr[:0], hdr...)
	c.n = n
	c.valid = true
}
