package websocket

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// maxResponseHead bounds the server's handshake response head.
const maxResponseHead = 8 << 10

// Dialer opens client connections through an ioloop Group. Set its fields
// before the first Dial and do not change them afterwards; Dial is then safe
// from any goroutine.
type Dialer struct {
	// Config configures the connections. Config.Compression offers
	// permessage-deflate.
	Config Config
	// Subprotocols are offered in Sec-WebSocket-Protocol, in order.
	Subprotocols []string
	// Origin, when set, is sent as the Origin header.
	Origin string
	// Header holds extra request header fields (not the ones the handshake
	// sets itself).
	Header http.Header
	// Timeout bounds the connect and the handshake together. Default 10 s.
	Timeout time.Duration
}

// clientHandshake is the state of a client connection until the 101.
type clientHandshake struct {
	d       *Dialer
	req     []byte
	accept  string
	p       *async.Promise[*Conn]
	exec    loopExecutor
	timeout time.Duration
	timer   ioloop.Timer
	failed  bool
}

// Dial connects to rawURL ("ws://host:port/path"; "wss" is not supported:
// the loop speaks no TLS) on one of g's loops, sends the opening handshake
// and checks the server's answer (RFC 6455 4.1): status 101, "Upgrade:
// websocket", "Connection: upgrade", the right Sec-WebSocket-Accept, a
// subprotocol among those offered and a permessage-deflate response that
// matches the offer. The future settles with the open connection (after
// h.OnOpen ran) or the error; its continuations run on the connection's loop,
// or, when Dial fails before a connection exists (a bad URL, a refused
// dial), on the group's first loop.
// A host name is resolved on the calling goroutine. It allocates the
// connection and the request. Safe from any goroutine.
func (d *Dialer) Dial(g *ioloop.Group, rawURL string, h Handler) *async.Future[*Conn] {
	u, err := url.Parse(rawURL)
	if err != nil {
		return failDial(g, errors.New("websocket: dial: "+err.Error()))
	}
	if u.Scheme != "ws" && u.Scheme != "http" {
		return failDial(g, errors.New("websocket: dial: unsupported scheme "+u.Scheme))
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	c := newConn(h, &d.Config, frame.Client)
	hs := &clientHandshake{d: d, accept: AcceptKey(k)}
	hs.req = d.request(u, k)
	c.hs = hs
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	hs.timeout = timeout
	hs.exec.first = g.Loops()[0]
	hs.p = async.NewPromise[*Conn](&hs.exec)
	if _, err := g.Dial("tcp", host, (*loopHandler)(c), timeout); err != nil {
		return failDial(g, err)
	}
	return hs.p.Future()
}

// loopExecutor runs the dial future's continuations on the connection's
// loop, which is known only once the connection exists. The loop is stored
// (OnOpen, or fail) before the future settles, and the future settles only
// on that loop, so every continuation runs there. Before a connection exists
// (a Dial that fails at once) the stated executor is first, the group's
// first loop: a continuation never runs on a goroutine of its own.
type loopExecutor struct {
	l     atomic.Pointer[ioloop.Loop]
	first *ioloop.Loop // g.Loops()[0]
}

// Execute runs t on the connection's loop, or on first while none is
// known. Safe from any goroutine; t never runs before Execute returns.
func (e *loopExecutor) Execute(t async.Task) {
	if l := e.l.Load(); l != nil {
		l.Execute(t)
		return
	}
	e.first.Execute(t)
}

// failDial returns a future failed with err whose continuations run on the
// group's first loop (loopExecutor), for a Dial that fails before a
// connection exists.
func failDial(g *ioloop.Group, err error) *async.Future[*Conn] {
	p := async.NewPromise[*Conn](&loopExecutor{first: g.Loops()[0]})
	p.Reject(err)
	return p.Future()
}

// request builds the opening handshake.
func (d *Dialer) request(u *url.URL, key string) []byte {
	var b strings.Builder
	path := u.RequestURI()
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n")
	if d.Origin != "" {
		b.WriteString("Origin: " + d.Origin + "\r\n")
	}
	if len(d.Subprotocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(d.Subprotocols, ", ") + "\r\n")
	}
	if d.Config.Compression {
		b.WriteString("Sec-WebSocket-Extensions: " + frame.DeflateOffer(d.Config.deflate()) + "\r\n")
	}
	for name, vs := range d.Header {
		for _, v := range vs {
			if strings.ContainsAny(name+v, "\r\n\x00") {
				continue
			}
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func (hs *clientHandshake) open(c *Conn) {
	_, _ = c.c.Write(hs.req)
	hs.req = nil
	hs.timer = c.c.Loop().AfterFunc(hs.timeout, func() {
		if c.hs == hs {
			hs.fail(c, errors.New("websocket: handshake timed out"))
		}
	})
}

// fail ends the handshake with err: the future fails and the connection
// is reset. The handler's OnClose is not called (OnOpen never was).
func (hs *clientHandshake) fail(c *Conn, err error) {
	if hs.failed {
		return
	}
	hs.failed = true
	hs.timer.Stop()
	if c.c != nil {
		hs.exec.l.Store(c.c.Loop())
	}
	hs.p.Reject(err)
	if c.c != nil && c.c.State() < ioloop.StateClosing {
		_ = c.c.Abort()
	}
}

// read parses the response head; it reports whether the connection is open
// and the rest of the input should be read as frames.
func (hs *clientHandshake) read(c *Conn) bool {
	if hs.failed {
		c.c.Discard(-1)
		return false
	}
	buf, _ := c.c.Peek(-1)
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > maxResponseHead {
			hs.fail(c, errors.New("websocket: handshake: response head too large"))
		}
		return false
	}
	if end+4 > maxResponseHead {
		hs.fail(c, errors.New("websocket: handshake: response head too large"))
		return false
	}
	if err := hs.check(c, buf[:end+2]); err != nil {
		hs.fail(c, err)
		return false
	}
	c.c.Discard(end + 4)
	hs.timer.Stop()
	c.hs = nil
	c.start()
	if c.state == stOpen {
		hs.p.Resolve(c)
	} else {
		hs.p.Reject(ErrClosed)
	}
	return true
}

// check validates the response head (status line and fields, each ending
// with CRLF) strictly.
func (hs *clientHandshake) check(c *Conn, head []byte) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || len(line) < 12 || (len(line) > 12 && line[12] != ' ') {
		return errors.New("websocket: handshake: malformed status line")
	}
	if string(line[9:12]) != "101" {
		return &HandshakeError{Status: atoi3(line[9:12]), Reason: "server answered " + string(line[9:])}
	}
	var upgrade, connection, accept, protocol, extensions string
	nAccept, nProto := 0, 0
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") || l[0] == ' ' || l[0] == '\t' {
			return errors.New("websocket: handshake: malformed header line")
		}
		v := strings.Trim(string(value), " \t")
		switch strings.ToLower(string(name)) {
		case "upgrade":
			upgrade = join(upgrade, v)
		case "connection":
			connection = join(connection, v)
		case "sec-websocket-accept":
			accept = v
			nAccept++
		case "sec-websocket-protocol":
			protocol = v
			nProto++
		case "sec-websocket-extensions":
			extensions = join(extensions, v)
		}
	}
	switch {
	case !hasToken(upgrade, "websocket"):
		return errors.New("websocket: handshake: response lacks Upgrade: websocket")
	case !hasToken(connection, "upgrade"):
		return errors.New("websocket: handshake: response lacks Connection: upgrade")
	case nAccept != 1 || accept != hs.accept:
		return errors.New("websocket: handshake: wrong Sec-WebSocket-Accept")
	case nProto > 1:
		return errors.New("websocket: handshake: several subprotocols selected")
	}
	if protocol != "" {
		ok := false
		for _, p := range hs.d.Subprotocols {
			ok = ok || p == protocol
		}
		if !ok {
			return errors.New("websocket: handshake: server selected a subprotocol not offered")
		}
		c.subprotocol = protocol
	}
	if extensions != "" {
		if !hs.d.Config.Compression {
			return errors.New("websocket: handshake: server accepted an extension not offered")
		}
		params, ok, err := frame.ParseDeflateResponse(extensions, hs.d.Config.deflate())
		if err != nil {
			return err
		}
		if ok {
			c.setDeflate(params)
		}
	}
	return nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

func atoi3(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
