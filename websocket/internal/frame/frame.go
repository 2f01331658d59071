// Package frame is ioloop's WebSocket codec: RFC 6455 framing, masking and
// UTF-8 validation, the close frame payload, and the RFC 7692
// permessage-deflate negotiation and compression. It does no I/O, starts no
// goroutine and imports only the standard library; the websocket package
// builds connections on it.
//
// # Contract
//
// Input is incremental and zero-copy. A connection keeps its unconsumed
// input in a buffer and calls Decoder.Next with all of it whenever bytes
// arrive. Next returns how many bytes it consumed and at most one Event;
// the caller drops the consumed bytes and calls again until Next reports
// EventNone, which means that more input is needed. Input may be split at
// any byte: the Decoder keeps the state of the frame and of the message it
// is in, never pointers into the caller's buffer, so the unconsumed bytes
// may move between calls (they must not change). Data payload is returned
// as it arrives, one Event per contiguous piece, as a subslice of the
// caller's buffer that Next has unmasked in place; a control frame is
// returned whole, once all of it is present (at most 14+125 bytes). Event
// payload stays valid while the caller keeps those bytes: for a connection
// on a loop, until the callback that received it returns.
//
// Validation. Every rule of RFC 6455 that a receiver must enforce is checked
// at the first byte that proves a violation, before the rest of the frame
// arrives: the mask bit by Role, reserved bits without a negotiated
// extension, unknown opcodes, control frames that are fragmented or longer
// than 125 bytes, continuation frames without a message, a new data message
// inside a fragmented one, non-minimal length encodings, the maximum message
// size, UTF-8 of text messages across frames and across any split (fail
// fast: an invalid byte is reported when it is seen, an unfinished code point
// when the message ends), and close payloads (length, code, UTF-8 reason).
// A violation is an *Error that carries the close code to send (1002, 1007
// or 1009). After an error the Decoder returns the same error forever; the
// connection must be closed.
//
// Ownership. A Decoder, Validator, Compressor and Decompressor each belong to
// one connection and are used by one goroutine at a time (the connection's
// loop); none has locks. The free functions (ParseHeader, AppendHeader,
// Mask, ParseClose, NegotiateDeflate, ...) keep no state and may be called
// from any goroutine.
//
// Costs. Decoder.Next, Mask, Validator.Write, ParseHeader, AppendHeader and
// ParseClose allocate nothing. Compressor.Compress and
// Decompressor.Decompress allocate nothing in the steady state when the
// destination has capacity; their memory per connection is documented on
// the types. Errors are preallocated values, except those that name an
// offending value.
//
// Fast paths. Mask works eight bytes at a time and Validator skips ASCII
// eight bytes at a time; each has a plain reference twin (maskReference,
// the byte-at-a-time path of Validator) that the tests compare it with. The
// build tag ioloop_purego makes the package use the reference twins only.
package frame

import "encoding/binary"

// Opcode is the 4-bit frame opcode of RFC 6455 section 5.2.
type Opcode uint8

// The opcodes defined by RFC 6455. The others are reserved and rejected.
const (
	// Continuation continues a fragmented data message.
	Continuation Opcode = 0x0
	// Text starts a text message (UTF-8).
	Text Opcode = 0x1
	// Binary starts a binary message.
	Binary Opcode = 0x2
	// Close is the close control frame.
	Close Opcode = 0x8
	// Ping is the ping control frame.
	Ping Opcode = 0x9
	// Pong is the pong control frame.
	Pong Opcode = 0xA
)

// IsControl reports whether op is a control opcode (0x8 to 0xF). It costs a
// comparison and may be called from any goroutine.
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsKnown reports whether op is one of the six opcodes RFC 6455 defines. It
// costs a comparison and may be called from any goroutine.
func (op Opcode) IsKnown() bool {
	return op <= Binary || (op >= Close && op <= Pong)
}

