package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The raw WebSocket client side (RFC 6455) that the load generator needs:
// the opening handshake, masked client frames, and reading server frames
// back into whole messages. No extensions are offered.

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey is the Sec-WebSocket-Accept value for key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// handshake writes the upgrade request for u on w and reads the response
// from br: it must be 101 with the right Upgrade, Connection and
// Sec-WebSocket-Accept headers, and no extension.
func handshake(w io.Writer, br *bufio.Reader, u *url.URL) error {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	path := u.RequestURI()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(w, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("handshake: status %s", resp.Status)
	}
	if !headerHas(resp.Header, "Upgrade", "websocket") || !headerHas(resp.Header, "Connection", "upgrade") {
		return errors.New("handshake: no Upgrade: websocket / Connection: upgrade")
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		return fmt.Errorf("handshake: Sec-WebSocket-Accept %q, want %q", got, acceptKey(key))
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		return fmt.Errorf("handshake: extension %q that was not offered", ext)
	}
	return nil
}

// headerHas reports whether a comma-separated header holds token (ASCII
// case-insensitive).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for len(v) > 0 {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// appendFrame appends one final client frame (masked with mask) of opcode
// op carrying payload to dst.
func appendFrame(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	dst = append(dst, 0x80|op)
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	for i, b := range payload {
		dst = append(dst, b^mask[i&3])
	}
	return dst
}

// errClosed is what readMessage returns for a close frame.
var errClosed = errors.New("close frame received")

// maxMessage bounds what readMessage accepts (the check sends 70,000 bytes).
const maxMessage = 1 << 20

// readMessage reads one whole data message from br into buf[:0] (server
// frames must not be masked; continuations are joined; pings and pongs
// are skipped) and returns its opcode and payload.
func readMessage(br *bufio.Reader, buf []byte) (byte, []byte, error) {
	buf = buf[:0]
	var op byte
	started := false
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return 0, nil, err
		}
		fin, rsv, fop := h[0]&0x80 != 0, h[0]&0x70, h[0]&0x0F
		if rsv != 0 {
			return 0, nil, fmt.Errorf("frame with RSV bits %#x", rsv)
		}
		if h[1]&0x80 != 0 {
			return 0, nil, errors.New("masked server frame")
		}
		n := uint64(h[1] & 0x7F)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(br, e[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(br, e[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		if n > maxMessage || uint64(len(buf))+n > maxMessage {
			return 0, nil, fmt.Errorf("message over %d bytes", maxMessage)
		}
		if fop >= opClose { // control frame
			if !fin || n > 125 {
				return 0, nil, errors.New("bad control frame")
			}
			if _, err := br.Discard(int(n)); err != nil {
				return 0, nil, err
			}
			if fop == opClose {
				return 0, nil, errClosed
			}
			if fop != opPing && fop != opPong {
				return 0, nil, fmt.Errorf("unknown control opcode %#x", fop)
			}
			continue
		}
		switch {
		case !started && fop == opCont:
			return 0, nil, errors.New("continuation frame without a message")
		case started && fop != opCont:
			return 0, nil, fmt.Errorf("opcode %#x inside a fragmented message", fop)
		case !started && fop != opText && fop != opBinary:
			return 0, nil, fmt.Errorf("unknown data opcode %#x", fop)
		}
		if !started {
			op, started = fop, true
		}
		off := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf[off:]); err != nil {
			return 0, nil, err
		}
		if fin {
			return op, buf, nil
		}
	}
}
