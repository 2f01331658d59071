package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ioloop/ioloop/http1"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// acceptGUID is the GUID of RFC 6455 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key:
// base64(SHA-1(key + GUID)). It allocates the string. Safe from any
// goroutine.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// validKey reports whether key is base64 of 16 bytes (RFC 6455 4.2.1).
func validKey(key []byte) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], key)
	return err == nil && n == 16
}

// HandshakeError is a handshake the server refused: Status is the HTTP
// status it answered with (400, 403, 426) and Reason why.
type HandshakeError struct {
	Status int
	Reason string
}

// Error returns "websocket: handshake: " and the reason.
func (e *HandshakeError) Error() string { return "websocket: handshake: " + e.Reason }

// Upgrader accepts WebSocket handshakes from the http1 server. Set its
// fields before the first Upgrade and do not change them afterwards; Upgrade
// may then be called for any number of connections on any loop.
type Upgrader struct {
	// Config configures the connections. Config.Compression accepts a
	// permessage-deflate offer.
	Config Config
	// Subprotocols are the subprotocols the server speaks, in its order of
	// preference; the first one the client offers is selected. None: no
	// Sec-WebSocket-Protocol in the response.
	Subprotocols []string
	// CheckOrigin decides whether a request's Origin (a browser's page)
	// may connect; origin is "" when the request has none, and r is nil
	// for UpgradeAdapted. Nil allows
	// requests without an Origin and those whose Origin's host equals the
	// Host header (same origin); refused requests get 403.
	CheckOrigin func(r *http1.Request, origin string) bool
}

// Upgrade validates r as a WebSocket opening handshake (RFC 6455 4.2.1): a
// GET over HTTP/1.1 without a body, "Connection: upgrade", "Upgrade:
// websocket", "Sec-WebSocket-Version: 13" and a key of 16 bytes, and an
// Origin that CheckOrigin accepts. It then selects a subprotocol, negotiates
// permessage-deflate when Config.Compression is set, answers 101 with
// w.Upgrade and returns the new connection, whose h.OnOpen runs on the loop
// after ServeHTTP1 returns. Header fields the handler added with
// w.AddHeader before go into the 101 response.
//
// A request that fails is answered with 400 (426 with
// Sec-WebSocket-Version: 13 for another version, 403 for a refused origin)
// and a short text body, and a *HandshakeError is returned; the handler
// should return. Call it from ServeHTTP1. It allocates the Conn, the accept
// key and the negotiated strings. Loop only.
func (u *Upgrader) Upgrade(w *http1.ResponseWriter, r *http1.Request, h Handler) (*Conn, error) {
	if h == nil {
		return nil, errors.New("websocket: Upgrade: nil Handler")
	}
	var origin func(string) bool
	if u.CheckOrigin != nil {
		origin = func(o string) bool { return u.CheckOrigin(r, o) }
	}
	req := nativeRequest(r)
	if err := u.check(req, origin); err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			_ = w.SetStatus(he.Status)
			if he.Status == http.StatusUpgradeRequired {
				_ = w.AddHeader("Sec-WebSocket-Version", "13")
			}
			_ = w.AddHeader("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.WriteString(he.Reason + "\n")
		}
		return nil, err
	}
	c := u.negotiate(req, h, func(name, value string) { _ = w.AddHeader(name, value) })
	if err := w.Upgrade((*loopHandler)(c)); err != nil {
		return nil, err
	}
	return c, nil
}

// request is what the handshake check needs of a request, from either
// server form.
type request struct {
	method  string
	minor   int
	hasBody bool
	host    string
	values  func(name string) string // every line of a field, joined with ", "
	count   func(name string) int
}

func nativeRequest(r *http1.Request) request {
	return request{
		method: string(r.Method()), minor: r.ProtoMinor(), hasBody: r.HasBody(), host: string(r.Host()),
		values: func(name string) string { return headerValues(r, name) },
		count:  func(name string) int { return countHeader(r, name) },
	}
}

func stdRequest(r *http.Request) request {
	return request{
		method: r.Method, minor: r.ProtoMinor, hasBody: r.ContentLength != 0 || len(r.TransferEncoding) > 0, host: r.Host,
		values: func(name string) string { return strings.Join(r.Header.Values(name), ", ") },
		count:  func(name string) int { return len(r.Header.Values(name)) },
	}
}

