package frame

import "strings"

// ExtensionName is the token of the permessage-deflate extension (RFC
// 7692) in Sec-WebSocket-Extensions.
const ExtensionName = "permessage-deflate"

// DeflateConfig is one endpoint's preference for permessage-deflate. The
// zero value keeps compression context on both sides, which compresses best
// and costs the most memory per connection (see Compressor and
// Decompressor).
type DeflateConfig struct {
	// ServerNoContextTakeover: the server compresses every message alone.
	// A server sets it to hold no compressor between messages (its
	// compressor then comes from a shared pool per message); a client
	// sets it to ask the server for that, so that the client's
	// decompressor holds no window between messages.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client compresses every message
	// alone. A server sets it to ask the client for that (the server's
	// decompressor then holds no window between messages); a client sets
	// it to say it will do so.
	ClientNoContextTakeover bool
}

// DeflateParams are the negotiated parameters of permessage-deflate, as
// both endpoints agreed them in the handshake.
type DeflateParams struct {
	// ServerNoContextTakeover: the server resets its compressor after
	// every message.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client resets its compressor after
	// every message.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits is the largest LZ77 window (as a power of two,
	// 8 to 15) the server may compress with. This package compresses with
	// a 32 KiB window only, so a server agrees to 15 only.
	ServerMaxWindowBits int
	// ClientMaxWindowBits is the largest window the client may compress
	// with, 8 to 15. A client of this package never offers the parameter,
	// so it agrees to 15 only.
	ClientMaxWindowBits int
}

// ContextTakeover reports whether the endpoint of role sender keeps its
// compression context between messages under p: pass an endpoint's own role
// for its Compressor and its peer's role for its Decompressor. It costs a
// comparison and may be called from any goroutine.
func (p DeflateParams) ContextTakeover(sender Role) bool {
	if sender == Server {
		return !p.ServerNoContextTakeover
	}
	return !p.ClientNoContextTakeover
}

// extParam is one parameter of an extension in Sec-WebSocket-Extensions.
type extParam struct {
	name, value string
	hasValue    bool
}

// extension is one element of Sec-WebSocket-Extensions.
type extension struct {
	name   string
	params []extParam
}

// parseExtensions splits a Sec-WebSocket-Extensions value (RFC 6455 9.1:
// extension *( ";" param [ "=" token / quoted-string ] ), comma-separated,
// with optional whitespace). ok is false on any syntax error.
func parseExtensions(s string) (exts []extension, ok bool) {
	p := extParser{s: s}
	for {
		p.skipSpace()
		if p.i == len(p.s) {
			return exts, true
		}
		if p.s[p.i] == ',' { // empty list elements are allowed (RFC 9110 5.6.1)
			p.i++
			continue
		}
		name := p.token()
		if name == "" {
			return nil, false
		}
		ext := extension{name: name}
		for {
			p.skipSpace()
			if p.i == len(p.s) || p.s[p.i] == ',' {
				break
			}
			if p.s[p.i] != ';' {
				return nil, false
			}
			p.i++
			p.skipSpace()
			prm := extParam{name: p.token()}
			if prm.name == "" {
				return nil, false
			}
			p.skipSpace()
			if p.i < len(p.s) && p.s[p.i] == '=' {
				p.i++
				p.skipSpace()
				v, vok := p.value()
				if !vok {
					return nil, false
				}
				prm.value, prm.hasValue = v, true
			}
			ext.params = append(ext.params, prm)
		}
		exts = append(exts, ext)
	}
}

type extParser struct {
	s string
	i int
}

func (p *extParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// token reads an RFC 9110 token, or returns "" when none is there.
func (p *extParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string (returned unquoted).
func (p *extParser) value() (string, bool) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			switch {
			case c == '"':
				return b.String(), true
			case c == '\\':
				if p.i == len(p.s) {
					return "", false
				}
				b.WriteByte(p.s[p.i])
				p.i++
			case c == '\t' || c >= 0x20 && c != 0x7F:
				b.WriteByte(c)
			default:
				return "", false
			}
		}
		return "", false
	}
	t := p.token()
	return t, t != ""
}

func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7F {
		return false
	}
	return !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

