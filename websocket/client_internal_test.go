package websocket

import (
	"errors"
	"strings"
	"testing"

	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// goodHead is a valid answer to a handshake with fuzzKey.
var goodHead = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(fuzzKey) + "\r\n\r\n"

// readSplit reads in as readResponse does, the bytes arriving in two
// pieces: in[:k], then the rest.
func readSplit(in []byte, k int) readResult {
	cfg := &Config{Compression: true}
	c := newConn(HandlerFuncs{}, cfg, frame.Client)
	hs := newClientHandshake(&Dialer{Config: *cfg, Subprotocols: []string{"chat", "v2"}}, AcceptKey(fuzzKey))
	for _, end := range []int{k, len(in)} {
		n, err := hs.parse(c, in[:end])
		if err != nil {
			return readResult{err: err.Error()}
		}
		if n > 0 {
			return readResult{n: n, subprotocol: c.subprotocol, deflate: c.deflate}
		}
	}
	return readResult{}
}

// everySplit checks that in reads to want whole, split in two at every
// byte, and one byte at a time.
func everySplit(t *testing.T, in string, want readResult) {
	t.Helper()
	b := []byte(in)
	if got := readResponse(b, 1); got != want {
		t.Fatalf("one byte at a time: %+v, want %+v", got, want)
	}
	for k := 0; k <= len(b); k++ {
		if got := readSplit(b, k); got != want {
			t.Fatalf("split at %d: %+v, want %+v", k, got, want)
		}
	}
}

// TestHandshakeResponseAccepted: valid 101 responses are read to the end of
// their head, whatever pieces they arrive in; the bytes after the head are
// left for the frame reader.
func TestHandshakeResponseAccepted(t *testing.T) {
	key := AcceptKey(fuzzKey)
	cases := []struct {
		name, head, after string
		want              readResult
	}{
		{name: "plain", head: goodHead},
		{name: "frames behind", head: goodHead, after: "\x81\x02hi\x81\x00"},
		{name: "lower case, no reason, no spaces", head: "HTTP/1.1 101\r\nupgrade:websocket\r\nconnection:keep-alive, upgrade\r\nsec-websocket-accept:" + key + "\r\n\r\n"},
		{name: "empty line before", head: "\r\n" + goodHead},
		{name: "subprotocol", head: strings.Replace(goodHead, "\r\n\r\n", "\r\nSec-WebSocket-Protocol: v2\r\n\r\n", 1), want: readResult{subprotocol: "v2"}},
		{name: "deflate", head: strings.Replace(goodHead, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", 1), want: readResult{deflate: true}},
		{name: "obs-text reason", head: strings.Replace(goodHead, "Switching Protocols", "Prot\xe9g\xe9", 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			want.n = len(tc.head)
			everySplit(t, tc.head+tc.after, want)
		})
	}
}

// TestHandshakeResponseMalformed: a malformed or wrong 101 fails the
// handshake with the same error whatever pieces it arrives in, as soon as
// a byte proves it, and nothing of it is taken as frames.
func TestHandshakeResponseMalformed(t *testing.T) {
	key := AcceptKey(fuzzKey)
	withField := func(f string) string { return strings.Replace(goodHead, "\r\n\r\n", "\r\n"+f+"\r\n\r\n", 1) }
	cases := []struct {
		name, resp, want string
	}{
		{name: "not HTTP", resp: "SSH-2.0-OpenSSH\r\n\r\n", want: "malformed status line: invalid HTTP version"},
		{name: "HTTP/2", resp: strings.Replace(goodHead, "HTTP/1.1", "HTTP/2.0", 1), want: "malformed status line: unsupported HTTP version"},
		{name: "HTTP/1.0", resp: strings.Replace(goodHead, "HTTP/1.1", "HTTP/1.0", 1), want: "malformed status line: HTTP/1.1 required"},
		{name: "letter in status", resp: strings.Replace(goodHead, "101", "1O1", 1), want: "malformed status line: invalid status code"},
		{name: "short status", resp: strings.Replace(goodHead, "101 ", "11 ", 1), want: "malformed status line: invalid status code"},
		{name: "two spaces", resp: strings.Replace(goodHead, "HTTP/1.1 ", "HTTP/1.1  ", 1), want: "malformed status line: invalid status code"},
		{name: "bare LF after status line", resp: strings.Replace(goodHead, "Protocols\r\n", "Protocols\n", 1), want: "malformed status line"},
		{name: "control byte in reason", resp: strings.Replace(goodHead, "Switching", "Swi\x00tching", 1), want: "malformed status line: invalid character in reason phrase"},
		{name: "whitespace after status line", resp: strings.Replace(goodHead, "Protocols\r\n", "Protocols\r\n Upgrade: websocket\r\n", 1), want: "malformed header section: whitespace after start line"},
		{name: "obs-fold", resp: strings.Replace(goodHead, "Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n", 1), want: "malformed header section: obsolete line folding"},
		{name: "space before colon", resp: strings.Replace(goodHead, "Upgrade: websocket", "Upgrade : websocket", 1), want: "malformed header section: whitespace before colon"},
		{name: "bare LF in field", resp: strings.Replace(goodHead, "Upgrade: websocket\r\n", "Upgrade: websocket\n", 1), want: "malformed header section: bare LF"},
		{name: "bare CR in field", resp: strings.Replace(goodHead, "Upgrade: websocket\r\n", "Upgrade: web\rsocket\r\n", 1), want: "malformed header section"},
		{name: "NUL in value", resp: withField("X-A: a\x00b"), want: "malformed header section: invalid character in field value"},
		{name: "no colon", resp: withField("X-A"), want: "malformed header section: invalid character in field name"},
		{name: "bad Content-Length", resp: withField("Content-Length: 1x"), want: "malformed header section"},
		{name: "missing accept", resp: strings.Replace(goodHead, "Sec-WebSocket-Accept: "+key+"\r\n", "", 1), want: "wrong Sec-WebSocket-Accept"},
		{name: "wrong accept", resp: strings.Replace(goodHead, key, AcceptKey("AAAAAAAAAAAAAAAAAAAAAA=="), 1), want: "wrong Sec-WebSocket-Accept"},
		{name: "accept with a prefix", resp: strings.Replace(goodHead, key, "x"+key, 1), want: "wrong Sec-WebSocket-Accept"},
		{name: "two accepts", resp: withField("Sec-WebSocket-Accept: " + key), want: "wrong Sec-WebSocket-Accept"},
		{name: "no Upgrade", resp: strings.Replace(goodHead, "Upgrade: websocket\r\n", "", 1), want: "lacks Upgrade: websocket"},
		{name: "no Connection", resp: strings.Replace(goodHead, "Connection: Upgrade\r\n", "", 1), want: "lacks Connection: upgrade"},
		{name: "unoffered subprotocol", resp: withField("Sec-WebSocket-Protocol: other"), want: "subprotocol not offered"},
		{name: "two subprotocols", resp: withField("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v2"), want: "several subprotocols"},
		{name: "not 101", resp: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", want: "server answered 403 Forbidden"},
		{name: "too many fields", resp: withField(strings.Repeat("X-A: b\r\n", 100)), want: "response head too large (too many fields)"},
		{name: "status line too long", resp: "HTTP/1.1 101 " + strings.Repeat("a", maxResponseHead) + "\r\n\r\n", want: "response head too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			whole := readResponse([]byte(tc.resp), len(tc.resp))
			if !strings.HasPrefix(whole.err, "websocket: handshake: ") || !strings.Contains(whole.err, tc.want) {
				t.Fatalf("got %+v, want an error about %q", whole, tc.want)
			}
			everySplit(t, tc.resp, whole)
		})
	}
}

// TestHandshakeResponseNotUpgraded: a refusal is a *HandshakeError with the
// server's status.
func TestHandshakeResponseNotUpgraded(t *testing.T) {
	hs := newClientHandshake(&Dialer{}, AcceptKey(fuzzKey))
	c := newConn(HandlerFuncs{}, &Config{}, frame.Client)
	_, err := hs.parse(c, []byte("HTTP/1.0 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 426 || he.Reason != "server answered 426 Upgrade Required" {
		t.Fatalf("got %#v", err)
	}
}

// TestHandshakeResponseSizeLimit: a head of exactly maxResponseHead bytes
// is read; one byte more fails the handshake, and as soon as that many
// bytes arrived without the head's end, before the rest comes.
func TestHandshakeResponseSizeLimit(t *testing.T) {
	if maxResponseHead != 8<<10 {
		t.Fatalf("maxResponseHead is %d; Dialer.Dial's doc says 8 KiB", maxResponseHead)
	}
	pad := func(extra int) string {
		n := maxResponseHead - len(goodHead) - len("X-Pad: \r\n") + extra
		return strings.Replace(goodHead, "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("a", n)+"\r\n\r\n", 1)
	}
	fits := pad(0)
	if len(fits) != maxResponseHead {
		t.Fatalf("head of %d bytes", len(fits))
	}
	if got := readResponse([]byte(fits+"\x81\x00"), len(fits)+2); got.err != "" || got.n != len(fits) {
		t.Fatalf("head of maxResponseHead bytes: %+v", got)
	}
	if got := readResponse([]byte(fits), 1); got.err != "" || got.n != len(fits) {
		t.Fatalf("head of maxResponseHead bytes, one byte at a time: %+v", got)
	}
	over := pad(1)
	for _, step := range []int{1, 1000, len(over)} {
		if got := readResponse([]byte(over), step); !strings.Contains(got.err, "response head too large") {
			t.Fatalf("head of maxResponseHead+1 bytes, %d at a time: %+v", step, got)
		}
	}
	// No end in sight: the error comes with byte maxResponseHead+1.
	endless := []byte(strings.TrimSuffix(goodHead, "\r\n") + "X-Pad: " + strings.Repeat("a", maxResponseHead))[:maxResponseHead+1]
	hs := newClientHandshake(&Dialer{}, AcceptKey(fuzzKey))
	c := newConn(HandlerFuncs{}, &Config{}, frame.Client)
	if n, err := hs.parse(c, endless[:maxResponseHead]); n != 0 || err != nil {
		t.Fatalf("maxResponseHead bytes without the end: %d, %v", n, err)
	}
	if _, err := hs.parse(c, endless); err == nil || !strings.Contains(err.Error(), "response head too large") {
		t.Fatalf("maxResponseHead+1 bytes without the end: %v", err)
	}
}
