package websocket

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/httpparse"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// maxResponseHead bounds the server's handshake response head: its status
// line and its header section, the final empty line included. A longer
// head fails the handshake ("response head too large").
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
	// Timeout bounds the connect, the TLS handshake (wss) and the
	// WebSocket handshake together. Default 10 s. (The group's
	// ioloop.Options.HandshakeTimeout bounds the TLS handshake too.)
	Timeout time.Duration
	// TLSConfig configures the TLS client of wss:// URLs (RootCAs,
	// InsecureSkipVerify, client certificates, ...); nil is the zero
	// tls.Config: the server's certificate is verified against the
	// system's roots. Each Dial uses a copy: ServerName, when empty, is
	// the URL's host (for SNI and verification), and NextProtos, when
	// empty, offers ALPN "http/1.1". Unused for ws:// URLs.
	TLSConfig *tls.Config
}

// clientHandshake is the state of a client connection until the 101.
type clientHandshake struct {
	d       *Dialer
	req     []byte
	accept  string
	p       *async.Promise[*Conn]
	exec    loopExecutor
	timeout time.Duration
	start   time.Time    // when Dial began: Timeout counts from it
	ic      *ioloop.Conn // the dialed connection, before OnOpen (wss)
	timer   ioloop.Timer
	failed  bool
	parser  httpparse.Parser // reads the response head, as the http1 client does
}

// newClientHandshake prepares the handshake of a Dial whose
// Sec-WebSocket-Accept must be accept.
func newClientHandshake(d *Dialer, accept string) *clientHandshake {
	hs := &clientHandshake{d: d, accept: accept}
	hs.parser.Init(httpparse.Response, httpparse.Limits{MaxHeaderBytes: maxResponseHead})
	return hs
}

