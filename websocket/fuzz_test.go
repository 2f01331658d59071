package websocket

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ioloop/ioloop/websocket/internal/frame"
)

const fuzzKey = "dGhlIHNhbXBsZSBub25jZQ=="

// FuzzHandshakeResponse feeds arbitrary responses to the client's strict
// handshake reading (the shared HTTP/1.1 parser, then check): it never
// panics; it accepts a head only with status 101, the right accept key, the
// upgrade fields and, when it says the connection is compressed or has a
// subprotocol, a matching field; and the input read whole and one byte at a
// time give the same result. Each input is tried as given and with an empty
// line appended, so that a head without its end (as the corpus holds some)
// is also read to its end.
func FuzzHandshakeResponse(f *testing.F) {
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(fuzzKey) + "\r\n"
	f.Add([]byte(good))
	f.Add([]byte(good + "\r\n"))
	f.Add([]byte(good + "\r\n\x81\x02hi"))
	f.Add([]byte(good + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"))
	f.Add([]byte(good + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n"))
	f.Add([]byte(good + "X-Folded: a\r\n b\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"))
	f.Add([]byte("HTTP/1.1 101\r\nupgrade:websocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:" + AcceptKey(fuzzKey) + "\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, b := range [][]byte{in, append(in[:len(in):len(in)], "\r\n\r\n"...)} {
			whole := readResponse(b, len(b))
			bytewise := readResponse(b, 1)
			if whole != bytewise {
				t.Fatalf("%q: whole %+v, one byte at a time %+v", b, whole, bytewise)
			}
			if whole.err != "" || whole.n == 0 {
				continue
			}
			s := strings.TrimLeft(string(b[:whole.n]), "\r\n")
			if !strings.HasPrefix(s, "HTTP/1.1 101") || !strings.Contains(s, AcceptKey(fuzzKey)) {
				t.Fatalf("accepted %q", b)
			}
			if !bytes.HasSuffix(b[:whole.n], []byte("\r\n\r\n")) {
				t.Fatalf("head %q does not end with an empty line", b[:whole.n])
			}
			if whole.deflate && !strings.Contains(strings.ToLower(s), "permessage-deflate") {
				t.Fatalf("compression without the extension: %q", s)
			}
			if whole.subprotocol != "" && whole.subprotocol != "chat" && whole.subprotocol != "v2" {
				t.Fatalf("subprotocol %q not offered", whole.subprotocol)
			}
		}
	})
}

// readResult is what reading a response did: the head's length (0 while
// incomplete), the error, and what the head set on the connection.
type readResult struct {
	n           int
	err         string
	subprotocol string
	deflate     bool
}

// readResponse reads in as a client handshake that offered compression and
// the subprotocols "chat" and "v2" does, as if the bytes arrived step bytes
// at a time: each call gets every byte so far, as Conn's input holds them.
// It stops at the first error or once the head is complete.
func readResponse(in []byte, step int) readResult {
	cfg := &Config{Compression: true}
	c := newConn(HandlerFuncs{}, cfg, frame.Client)
	hs := newClientHandshake(&Dialer{Config: *cfg, Subprotocols: []string{"chat", "v2"}}, AcceptKey(fuzzKey))
	for end := min(step, len(in)); ; end = min(end+step, len(in)) {
		n, err := hs.parse(c, in[:end])
		if err != nil {
			return readResult{err: err.Error()}
		}
		if n > 0 {
			return readResult{n: n, subprotocol: c.subprotocol, deflate: c.deflate}
		}
		if end == len(in) {
			return readResult{}
		}
	}
}
