package frame

import "math"

// Role says which end of the connection a Decoder serves; it decides the
// masking rule for incoming frames.
type Role uint8

// The roles.
const (
	// Server decodes frames from a client: every frame must be masked.
	Server Role = iota
	// Client decodes frames from a server: no frame may be masked.
	Client
)

// DefaultMaxMessageSize is the message size limit of a Config that leaves
// MaxMessageSize zero: 16 MiB.
const DefaultMaxMessageSize = 16 << 20

// Config sets the rules a Decoder enforces. The zero Config decodes as a
// server, without extensions, with the default message size limit.
type Config struct {
	// Role selects the masking rule (Server: frames must be masked;
	// Client: frames must not be).
	Role Role
	// MaxMessageSize bounds the payload of a data message, summed over
	// its frames; a frame header that would pass it is an error with
	// code 1009, before its payload arrives. For a compressed message it
	// bounds the compressed size with room for deflate's overhead on
	// incompressible data (DeflateSlack), so that a message of exactly
	// MaxMessageSize bytes is accepted however it was compressed; the
	// Decompressor bounds the inflated size at MaxMessageSize itself.
	// Zero means DefaultMaxMessageSize; a negative value means no limit.
	MaxMessageSize int64
	// Deflate allows RSV1 on the first frame of a data message, as
	// permessage-deflate negotiates it. Without it RSV1 is an error.
	Deflate bool
	// AllowNonMinimalLength accepts payload lengths encoded in more bytes
	// than needed. RFC 6455 forbids them and the default rejects them
	// (1002); some old peers send them.
	AllowNonMinimalLength bool
}

// EventKind says what a Decoder event carries.
type EventKind uint8

// The event kinds.
const (
	// EventNone: no event; Next needs more input.
	EventNone EventKind = iota
	// EventData: a piece of a data message's payload.
	EventData
	// EventControl: a whole control frame (close, ping or pong).
	EventControl
)

// Event is one step of decoding reported by Decoder.Next.
type Event struct {
	// Kind says whether the event carries data, a control frame, or
	// nothing.
	Kind EventKind
	// Opcode is Text or Binary for data (the message's type, also on
	// pieces of continuation frames), Close, Ping or Pong for control.
	Opcode Opcode
	// Payload is unmasked payload, a subslice of the buffer given to
	// Next. Data payload comes in pieces as it arrives; their
	// concatenation is the message. A control payload is whole, and a
	// close payload has been checked by ParseClose.
	Payload []byte
	// First is set on the first event of a data message.
	First bool
	// Final is set on the last event of a data message (and on every
	// control event); the message is then complete. An empty message
	// gives one event with First, Final and an empty Payload.
	Final bool
	// Compressed is set on every event of a data message whose first
	// frame had RSV1 (only with Config.Deflate): Payload is deflated and
	// has not been checked as UTF-8.
	Compressed bool
}

// Decoder is the per-connection state machine that decodes and validates
// incoming frames; see the package contract. It holds no buffer, only
// 104 bytes of state on 64-bit platforms (pinned by a test), and is ready
// after Init (or as the zero value, which acts as a server with the default
// Config). It belongs to one goroutine at a time.
type Decoder struct {
	cfg Config
	max int64 // effective message size limit, -1 for none
	err error // sticky error

	// Current data frame, while inFrame.
	inFrame   bool
	fin       bool
	masked    bool
	maskPos   int
	key       [4]byte
	remaining int64

	// Current data message, while inMessage.
	inMessage  bool
	first      bool // no event of the message reported yet
	compressed bool
	op         Opcode
	size       int64
	utf8       Validator
}

// Init resets d to decode a new connection with cfg. It costs a few stores
// and allocates nothing.
func (d *Decoder) Init(cfg Config) {
	*d = Decoder{cfg: cfg, max: cfg.MaxMessageSize}
	switch {
	case d.max == 0:
		d.max = DefaultMaxMessageSize
	case d.max < 0:
		d.max = -1
	}
}

// InMessage reports whether a data message has started and not ended: a
// fragmented message is open, or a frame's payload is still arriving. It
// costs a load.
func (d *Decoder) InMessage() bool { return d.inMessage }

// Err returns the error that stopped d, or nil. It costs a load.
func (d *Decoder) Err() error { return d.err }

