// Package websocket is RFC 6455 WebSocket on ioloop's event loops: a server
// upgrade from the http1 server, a client that dials through a Group, and
// permessage-deflate (RFC 7692). Connections run their callbacks on the loop
// that owns the socket, share its read buffer and its output water marks, and
// hold no goroutine of their own.
//
// # Serving
//
//	up := &websocket.Upgrader{Config: websocket.Config{Compression: true}}
//	srv := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
//		if _, err := up.Upgrade(w, r, echo{}); err != nil {
//			return // Upgrade answered with the error status
//		}
//	})}
//
// # Dialing
//
//	f := (&websocket.Dialer{}).Dial(g, "ws://127.0.0.1:8080/ws", h)
//	c, err := f.Await(ctx)
//
// # Receiving
//
// Handler.OnMessage gets every whole message, reassembled from its frames and
// inflated when compressed; the data is lent until OnMessage returns. A
// Handler that also implements FragmentHandler gets uncompressed messages
// piece by piece as they arrive instead, with no reassembly buffer (compressed
// messages still arrive whole). Pings are answered automatically; pongs and
// any input count as signs of life for the keep-alive ping.
//
// # Sending
//
// From a callback on the connection's loop: Send (a whole message), SendFragment
// (a message in pieces), SendPrepared (a message encoded once for many
// connections), Ping and Close. These copy the data into the connection's
// output and return at once. From any other goroutine: WriteMessage (a
// future that settles once the message is queued) and Close; Broadcast sends
// a PreparedMessage to many connections from anywhere.
//
// # Contract
//
// A Conn belongs to the loop of its ioloop connection. Every field is owned
// by that loop; the only doors from other goroutines are WriteMessage, Close,
// Broadcast and Loop().Post, all of which post a task to the loop.
//
// Reading: OnData feeds the connection's whole unconsumed input to a
// frame.Decoder and consumes each event's bytes at once, so the input buffer
// never holds more than a partial frame header or a partial control frame
// (at most 139 bytes): data payload is delivered or copied into the message
// buffer as it arrives. The message buffer exists only while a fragmented or
// compressed message is arriving (an unfragmented uncompressed message is
// delivered straight from the input, with no copy) and is dropped after a
// message larger than 64 KiB. Config.MaxMessageSize bounds it (a compressed
// message's wire form may pass it by deflate's overhead on incompressible
// data, MaxMessageSize/1024 + 64 bytes), and bounds the inflated size of a
// compressed message too, so a decompression bomb costs at most
// MaxMessageSize+1 bytes of output.
//
// Closing: the close handshake of RFC 6455 7. Whoever closes first sends a
// close frame and waits for the peer's (bounded by Config.CloseTimeout); the
// side that receives a close frame first echoes it; then the TCP connection
// is closed gracefully (queued output is flushed first). A protocol violation
// by the peer is answered with a close frame carrying the decoder's code
// (1002, 1007, 1009) and nothing after it reaches the handler. Handler.OnClose
// runs exactly once, last, with a *CloseError saying how it ended.
//
// Backpressure: Config.SlowConsumer chooses what happens to data messages
// sent while the connection's output is above the high-water mark. With
// PolicyQueue (the default) they are queued and the ioloop connection pauses
// reading until the peer has read (backpressure onto the peer). With
// PolicyDrop or PolicyClose the policy bounds what is queued, and reading
// goes on (ioloop.Conn.SetPauseOnBackpressure(false)). Two PolicyQueue peers
// that each queue more than ioloop.Options.HighWater for the other at the
// same time (an echo of messages larger than the mark, sent without waiting)
// both stop reading and wait for each other: use PolicyDrop or PolicyClose
// on one side, keep the mark above the largest message in flight, or do not
// send a large message before the previous one was answered.
//
// # The net/http adapter
//
// A net/http handler that http1.Adapt runs upgrades with
// Upgrader.UpgradeAdapted: the handshake is checked from the *http.Request,
// the 101 goes out through the adapter, and the connection leaves HTTP on its
// loop exactly as with a native handler (http1.UpgradeAdapted). The handler's
// goroutine waits for the switch, then must return. A native handler in front
// of the adapter, as in `ioloop serve`, saves the trip through the worker
// pool.
package websocket

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/websocket/internal/frame"
)