// check validates the handshake request; origin decides the Origin.
func (u *Upgrader) check(r request, origin func(string) bool) error {
	switch {
	case r.method != http.MethodGet:
		return &HandshakeError{http.StatusMethodNotAllowed, "method is not GET"}
	case r.minor < 1:
		return &HandshakeError{http.StatusBadRequest, "HTTP/1.1 required"}
	case r.hasBody:
		return &HandshakeError{http.StatusBadRequest, "request has a body"}
	case !hasToken(r.values("Connection"), "upgrade"):
		return &HandshakeError{http.StatusBadRequest, "Connection header lacks upgrade"}
	case !hasToken(r.values("Upgrade"), "websocket"):
		return &HandshakeError{http.StatusBadRequest, "Upgrade header lacks websocket"}
	case r.values("Sec-WebSocket-Version") != "13":
		return &HandshakeError{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version (13 is spoken)"}
	case r.count("Sec-WebSocket-Key") != 1 || !validKey([]byte(r.values("Sec-WebSocket-Key"))):
		return &HandshakeError{http.StatusBadRequest, "invalid Sec-WebSocket-Key"}
	}
	o := r.values("Origin")
	ok := false
	if origin != nil {
		ok = origin(o)
	} else {
		ok = sameOrigin(o, r.host)
	}
	if !ok {
		return &HandshakeError{http.StatusForbidden, "origin not allowed"}
	}
	return nil
}

// negotiate builds the connection and the response fields of a valid
// handshake, handing each field to add.
func (u *Upgrader) negotiate(r request, h Handler, add func(name, value string)) *Conn {
	c := newConn(h, &u.Config, frame.Server)
	add("Upgrade", "websocket")
	add("Sec-WebSocket-Accept", AcceptKey(r.values("Sec-WebSocket-Key")))
	if len(u.Subprotocols) > 0 {
		offered := tokens(r.values("Sec-WebSocket-Protocol"))
	pick:
		for _, want := range u.Subprotocols {
			for _, p := range offered {
				if p == want {
					c.subprotocol = want
					add("Sec-WebSocket-Protocol", want)
					break pick
				}
			}
		}
	}
	if u.Config.Compression {
		if offer := r.values("Sec-WebSocket-Extensions"); offer != "" {
			if resp, params, ok := frame.NegotiateDeflate(offer, u.Config.deflate()); ok {
				add("Sec-WebSocket-Extensions", resp)
				c.setDeflate(params)
			}
		}
	}
	return c
}

// UpgradeAdapted is Upgrade for a net/http handler that http1.Adapt runs:
// w and r are what the adapter passed to it. It checks and negotiates like
// Upgrade (CheckOrigin is then called with a nil *http1.Request), answers a
// bad request with the same statuses through w, and on success switches the
// connection with http1.UpgradeAdapted: the handler must then return without
// using w. It blocks the handler's goroutine until the loop has switched;
// call it only there. A writer that is not the adapter's gives
// http1.ErrNotAdapted and nothing is written.
func (u *Upgrader) UpgradeAdapted(w http.ResponseWriter, r *http.Request, h Handler) (*Conn, error) {
	if h == nil {
		return nil, errors.New("websocket: UpgradeAdapted: nil Handler")
	}
	var origin func(string) bool
	if u.CheckOrigin != nil {
		origin = func(o string) bool { return u.CheckOrigin(nil, o) }
	}
	req := stdRequest(r)
	if err := u.check(req, origin); err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			if he.Status == http.StatusUpgradeRequired {
				w.Header().Set("Sec-WebSocket-Version", "13")
			}
			http.Error(w, he.Reason, he.Status)
		}
		return nil, err
	}
	hdr := w.Header()
	c := u.negotiate(req, h, func(name, value string) { hdr.Set(name, value) })
	if err := http1.UpgradeAdapted(w, (*loopHandler)(c)); err != nil {
		return nil, err
	}
	return c, nil
}

// sameOrigin allows no Origin, or one whose host equals host.
func sameOrigin(origin, host string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// headerValues joins every line of a header field with ", ".
func headerValues(r *http1.Request, name string) string {
	var s string
	for i := 0; i < r.NumHeaders(); i++ {
		n, v := r.HeaderAt(i)
		if strings.EqualFold(string(n), name) {
			if s != "" {
				s += ", "
			}
			s += string(v)
		}
	}
	return s
}

func countHeader(r *http1.Request, name string) int {
	k := 0
	for i := 0; i < r.NumHeaders(); i++ {
		n, _ := r.HeaderAt(i)
		if strings.EqualFold(string(n), name) {
			k++
		}
	}
	return k
}

// tokens splits a comma-separated list, trimming spaces and tabs, dropping
// empty elements.
func tokens(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.Trim(t, " \t"); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// hasToken reports whether the list s holds tok, compared case-insensitively.
func hasToken(s, tok string) bool {
	for _, t := range tokens(s) {
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}