// windowBits parses a max_window_bits value: 8 to 15 in decimal without
// leading zeros (RFC 7692 7.1.2).
func windowBits(v string) (int, bool) {
	switch {
	case len(v) == 1 && (v[0] == '8' || v[0] == '9'):
		return int(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5':
		return 10 + int(v[1]-'0'), true
	}
	return 0, false
}

// deflateOffer reads the parameters of one permessage-deflate element and
// reports which window-bits parameters were present.
func deflateOffer(params []extParam) (p DeflateParams, clientMax, serverMax bool, ok bool) {
	p.ServerMaxWindowBits, p.ClientMaxWindowBits = 15, 15
	var seen [4]bool
	for _, prm := range params {
		var idx int
		switch strings.ToLower(prm.name) {
		case "server_no_context_takeover":
			idx = 0
			if prm.hasValue {
				return p, false, false, false
			}
			p.ServerNoContextTakeover = true
		case "client_no_context_takeover":
			idx = 1
			if prm.hasValue {
				return p, false, false, false
			}
			p.ClientNoContextTakeover = true
		case "server_max_window_bits":
			idx = 2
			bits, bok := windowBits(prm.value)
			if !prm.hasValue || !bok {
				return p, false, false, false
			}
			p.ServerMaxWindowBits, serverMax = bits, true
		case "client_max_window_bits":
			idx = 3
			clientMax = true
			if !prm.hasValue {
				break
			}
			bits, bok := windowBits(prm.value)
			if !bok {
				return p, false, false, false
			}
			p.ClientMaxWindowBits = bits
		default:
			return p, false, false, false
		}
		if seen[idx] {
			return p, false, false, false
		}
		seen[idx] = true
	}
	return p, clientMax, serverMax, true
}

// NegotiateDeflate is the server side of the permessage-deflate
// negotiation (RFC 7692 section 5). offer is the client's
// Sec-WebSocket-Extensions value (several header lines joined with ", ");
// the first permessage-deflate offer that the server can honour is
// accepted. An offer is declined when it has an unknown or duplicated
// parameter or an invalid value, and when it asks server_max_window_bits
// below 15, because compress/flate always compresses with a 32 KiB window
// and cannot promise a smaller one. A client_max_window_bits limit is
// accepted and not echoed (it only bounds what the client sends, and the
// decompressor takes any window). cfg adds the no_context_takeover
// parameters the server wants even if not offered. On success response is
// the Sec-WebSocket-Extensions value to send and params the agreement; ok
// is false when nothing was accepted (send no extension). It allocates the
// response and may be called from any goroutine.
func NegotiateDeflate(offer string, cfg DeflateConfig) (response string, params DeflateParams, ok bool) {
	exts, pok := parseExtensions(offer)
	if !pok {
		return "", DeflateParams{}, false
	}
	for _, ext := range exts {
		if !strings.EqualFold(ext.name, ExtensionName) {
			continue
		}
		p, _, serverMax, vok := deflateOffer(ext.params)
		if !vok || p.ServerMaxWindowBits < 15 {
			continue
		}
		p.ServerNoContextTakeover = p.ServerNoContextTakeover || cfg.ServerNoContextTakeover
		p.ClientNoContextTakeover = p.ClientNoContextTakeover || cfg.ClientNoContextTakeover
		resp := ExtensionName
		if p.ServerNoContextTakeover {
			resp += "; server_no_context_takeover"
		}
		if p.ClientNoContextTakeover {
			resp += "; client_no_context_takeover"
		}
		if serverMax {
			resp += "; server_max_window_bits=15"
		}
		return resp, p, true
	}
	return "", DeflateParams{}, false
}

// DeflateOffer returns the Sec-WebSocket-Extensions value a client sends to
// offer permessage-deflate with cfg. It never offers client_max_window_bits
// (see DeflateParams). It allocates the string and may be called from any
// goroutine.
func DeflateOffer(cfg DeflateConfig) string {
	s := ExtensionName
	if cfg.ServerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if cfg.ClientNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	return s
}

// The errors of ParseDeflateResponse: the client fails the connection.
var (
	errExtSyntax       = protocolError("malformed Sec-WebSocket-Extensions in the handshake response")
	errExtUnrequested  = protocolError("handshake response names an extension that was not offered")
	errExtTwice        = protocolError("handshake response accepts permessage-deflate twice")
	errExtParams       = protocolError("invalid permessage-deflate parameters in the handshake response")
	errExtClientWindow = protocolError("handshake response sets client_max_window_bits, which was not offered")
	errExtContext      = protocolError("handshake response drops server_no_context_takeover that was offered")
)

// ParseDeflateResponse is the client side of the negotiation: response is
// the server's Sec-WebSocket-Extensions value and cfg what the client
// offered with DeflateOffer. ok is false with a nil error when the server
// accepted no extension. An extension other than permessage-deflate, a
// second acceptance, an unknown, duplicated or invalid parameter,
// client_max_window_bits (never offered), or a missing
// server_no_context_takeover that cfg asked for is an *Error with code 1002:
// the client must fail the connection. params has client_no_context_takeover
// set when either side asked for it; the client then must reset its
// compressor per message. It allocates and may be called from any
// goroutine.
func ParseDeflateResponse(response string, cfg DeflateConfig) (params DeflateParams, ok bool, err error) {
	exts, pok := parseExtensions(response)
	if !pok {
		return DeflateParams{}, false, errExtSyntax
	}
	for _, ext := range exts {
		if !strings.EqualFold(ext.name, ExtensionName) {
			return DeflateParams{}, false, errExtUnrequested
		}
		if ok {
			return DeflateParams{}, false, errExtTwice
		}
		p, clientMax, _, vok := deflateOffer(ext.params)
		switch {
		case !vok:
			return DeflateParams{}, false, errExtParams
		case clientMax:
			return DeflateParams{}, false, errExtClientWindow
		case cfg.ServerNoContextTakeover && !p.ServerNoContextTakeover:
			return DeflateParams{}, false, errExtContext
		}
		p.ClientNoContextTakeover = p.ClientNoContextTakeover || cfg.ClientNoContextTakeover
		params, ok = p, true
	}
	return params, ok, nil
}