// MessageType is the type of a data message.
type MessageType uint8

// The data message types of RFC 6455.
const (
	// TextMessage carries UTF-8 text; received text is validated.
	TextMessage MessageType = 1
	// BinaryMessage carries arbitrary bytes.
	BinaryMessage MessageType = 2
)

// String returns "text", "binary" or "MessageType(N)".
func (mt MessageType) String() string {
	switch mt {
	case TextMessage:
		return "text"
	case BinaryMessage:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(mt)) + ")"
}

// Close status codes (RFC 6455 7.4.1) an application commonly sends or sees.
const (
	CloseNormal          = frame.CloseNormal
	CloseGoingAway       = frame.CloseGoingAway
	CloseProtocolError   = frame.CloseProtocolError
	CloseUnsupportedData = frame.CloseUnsupportedData
	CloseNoStatus        = frame.CloseNoStatus
	CloseAbnormal        = frame.CloseAbnormal
	CloseInvalidPayload  = frame.CloseInvalidPayload
	ClosePolicyViolation = frame.ClosePolicyViolation
	CloseMessageTooBig   = frame.CloseMessageTooBig
	CloseInternalError   = frame.CloseInternalError
	CloseTryAgainLater   = frame.CloseTryAgainLater
)

// Handler receives the events of WebSocket connections. Every method runs on
// the connection's loop, one call at a time, and must not block.
//
//	OnOpen     once, first, when the handshake is complete
//	OnMessage  for each whole data message received
//	OnClose    exactly once, last, whatever raced
type Handler interface {
	// OnOpen is called once the handshake is complete.
	OnOpen(c *Conn)
	// OnMessage is called with each received message. data is lent: it is
	// valid only until OnMessage returns (copy what you keep).
	OnMessage(c *Conn, mt MessageType, data []byte)
	// OnClose is called exactly once when the connection has ended. err is
	// a *CloseError: Code is the code of the close handshake (the peer's
	// when Remote), or CloseAbnormal when the connection ended without one.
	OnClose(c *Conn, err error)
}

// FragmentHandler is a Handler that takes uncompressed messages in pieces as
// they arrive, instead of whole: no reassembly buffer is kept and
// Config.MaxMessageSize still bounds each message. OnFragment is called
// instead of OnMessage for them, with first set on the first piece and final
// on the last (an empty message is one call with both); text pieces are
// valid UTF-8 up to the last piece only as a whole (a code point may be split
// between pieces). Compressed messages still go to OnMessage. data is lent
// until OnFragment returns.
type FragmentHandler interface {
	Handler
	OnFragment(c *Conn, mt MessageType, data []byte, first, final bool)
}

// HandlerFuncs is a Handler made of functions; nil fields do nothing.
type HandlerFuncs struct {
	Open    func(c *Conn)
	Message func(c *Conn, mt MessageType, data []byte)
	Closed  func(c *Conn, err error)
}

