package websocket

import (
	"strings"
	"testing"

	"github.com/ioloop/ioloop/websocket/internal/frame"
)

const fuzzKey = "dGhlIHNhbXBsZSBub25jZQ=="

// FuzzHandshakeResponse feeds arbitrary response heads to the client's
// strict handshake check: it never panics, and it accepts a head only with
// status 101, the right accept key, the upgrade fields and, when it says the
// connection is compressed or has a subprotocol, a matching field.
func FuzzHandshakeResponse(f *testing.F) {
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(fuzzKey) + "\r\n"
	f.Add([]byte(good))
	f.Add([]byte(good + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"))
	f.Add([]byte(good + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n"))
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"))
	f.Add([]byte("HTTP/1.1 101\r\nupgrade:websocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:" + AcceptKey(fuzzKey) + "\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		cfg := &Config{Compression: true}
		c := newConn(HandlerFuncs{}, cfg, frame.Client)
		hs := &clientHandshake{d: &Dialer{Config: *cfg, Subprotocols: []string{"chat", "v2"}}, accept: AcceptKey(fuzzKey)}
		err := hs.check(c, head)
		if err != nil {
			return
		}
		s := string(head)
		if !strings.HasPrefix(s, "HTTP/1.1 101") || !strings.Contains(s, AcceptKey(fuzzKey)) {
			t.Fatalf("accepted %q", s)
		}
		if c.deflate && !strings.Contains(strings.ToLower(s), "permessage-deflate") {
			t.Fatalf("compression without the extension: %q", s)
		}
		if c.subprotocol != "" && c.subprotocol != "chat" && c.subprotocol != "v2" {
			t.Fatalf("subprotocol %q not offered", c.subprotocol)
		}
	})
}