// Next decodes from b, the caller's unconsumed input. It returns the number
// of bytes consumed, n, and at most one event. The caller drops b[:n] and
// calls Next again while the event is not EventNone; EventNone means that
// Next needs more input (n may still be positive: a data frame header is
// consumed as soon as it is whole). A control frame is consumed only once
// all of it is in b. The event's Payload is a subslice of b[:n], unmasked in
// place. On a protocol violation Next returns an *Error with the close code
// to send, and returns it again on every later call. It allocates nothing.
func (d *Decoder) Next(b []byte) (ev Event, n int, err error) {
	if d.err != nil {
		return Event{}, 0, d.err
	}
	if d.max == 0 {
		d.Init(d.cfg)
	}
	for {
		if d.inFrame {
			avail := int64(len(b) - n)
			if avail == 0 {
				return Event{}, n, nil
			}
			if avail > d.remaining {
				avail = d.remaining
			}
			p := b[n : n+int(avail)]
			n += int(avail)
			if d.masked {
				d.maskPos = Mask(d.key, d.maskPos, p)
			}
			d.remaining -= avail
			if d.remaining == 0 {
				d.inFrame = false
			}
			return d.data(p, !d.inFrame && d.fin, n)
		}
		rest := b[n:]
		if len(rest) == 0 {
			return Event{}, n, nil
		}
		if err := d.checkFirst(rest[0]); err != nil {
			return d.fail(err, n)
		}
		if len(rest) < 2 {
			return Event{}, n, nil
		}
		if err := d.checkSecond(rest[0], rest[1]); err != nil {
			return d.fail(err, n)
		}
		h, hn, err := parseHeader(rest, d.cfg.AllowNonMinimalLength)
		if err != nil {
			return d.fail(err, n)
		}
		if hn == 0 {
			// A data frame's length may be known before its masking key.
			if !h.Opcode.IsControl() && d.max >= 0 && h.Length > d.limit(h)-d.sizeBefore(h.Opcode) {
				return d.fail(errMessageTooBig, n)
			}
			return Event{}, n, nil
		}
		if h.Opcode.IsControl() {
			end := hn + int(h.Length)
			if len(rest) < end {
				return Event{}, n, nil
			}
			p := rest[hn:end]
			if h.Masked {
				Mask(h.Key, 0, p)
			}
			if h.Opcode == Close {
				if _, _, err := ParseClose(p); err != nil {
					return d.fail(err, n)
				}
			}
			return Event{Kind: EventControl, Opcode: h.Opcode, Payload: p, First: true, Final: true}, n + end, nil
		}
		if d.max >= 0 && h.Length > d.limit(h)-d.sizeBefore(h.Opcode) {
			return d.fail(errMessageTooBig, n)
		}
		if h.Opcode != Continuation {
			d.inMessage, d.first, d.op = true, true, h.Opcode
			d.compressed = h.Rsv&Rsv1 != 0
			d.size = 0
			d.utf8.Reset()
		}
		d.size += h.Length
		n += hn
		d.fin, d.masked, d.key, d.maskPos = h.Fin, h.Masked, h.Key, 0
		d.remaining = h.Length
		if h.Length > 0 {
			d.inFrame = true
			continue
		}
		if h.Fin {
			return d.data(b[n:n], true, n)
		}
		// An empty non-final frame adds nothing: read on.
	}
}

// sizeBefore returns the size of the message a data frame with opcode op
// adds to: the open message's for a continuation, 0 for a new message.
// DeflateSlack returns how many bytes the compressed form of an
// incompressible message of n bytes may exceed n by: deflate stores such data
// in blocks of at most 65,535 bytes with 5 bytes of header each, plus a few
// bytes of final block. The bound used is n/1024 + 64.
func DeflateSlack(n int64) int64 { return n>>10 + 64 }

// limit returns the size bound of the data message that frame h starts or
// continues (d.max >= 0): MaxMessageSize, plus DeflateSlack for a
// compressed one.
func (d *Decoder) limit(h Header) int64 {
	compressed := d.compressed
	if h.Opcode != Continuation {
		compressed = h.Rsv&Rsv1 != 0
	}
	if compressed && d.max <= math.MaxInt64/2 {
		return d.max + DeflateSlack(d.max)
	}
	return d.max
}

func (d *Decoder) sizeBefore(op Opcode) int64 {
	if op == Continuation {
		return d.size
	}
	return 0
}

// data reports payload p of the current message, checking text as UTF-8.
func (d *Decoder) data(p []byte, final bool, n int) (Event, int, error) {
	if d.op == Text && !d.compressed {
		if !d.utf8.Write(p) || final && !d.utf8.Complete() {
			return d.fail(errInvalidUTF8, n)
		}
	}
	ev := Event{Kind: EventData, Opcode: d.op, Payload: p, First: d.first, Final: final, Compressed: d.compressed}
	d.first = false
	if final {
		d.inMessage = false
	}
	return ev, n, nil
}

// checkFirst validates the first byte of a frame: reserved bits, opcode and
// the fragmentation rules.
func (d *Decoder) checkFirst(b0 byte) error {
	op := Opcode(b0 & 0x0F)
	if !op.IsKnown() {
		return errReservedOpcode
	}
	if rsv := b0 & (Rsv1 | Rsv2 | Rsv3); rsv != 0 {
		if rsv != Rsv1 || !d.cfg.Deflate {
			return errReservedBits
		}
		if op.IsControl() {
			return errRsv1Control
		}
		if op == Continuation {
			return errRsv1Continuation
		}
	}
	if op.IsControl() {
		if b0&0x80 == 0 {
			return errControlFragmented
		}
		return nil
	}
	if op == Continuation {
		if !d.inMessage {
			return errContinuationNoMsg
		}
	} else if d.inMessage {
		return errDataInFragmented
	}
	return nil
}

// checkSecond validates the second byte of a frame: the mask bit by role
// and the 7-bit length of a control frame.
func (d *Decoder) checkSecond(b0, b1 byte) error {
	masked := b1&0x80 != 0
	if d.cfg.Role == Server && !masked {
		return errUnmasked
	}
	if d.cfg.Role == Client && masked {
		return errMasked
	}
	if Opcode(b0&0x0F).IsControl() && b1&0x7F > MaxControlPayload {
		return errControlTooLong
	}
	return nil
}

// fail makes err sticky and reports it with the bytes consumed so far.
func (d *Decoder) fail(err error, n int) (Event, int, error) {
	d.err = err
	return Event{}, n, err
}