// OnOpen calls f.Open.
func (f HandlerFuncs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnMessage calls f.Message.
func (f HandlerFuncs) OnMessage(c *Conn, mt MessageType, data []byte) {
	if f.Message != nil {
		f.Message(c, mt, data)
	}
}

// OnClose calls f.Closed.
func (f HandlerFuncs) OnClose(c *Conn, err error) {
	if f.Closed != nil {
		f.Closed(c, err)
	}
}

// Policy says what happens to data messages sent to a connection whose
// queued output is above the loop's high-water mark (the peer does not read
// fast enough). Control frames are always queued.
type Policy uint8

// The slow-consumer policies.
const (
	// PolicyQueue queues the message anyway (the default): reading from
	// the peer is paused, and ioloop.Options.MaxOutput bounds the queue
	// (past it the connection is closed with ioloop.ErrOutputLimit).
	PolicyQueue Policy = iota
	// PolicyDrop drops the message: the send returns ErrDropped and
	// Conn.Dropped counts it. For feeds where only fresh data matters.
	PolicyDrop
	// PolicyClose closes the connection with code 1008 (policy violation)
	// and the reason "slow consumer"; the send returns ErrSlowConsumer.
	PolicyClose
)

// Config holds the settings of connections, for Upgrader and Dialer. The zero
// Config is valid: each field states its default.
type Config struct {
	// MaxMessageSize bounds a received message, summed over its frames and,
	// for a compressed one, after inflating. A larger message closes the
	// connection with 1009. Default 16 MiB; negative: no limit.
	MaxMessageSize int64
	// PingInterval, when positive, sends a ping after each interval and
	// closes the connection with ErrPingTimeout when nothing at all (no
	// pong, no data) arrived within PingTimeout of it. Default 0: no pings.
	PingInterval time.Duration
	// PingTimeout is how long a keep-alive ping waits for a sign of life.
	// Default PingInterval.
	PingTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after this
	// side sent one; then the connection is closed anyway. Default 5 s.
	CloseTimeout time.Duration
	// Compression offers (Dialer) or accepts (Upgrader) permessage-deflate.
	Compression bool
	// CompressionLevel is the flate level of sent messages, 1 to 9.
	// Default 1 (fastest).
	CompressionLevel int
	// NoContextTakeover asks for and uses no compression context between
	// messages in both directions: each message is compressed alone. It
	// costs compression ratio and bounds the compression memory of an idle
	// connection to zero. With context takeover a connection holds a
	// compressor (about 1.2 MiB at level 1) and a decompressor (about
	// 105 KiB) from its first compressed message to its end.
	NoContextTakeover bool
	// CompressThreshold: messages shorter than this are sent uncompressed
	// even when compression was negotiated. Default 128 bytes.
	CompressThreshold int
	// SlowConsumer is the policy for data sent while the peer does not
	// read. Default PolicyQueue.
	SlowConsumer Policy
}

func (cfg *Config) maxMessage() int64 {
	switch {
	case cfg.MaxMessageSize == 0:
		return frame.DefaultMaxMessageSize
	case cfg.MaxMessageSize < 0:
		return -1
	}
	return cfg.MaxMessageSize
}

func (cfg *Config) closeTimeout() time.Duration {
	if cfg.CloseTimeout > 0 {
		return cfg.CloseTimeout
	}
	return 5 * time.Second
}

func (cfg *Config) pingTimeout() time.Duration {
	if cfg.PingTimeout > 0 {
		return cfg.PingTimeout
	}
	return cfg.PingInterval
}

func (cfg *Config) threshold() int {
	if cfg.CompressThreshold > 0 {
		return cfg.CompressThreshold
	}
	return 128
}

func (cfg *Config) level() int {
	if cfg.CompressionLevel >= 1 && cfg.CompressionLevel <= 9 {
		return cfg.CompressionLevel
	}
	return frame.DefaultCompressionLevel
}

func (cfg *Config) deflate() frame.DeflateConfig {
	return frame.DeflateConfig{
		ServerNoContextTakeover: cfg.NoContextTakeover,
		ClientNoContextTakeover: cfg.NoContextTakeover,
	}
}

// Errors of this package. A *CloseError reports how a connection ended; a
// protocol violation of the peer arrives as a *CloseError with the code that
// was sent for it (1002, 1007, 1009) and Remote false.
var (
	// ErrClosed: the connection is closing or closed; nothing more can be
	// sent.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrDropped: PolicyDrop dropped a message sent to a slow consumer.
	ErrDropped = errors.New("websocket: message dropped: the peer does not read")
	// ErrSlowConsumer: PolicyClose closed a connection that did not read.
	ErrSlowConsumer = errors.New("websocket: slow consumer")
	// ErrPingTimeout: the peer did not answer a keep-alive ping in time.
	ErrPingTimeout = errors.New("websocket: keep-alive ping timed out")
	// ErrCloseTimeout: the peer did not answer a close frame in time.
	ErrCloseTimeout = errors.New("websocket: close handshake timed out")
	// ErrMessageType: a message type other than TextMessage or
	// BinaryMessage was given.
	ErrMessageType = errors.New("websocket: invalid message type")
	// ErrControlTooLong: a ping payload or close reason is over 125 bytes.
	ErrControlTooLong = errors.New("websocket: control payload over 125 bytes")
	// ErrCloseCode: Close was given a code that may not be sent.
	ErrCloseCode = errors.New("websocket: invalid close code")
	// ErrFragment: SendFragment was mixed with another message or type.
	ErrFragment = errors.New("websocket: fragment out of sequence")
)

// CloseError says how a connection ended; Handler.OnClose always gets one.
type CloseError struct {
	// Code is the close code: the peer's (Remote), the one this side sent,
	// or CloseAbnormal (1006) when no close frame was exchanged.
	Code int
	// Reason is the close frame's reason text.
	Reason string
	// Remote is set when the peer started the close handshake or sent a
	// close frame first.
	Remote bool
	// Err is the cause when the connection ended for a reason other than
	// a close frame the peer sent: a protocol violation, a time-out, the
	// transport's error. Nil after a clean handshake.
	Err error
}

// Error returns "websocket: close CODE REASON" and the cause, if any.
func (e *CloseError) Error() string {
	s := "websocket: close " + strconv.Itoa(e.Code)
	if e.Reason != "" {
		s += " " + strconv.Quote(e.Reason)
	}
	if e.Remote {
		s += " (by peer)"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *CloseError) Unwrap() error { return e.Err }

// Connection states; they only move forward.
const (
	stHandshake uint8 = iota // client: request sent, response awaited
	stOpen
	stClosing // a close frame was sent or received; no data flows
	stClosed  // OnClose ran
)

// Conn is one WebSocket connection, owned by the loop of its ioloop
// connection. Methods say which goroutine may call them: "loop only" ones
// must be called from a callback on that loop. It is 464 bytes beside the
// ioloop connection; buffers exist only while a message is being
// reassembled or compressed, and for a client's masked copy of what it
// sends (kept up to 64 KiB).
type Conn struct {
	c     *ioloop.Conn
	h     Handler
	fh    FragmentHandler
	cfg   *Config
	role  frame.Role
	state uint8

	dec frame.Decoder

	// Message being received (reassembled or compressed).
	msg     []byte
	msgType MessageType

	// Compression, when negotiated.
	deflate  bool
	ownCtx   bool // this side keeps its compression context
	comp     *frame.Compressor
	decomp   *frame.Decompressor
	inflated []byte

	// Sending.
	wbuf     []byte // masked frames (client) and compressed payloads
	hdr      [frame.MaxHeaderLen]byte
	iov      [2][]byte
	fragType MessageType // type of the message SendFragment is in, 0: none
	slow     bool        // output above the high-water mark
	dropped  uint64

	// Close handshake.
	closeSent  bool
	closeRecv  bool
	closeErr   *CloseError
	closeTimer ioloop.Timer

	// Keep-alive.
	pingTimer ioloop.Timer
	heard     bool // input arrived since the last keep-alive ping
	awaiting  bool // a keep-alive ping waits for its check
	pingFn    func()
	checkFn   func()

	subprotocol string
	ctx         any

	// Client handshake.
	hs *clientHandshake
}

// loopHandler is the ioloop.Handler of one WebSocket connection.
type loopHandler Conn

func newConn(h Handler, cfg *Config, role frame.Role) *Conn {
	c := &Conn{h: h, cfg: cfg, role: role}
	c.fh, _ = h.(FragmentHandler)
	return c
}

// setDeflate arms permessage-deflate with the negotiated params.
func (c *Conn) setDeflate(p frame.DeflateParams) {
	c.deflate = true
	c.ownCtx = p.ContextTakeover(c.role)
	peer := frame.Server
	if c.role == frame.Server {
		peer = frame.Client
	}
	comp, err := frame.NewCompressor(c.cfg.level(), c.ownCtx)
	if err != nil { // the level was checked by Config.level
		panic(err)
	}
	c.comp = comp
	c.decomp = frame.NewDecompressor(p.ContextTakeover(peer))
}

// start makes the connection open: the decoder, the keep-alive timer and
// the handler's OnOpen.
func (c *Conn) start() {
	c.dec.Init(frame.Config{Role: c.role, MaxMessageSize: c.cfg.maxMessage(), Deflate: c.deflate})
	c.state = stOpen
	if c.cfg.SlowConsumer != PolicyQueue {
		// The policy bounds what is queued for a slow peer: reading
		// goes on (no deadlock between two peers that both send).
		c.c.SetPauseOnBackpressure(false)
	}
	if c.cfg.PingInterval > 0 {
		c.pingFn, c.checkFn = c.pingTick, c.pingCheck
		c.pingTimer = c.c.Loop().EveryFunc(c.cfg.PingInterval, c.pingFn)
	}
	c.h.OnOpen(c)
}

// NetConn returns the ioloop connection under c (for addresses and
// options; do not read from or write to it). Any goroutine.
func (c *Conn) NetConn() *ioloop.Conn { return c.c }

// Loop returns the loop that owns the connection. Any goroutine.
func (c *Conn) Loop() *ioloop.Loop { return c.c.Loop() }

// Subprotocol returns the negotiated subprotocol, or "". Loop only (it does
// not change after the handshake).
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Compressed reports whether permessage-deflate was negotiated. Loop only.
func (c *Conn) Compressed() bool { return c.deflate }

// Context returns the value set by SetContext. Loop only.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value to the connection (the application's state
// for it). Loop only.
func (c *Conn) SetContext(v any) { c.ctx = v }

// Dropped returns how many data messages PolicyDrop dropped. Loop only.
func (c *Conn) Dropped() uint64 { return c.dropped }

// OnOpen implements ioloop.Handler: a dialed connection sends its handshake
// request; an upgraded one is open at once.
func (lh *loopHandler) OnOpen(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	c.c = ic
	if c.hs != nil {
		c.hs.exec.l.Store(ic.Loop())
		c.hs.open(c)
		return
	}
	c.start()
}

// OnData implements ioloop.Handler.
func (lh *loopHandler) OnData(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	if c.hs != nil {
		if !c.hs.read(c) {
			return
		}
	}
	c.read()
}

// OnEOF implements ioloop.Handler: the peer stopped sending without
// finishing the close handshake (or after it).
func (lh *loopHandler) OnEOF(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	if c.hs != nil {
		c.hs.fail(c, errors.New("websocket: handshake: connection closed by the server"))
		return
	}
	if c.closeErr == nil {
		c.closeErr = &CloseError{Code: CloseAbnormal, Err: errors.New("websocket: connection closed without a close frame")}
	}
	c.state = stClosing
	_ = ic.Close()
}

// OnBackpressure implements ioloop.Handler: it tracks the slow-consumer
// state for Config.SlowConsumer.
func (lh *loopHandler) OnBackpressure(ic *ioloop.Conn, paused bool) {
	(*Conn)(lh).slow = paused
}

// OnShutdown implements ioloop.Handler: a server shutting down closes with
// 1001 (going away).
func (lh *loopHandler) OnShutdown(ic *ioloop.Conn) {
	c := (*Conn)(lh)
	if c.hs != nil {
		_ = ic.Close()
		return
	}
	_ = c.closeLocal(CloseGoingAway, "going away", nil)
}

// OnClose implements ioloop.Handler.
func (lh *loopHandler) OnClose(ic *ioloop.Conn, err error) {
	c := (*Conn)(lh)
	if c.c == nil {
		c.c = ic
	}
	if c.hs != nil {
		if err == nil {
			err = errors.New("websocket: handshake: connection closed")
		}
		c.hs.fail(c, err)
		return
	}
	wasOpen := c.state != stHandshake && c.state != stClosed
	c.state = stClosed
	c.closeTimer.Stop()
	c.pingTimer.Stop()
	if c.comp != nil {
		c.comp.Release()
	}
	if c.decomp != nil {
		c.decomp.Release()
	}
	c.msg, c.inflated, c.wbuf = nil, nil, nil
	if !wasOpen {
		return
	}
	ce := c.closeErr
	if ce == nil {
		ce = &CloseError{Code: CloseAbnormal, Err: err}
		if err == nil {
			ce.Err = errors.New("websocket: connection closed without a close frame")
		}
	} else if ce.Err == nil && err != nil && !c.closeRecv {
		ce.Err = err
	}
	c.h.OnClose(c, ce)
}

// read decodes the buffered input and dispatches its events.
func (c *Conn) read() {
	ic := c.c
	for c.state == stOpen || (c.state == stClosing && !c.closeRecv && c.dec.Err() == nil) {
		buf, _ := ic.Peek(-1)
		if len(buf) == 0 {
			return
		}
		c.heard = true
		ev, n, err := c.dec.Next(buf)
		if err != nil {
			c.protocolError(err)
			return
		}
		ic.Discard(n)
		switch ev.Kind {
		case frame.EventNone:
			if n == 0 {
				return
			}
		case frame.EventData:
			if c.state != stOpen {
				continue // data after our close frame is dropped (RFC 6455 5.5.1)
			}
			c.onData(&ev)
		case frame.EventControl:
			c.onControl(&ev)
		}
	}
	if c.state >= stClosing {
		ic.Discard(-1)
	}
}

func (c *Conn) onData(ev *frame.Event) {
	mt := MessageType(ev.Opcode)
	if ev.First {
		c.msgType = mt
	}
	if !ev.Compressed {
		if c.fh != nil {
			c.fh.OnFragment(c, c.msgType, ev.Payload, ev.First, ev.Final)
			return
		}
		if ev.First && ev.Final {
			c.h.OnMessage(c, mt, ev.Payload)
			return
		}
	}
	c.msg = append(c.msg, ev.Payload...)
	if !ev.Final {
		return
	}
	data := c.msg
	if ev.Compressed {
		out, err := c.decomp.Decompress(c.inflated[:0], c.msg, int(c.cfg.maxMessage()))
		if err != nil {
			c.protocolError(err)
			return
		}
		c.inflated = out
		data = out
		if c.msgType == TextMessage && !frame.ValidUTF8(data) {
			c.protocolError(&frame.Error{Code: CloseInvalidPayload, Reason: "invalid UTF-8 in a text message"})
			return
		}
	}
	c.h.OnMessage(c, c.msgType, data)
	c.msg = trim(c.msg)
	c.inflated = trim(c.inflated)
}

// trim empties a message buffer, dropping it when it grew past 64 KiB.
func trim(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

func (c *Conn) onControl(ev *frame.Event) {
	switch ev.Opcode {
	case frame.Ping:
		if !c.closeSent {
			_ = c.writeFrame(frame.Pong, 0, ev.Payload, true)
		}
	case frame.Pong: // a sign of life, as any input (see read)
	case frame.Close:
		code, reason, _ := frame.ParseClose(ev.Payload) // checked by the decoder
		c.closeRecv = true
		if c.closeErr == nil {
			c.closeErr = &CloseError{Code: code, Reason: string(reason), Remote: true}
		}
		if !c.closeSent {
			c.closeSent = true
			echo := code
			if code == CloseNoStatus {
				echo = 0
			}
			c.writeClose(echo, reason)
		}
		c.state = stClosing
		c.closeTimer.Stop()
		_ = c.c.Close()
	}
}

// protocolError answers a violation by the peer with its close code.
func (c *Conn) protocolError(err error) {
	code, reason := CloseProtocolError, "protocol error"
	var fe *frame.Error
	if errors.As(err, &fe) {
		code, reason = fe.Code, fe.Reason
	}
	c.closeErr = &CloseError{Code: code, Reason: reason, Err: err}
	if !c.closeSent {
		c.closeSent = true
		c.writeClose(code, []byte(reason))
	}
	c.state = stClosing
	c.c.Discard(-1)
	_ = c.c.Close()
}

// closeLocal starts the close handshake from this side.
func (c *Conn) closeLocal(code int, reason string, cause error) error {
	if c.state != stOpen {
		return ErrClosed
	}
	c.state = stClosing
	c.closeErr = &CloseError{Code: code, Reason: reason, Err: cause}
	if code == 0 {
		c.closeErr.Code = CloseNoStatus
	}
	c.closeSent = true
	c.writeClose(code, []byte(reason))
	c.closeTimer = c.c.Loop().AfterFunc(c.cfg.closeTimeout(), c.closeExpired)
	return nil
}

func (c *Conn) closeExpired() {
	if c.state == stClosed {
		return
	}
	if c.closeErr != nil && c.closeErr.Err == nil {
		c.closeErr.Err = ErrCloseTimeout
	}
	_ = c.c.Abort()
}

func (c *Conn) writeClose(code int, reason []byte) {
	var p [frame.MaxControlPayload]byte
	b := frame.AppendClose(p[:0], code, string(reason))
	_ = c.writeFrame(frame.Close, 0, b, true)
}

// pingTick sends a keep-alive ping unless one is still waiting for its
// check.
func (c *Conn) pingTick() {
	if c.state != stOpen || c.awaiting {
		return
	}
	c.heard, c.awaiting = false, true
	_ = c.writeFrame(frame.Ping, 0, nil, true)
	c.c.Loop().AfterFunc(c.cfg.pingTimeout(), c.checkFn)
}

// pingCheck closes the connection when nothing arrived since the last ping.
func (c *Conn) pingCheck() {
	c.awaiting = false
	if c.state != stOpen || c.heard {
		return
	}
	c.closeErr = &CloseError{Code: CloseAbnormal, Err: ErrPingTimeout}
	c.state = stClosing
	_ = c.c.Abort()
}

// writeFrame queues one frame: the header and the payload, masked with a
// fresh key when this side is a client.
func (c *Conn) writeFrame(op frame.Opcode, rsv byte, payload []byte, fin bool) error {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(payload))}
	if c.role == frame.Client {
		h.Masked = true
		k := rand.Uint32()
		h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		b := frame.AppendHeader(c.wbuf[:0], h)
		hl := len(b)
		b = append(b, payload...)
		frame.Mask(h.Key, 0, b[hl:])
		_, err := c.c.Write(b)
		c.wbuf = trim(b)
		return err
	}
	hb := frame.AppendHeader(c.hdr[:0], h)
	if len(payload) == 0 {
		_, err := c.c.Write(hb)
		return err
	}
	c.iov[0], c.iov[1] = hb, payload
	_, err := c.c.Writev(c.iov[:])
	c.iov[1] = nil
	return err
}

// admit applies Config.SlowConsumer to a data message about to be sent.
func (c *Conn) admit() error {
	if c.state != stOpen {
		return ErrClosed
	}
	if !c.slow {
		return nil
	}
	switch c.cfg.SlowConsumer {
	case PolicyDrop:
		c.dropped++
		return ErrDropped
	case PolicyClose:
		_ = c.closeLocal(ClosePolicyViolation, "slow consumer", ErrSlowConsumer)
		return ErrSlowConsumer
	}
	return nil
}

// Send queues data as one message of type mt; data is copied (compressed
// first when compression was negotiated and data is at least
// Config.CompressThreshold bytes long) and may be reused at once. It fails
// with ErrClosed once the close handshake started, and applies
// Config.SlowConsumer when the peer does not read. Loop only; no allocation
// in the steady state.
func (c *Conn) Send(mt MessageType, data []byte) error {
	if mt != TextMessage && mt != BinaryMessage {
		return ErrMessageType
	}
	if c.fragType != 0 {
		return ErrFragment
	}
	if err := c.admit(); err != nil {
		return err
	}
	if c.deflate && len(data) >= c.cfg.threshold() {
		z := c.comp.Compress(c.wbuf[:0], data)
		// writeFrame may reuse wbuf for masking: move the payload aside.
		if c.role == frame.Client {
			h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(mt), Length: int64(len(z)), Masked: true}
			k := rand.Uint32()
			h.Key = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
			var hb [frame.MaxHeaderLen]byte
			hdr := frame.AppendHeader(hb[:0], h)
			frame.Mask(h.Key, 0, z)
			c.iov[0], c.iov[1] = hdr, z
			_, err := c.c.Writev(c.iov[:])
			c.iov[1] = nil
			c.wbuf = trim(z)
			return err
		}
		err := c.writeFrame(frame.Opcode(mt), frame.Rsv1, z, true)
		c.wbuf = trim(z)
		return err
	}
	return c.writeFrame(frame.Opcode(mt), 0, data, true)
}