// Dial connects to rawURL ("ws://host:port/path", or "wss://host:port/path"
// for WebSocket over TLS; the port defaults to 80 and 443) on one of g's
// loops, sends the opening handshake and checks the server's answer (RFC
// 6455 4.1): status 101, "Upgrade: websocket", "Connection: upgrade", the
// right Sec-WebSocket-Accept, a subprotocol among those offered and a
// permessage-deflate response that matches the offer. The response head is
// read as strictly as the http1 client reads responses (RFC 9112: CRLF
// line ends, no obs-fold) and may be 8 KiB long at most.
//
// A wss:// URL first does a TLS handshake with TLSConfig (see there) on
// ioloop's handshake pool (ioloop.Group.DialTLS); the WebSocket connection
// then runs on the loop as a ws:// one does, its frames encrypted by the
// loop. A failed TLS handshake (an untrusted or mismatched certificate, a
// server that speaks no TLS) fails the future with an error that wraps
// ioloop.ErrTLSHandshake (errors.Is), and h.OnOpen never runs.
//
// The future settles with the open connection (after h.OnOpen ran) or the
// error; its continuations run on the connection's loop, or, when Dial
// fails before a connection exists (a bad URL, a refused dial), on the
// group's first loop. A host name is resolved on the calling goroutine. It
// allocates the connection and the request (and, for wss, a copy of
// TLSConfig). Safe from any goroutine.
func (d *Dialer) Dial(g *ioloop.Group, rawURL string, h Handler) *async.Future[*Conn] {
	u, err := url.Parse(rawURL)
	if err != nil {
		return failDial(g, errors.New("websocket: dial: "+err.Error()))
	}
	var secure bool
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return failDial(g, errors.New("websocket: dial: unsupported scheme "+u.Scheme))
	}
	if secure && u.Hostname() == "" {
		return failDial(g, errors.New("websocket: dial: no host in "+rawURL+" (TLS verifies the host's name)"))
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if secure {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	c := newConn(h, &d.Config, frame.Client)
	hs := newClientHandshake(d, AcceptKey(k))
	hs.req = d.request(u, k)
	c.hs = hs
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	hs.timeout = timeout
	hs.start = time.Now()
	hs.exec.first = g.Loops()[0]
	hs.p = async.NewPromise[*Conn](&hs.exec)
	if !secure {
		if _, err := g.Dial("tcp", host, (*loopHandler)(c), timeout); err != nil {
			return failDial(g, err)
		}
		return hs.p.Future()
	}
	ic, err := g.DialTLS("tcp", host, d.tlsConfig(u), (*loopHandler)(c), timeout)
	if err != nil {
		return failDial(g, err)
	}
	// The TLS handshake runs before OnOpen: bound it by what is left of
	// Timeout too (Options.HandshakeTimeout may be longer).
	ic.Loop().Execute(async.TaskFunc(func() { hs.watch(c, ic) }))
	return hs.p.Future()
}

// tlsConfig returns the copy of d.TLSConfig one wss Dial uses: ServerName
// from u when it has none, ALPN "http/1.1" when it offers nothing.
func (d *Dialer) tlsConfig(u *url.URL) *tls.Config {
	cfg := d.TLSConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	return cfg
}

// watch bounds a wss connection's TLS handshake by the rest of Timeout:
// unless OnOpen came first, a timer fails the dial when Timeout passes.
// Runs on ic's loop.
func (hs *clientHandshake) watch(c *Conn, ic *ioloop.Conn) {
	if c.hs != hs || c.c != nil || hs.failed {
		return // open already (open set its own timer), or over
	}
	hs.ic = ic
	hs.timer = ic.Loop().AfterFunc(hs.left(), func() {
		if c.hs == hs && c.c == nil {
			hs.fail(c, errors.New("websocket: dial: TLS handshake timed out"))
		}
	})
}

// left is what is left of Timeout since Dial began (at least 1 ns).
func (hs *clientHandshake) left() time.Duration {
	return max(hs.timeout-time.Since(hs.start), 1)
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
	hs.ic = nil
	hs.timer.Stop() // watch's, for wss
	hs.timer = c.c.Loop().AfterFunc(hs.left(), func() {
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
	ic := c.c
	if ic == nil {
		ic = hs.ic // a wss connection still in its TLS handshake
	}
	if ic != nil {
		hs.exec.l.Store(ic.Loop())
	}
	hs.p.Reject(err)
	if ic != nil && ic.State() < ioloop.StateClosing {
		_ = ic.Abort()
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
	n, err := hs.parse(c, buf)
	if err != nil {
		hs.fail(c, err)
		return false
	}
	if n == 0 {
		return false
	}
	c.c.Discard(n)
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

// parse reads the response head from buf, which holds the response from its
// first byte: the bytes of earlier calls again, followed by the new ones.
// It returns 0 while the head is incomplete, the head's length once it is
// complete and accepted (the bytes after it are frames), or the error that
// fails the handshake. The head is read by the same parser, with the same
// strictness, as the http1 client's responses (RFC 9112: CRLF only, no
// obs-fold, no whitespace before a colon, field values of visible
// characters); then check validates what it says.
func (hs *clientHandshake) parse(c *Conn, buf []byte) (int, error) {
	n, err := hs.parser.Parse(buf)
	if err != nil {
		return 0, headError(buf, err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := hs.check(c, hs.parser.Message()); err != nil {
		return 0, err
	}
	return n, nil
}

// headError turns the parser's error about the response head buf into the
// handshake's error, saying whether the status line or the header section
// is malformed.
func headError(buf []byte, err error) error {
	var pe *httpparse.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Kind {
	case httpparse.HeaderTooLarge, httpparse.URITooLong:
		return errors.New("websocket: handshake: response head too large (" + pe.Reason + ")")
	}
	// The status line ends at the first LF after the empty lines the
	// parser allows before it.
	start := 0
	for start+1 < len(buf) && buf[start] == '\r' && buf[start+1] == '\n' {
		start += 2
	}
	where := "status line"
	for i := start; i < len(buf) && i < pe.Offset; i++ {
		if buf[i] == '\n' {
			where = "header section"
			break
		}
	}
	return errors.New("websocket: handshake: malformed " + where + ": " + pe.Reason + " at byte " + strconv.Itoa(pe.Offset))
}

// check validates the response head m, which the parser accepted: status
// 101 over HTTP/1.1, the upgrade fields, the accept key, and a subprotocol
// and extensions among those offered.
func (hs *clientHandshake) check(c *Conn, m *httpparse.Message) error {
	if m.Status != 101 {
		reason := "server answered " + strconv.Itoa(m.Status)
		if len(m.Reason) > 0 {
			reason += " " + string(m.Reason)
		}
		return &HandshakeError{Status: m.Status, Reason: reason}
	}
	if m.Minor != 1 {
		return errors.New("websocket: handshake: malformed status line: HTTP/1.1 required")
	}
	var upgrade, connection, accept, protocol, extensions string
	nAccept, nProto := 0, 0
	for _, h := range m.Headers {
		v := string(h.Value)
		switch strings.ToLower(string(h.Name)) {
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