// String returns the opcode's name, or "opcode(N)" for a reserved one. It
// may be called from any goroutine; it allocates only for reserved opcodes.
func (op Opcode) String() string {
	switch op {
	case Continuation:
		return "continuation"
	case Text:
		return "text"
	case Binary:
		return "binary"
	case Close:
		return "close"
	case Ping:
		return "ping"
	case Pong:
		return "pong"
	}
	return "opcode(" + string(rune('0'+op/10)) + string(rune('0'+op%10)) + ")"
}

// The reserved bits as they sit in the first byte of a frame. Header.Rsv
// holds them in these positions; permessage-deflate uses Rsv1.
const (
	Rsv1 byte = 0x40
	Rsv2 byte = 0x20
	Rsv3 byte = 0x10
)

// Size limits of the frame format.
const (
	// MaxHeaderLen is the longest frame header: 2 bytes, an 8-byte length
	// and a 4-byte masking key.
	MaxHeaderLen = 14
	// MaxControlPayload is the longest payload of a control frame.
	MaxControlPayload = 125
)

// Header is a decoded frame header (RFC 6455 section 5.2).
type Header struct {
	// Fin is set on the last frame of a message.
	Fin bool
	// Rsv holds the reserved bits in their wire positions (Rsv1, Rsv2,
	// Rsv3); other bits must be zero.
	Rsv byte
	// Opcode is the frame's opcode.
	Opcode Opcode
	// Masked says whether the payload is masked with Key.
	Masked bool
	// Length is the payload length, at most 1<<63-1.
	Length int64
	// Key is the masking key; it is meaningful only when Masked.
	Key [4]byte
}

// Len returns the encoded length of h's header: 2 to 14 bytes. It costs a
// few comparisons and may be called from any goroutine.
func (h Header) Len() int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// ParseHeader decodes the frame header at the start of b. It returns the
// header and its length n (2 to 14). While b holds only part of a header it
// returns n == 0 and a nil error: the caller keeps the bytes and calls again
// with more. It is strict: a length not encoded in the minimal number of
// bytes (RFC 6455 5.2: "the minimal number of bytes MUST be used") and a
// 64-bit length with its most significant bit set are errors with close
// code 1002. It checks only the encoding: the opcode, the reserved bits, the
// mask bit and the control frame rules are the Decoder's to check. It
// allocates nothing and may be called from any goroutine.
func ParseHeader(b []byte) (h Header, n int, err error) {
	return parseHeader(b, false)
}

// parseHeader is ParseHeader with the minimal-length rule optional.
func parseHeader(b []byte, lax bool) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv = b0 & (Rsv1 | Rsv2 | Rsv3)
	h.Opcode = Opcode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := b1 & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, nil
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		if h.Length < 126 && !lax {
			return h, 0, errNonMinimalLength
		}
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, errLengthMSB
		}
		if u <= 0xFFFF && !lax {
			return h, 0, errNonMinimalLength
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// AppendHeader appends the encoding of h to dst and returns the extended
// slice. The length uses the minimal encoding; the masking key is written
// when h.Masked. Bits of h.Rsv outside Rsv1|Rsv2|Rsv3 and opcode bits above
// 0xF are dropped; a negative Length is encoded as 0. It allocates only when
// dst lacks capacity for the header (at most MaxHeaderLen bytes) and may be
// called from any goroutine.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.Rsv&(Rsv1|Rsv2|Rsv3) | byte(h.Opcode&0x0F)
	if h.Fin {
		b0 |= 0x80
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	l := h.Length
	if l < 0 {
		l = 0
	}
	switch {
	case l <= 125:
		dst = append(dst, b0, m|byte(l))
	case l <= 0xFFFF:
		dst = append(dst, b0, m|126, byte(l>>8), byte(l))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(l))
	}
	if h.Masked {
		dst = append(dst, h.Key[0], h.Key[1], h.Key[2], h.Key[3])
	}
	return dst
}

// AppendFrame appends one whole frame to dst: the header h with Length set
// to len(payload), then payload, masked with h.Key when h.Masked (payload
// itself is not modified). It allocates only when dst lacks capacity and
// may be called from any goroutine.
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		Mask(h.Key, 0, dst[start:])
	}
	return dst
}