// SendText is Send(TextMessage, []byte(s)) without the conversion's copy.
// Loop only.
func (c *Conn) SendText(s string) error {
	return c.Send(TextMessage, unsafeBytes(s))
}

// SendFragment queues one frame of a message sent in pieces (never
// compressed): the first call starts a message of type mt, later calls must
// pass the same mt, and final ends it. Other sends fail with ErrFragment
// while a fragmented message is open; control frames (pings, close) may be
// interleaved. data is copied. Loop only.
func (c *Conn) SendFragment(mt MessageType, data []byte, final bool) error {
	if mt != TextMessage && mt != BinaryMessage {
		return ErrMessageType
	}
	if c.fragType != 0 && c.fragType != mt {
		return ErrFragment
	}
	op := frame.Continuation
	if c.fragType == 0 {
		if err := c.admit(); err != nil {
			return err
		}
		op = frame.Opcode(mt)
	} else if c.state != stOpen {
		return ErrClosed
	}
	c.fragType = mt
	if final {
		c.fragType = 0
	}
	return c.writeFrame(op, 0, data, final)
}

// Ping queues a ping with payload (at most 125 bytes). The pong comes back
// automatically from a conforming peer and counts as a sign of life.
// Loop only.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return ErrControlTooLong
	}
	if c.state != stOpen {
		return ErrClosed
	}
	return c.writeFrame(frame.Ping, 0, payload, true)
}

// Close starts the close handshake with code (CloseNormal, another code
// that may be sent, or 0 for none) and reason (at most 123 bytes): it sends
// the close frame, waits for the peer's (at most Config.CloseTimeout), then
// closes the connection; OnClose follows. Later calls and calls after the
// peer started closing do nothing. Safe from any goroutine: off the loop it
// posts the close to the loop and returns nil.
func (c *Conn) Close(code int, reason string) error {
	if code != 0 && !frame.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if len(reason) > frame.MaxCloseReason {
		return ErrControlTooLong
	}
	return c.c.Loop().Post(func() { _ = c.closeLocal(code, reason, nil) })
}

// CloseNow closes the close handshake's way from a loop callback, at once:
// it returns ErrClosed when the handshake already started. Loop only.
func (c *Conn) CloseNow(code int, reason string) error {
	if code != 0 && !frame.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if len(reason) > frame.MaxCloseReason {
		return ErrControlTooLong
	}
	return c.closeLocal(code, reason, nil)
}

// WriteMessage sends data as one message from any goroutine. The returned
// future settles, on the connection's loop, with len(data) once the message
// is queued on the connection in order with other sends (the loop hands it
// to the kernel at the end of that iteration), or with the error of Send.
// data must not change until the future settles. Cost: one posted task and
// one future.
func (c *Conn) WriteMessage(mt MessageType, data []byte) *async.Future[int] {
	p := async.NewPromise[int](c.c.Loop())
	if err := c.c.Loop().Post(func() {
		if err := c.Send(mt, data); err != nil {
			p.Reject(err)
			return
		}
		p.Resolve(len(data))
	}); err != nil {
		p.Reject(err)
	}
	return p.Future()
}
