package websocket

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
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
//
// Under every policy the connection's queued output is bounded by its
// budget: room for one message of the largest size it sends, with its
// framing and deflate's overhead. That size is Config.MaxMessageSize, or
// about ioloop.Options.MaxOutput if that is larger, so that any message
// the connection accepts can be sent back. A longer message fails with
// ErrTooLarge and is not sent; a send that would pass the budget closes
// the connection with 1008 ("slow consumer") and fails with
// ErrSlowConsumer. The ioloop connection's own MaxOutput is never reached:
// output beyond it waits in the WebSocket connection until the kernel took
// enough.
type Policy uint8

// The slow-consumer policies.
const (
	// PolicyQueue queues the message anyway (the default), and reading
	// from the peer goes on: the budget alone bounds what a peer that
	// does not read can make the connection hold. Two peers that both
	// send without waiting for answers (a pipelined echo) never wait for
	// each other.
	PolicyQueue Policy = iota
	// PolicyDrop drops the message: the send returns ErrDropped and
	// Conn.Dropped counts it. For feeds where only fresh data matters.
	// Reading goes on.
	PolicyDrop
	// PolicyClose closes the connection with code 1008 (policy violation)
	// and the reason "slow consumer"; the send returns ErrSlowConsumer.
	// Reading goes on.
	PolicyClose
	// PolicyPause queues the message and pauses reading from the peer
	// while the output is above the high-water mark: backpressure onto
	// the peer, for a server whose output is the answer to its input.
	// Two peers that pause both and each queue more than
	// ioloop.Options.HighWater for the other at the same time (a
	// pipelined echo of messages larger than the mark) stop reading and
	// wait for each other forever: use it only against a peer that keeps
	// reading (any other policy does).
	PolicyPause
)

// Config holds the settings of connections, for Upgrader and Dialer. The zero
// Config is valid: each field states its default.
type Config struct {
	// MaxMessageSize bounds a received message, summed over its frames and,
	// for a compressed one, after inflating. A larger message closes the
	// connection with 1009. Default 16 MiB; negative: no limit.
	MaxMessageSize int64
	// PingInterval, when positive, sends a ping after each interval and
	// closes the connection with 1008 and ErrPingTimeout when nothing at
	// all (no pong, no data) arrived within PingTimeout of it. Default 0:
	// no pings.
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
	// compressor (a compress/flate writer) and a decompressor (a flate
	// reader and its window) from its first compressed message to its end.
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
	// ErrSlowConsumer: the connection was closed (1008) because the peer
	// did not read: by PolicyClose, or past the output budget.
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
	// ErrTooLarge: a message (or a fragment) is longer than the largest
	// the connection sends (see Policy); it was not sent and the
	// connection goes on.
	ErrTooLarge = errors.New("websocket: message larger than the output budget")
)

// Connection states; they only move forward.
const (
	stHandshake uint8 = iota // client: request sent, response awaited
	stOpen
	stClosing // a close frame was sent or received; no data flows
	stClosed  // OnClose ran
)

// Conn is one WebSocket connection, owned by the loop of its ioloop
// connection. Each method's doc ends with the goroutines that may call it:
// "Loop only." ones must be called from a callback on that loop; "Safe from
// any goroutine." ones from anywhere. Buffers exist only while a
// message is being reassembled or compressed, for a client's masked copy of
// what it sends (kept up to 64 KiB), and for output that does not fit under
// ioloop.Options.MaxOutput yet (see Policy).
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
	fragType MessageType // type of the message SendFragment is in, 0: none
	slow     bool        // output above the high-water mark
	dropped  uint64
	closeReq atomic.Uint32 // reqClose or reqCloseNow once requested (any goroutine)

	// Output beyond ioloop.Options.MaxOutput (see put).
	spill      []byte // frames not yet in the ioloop connection, in order
	closeAfter bool   // close the transport once the spill is empty
	drainTimer ioloop.Timer
	drainFn    func() // retryDrain, allocated at its first use
	maxOut     int    // ioloop.Options.MaxOutput
	maxSend    int    // longest data message or fragment sent (see Policy)
	budget     int    // bound of all queued output (see room)

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

	// Idle limit (idle.go), taken over from ioloop.Options.IdleTimeout.
	idle      time.Duration // 0: none
	idleAt    time.Time     // last activity, by the loop's cached time
	idleTimer ioloop.Timer
	idleFn    func() // idleCheck

	subprotocol string
	value       any

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
	c.maxOut = c.c.Loop().Group().Options().MaxOutput
	// The budget holds one message of maxSend bytes, deflated, framed.
	ms := int64(c.maxOut) - frame.DeflateSlack(int64(c.maxOut)) - frame.MaxHeaderLen
	ms = max(ms, c.cfg.maxMessage(), 0)
	c.maxSend = int(ms)
	c.budget = int(ms + frame.DeflateSlack(ms) + frame.MaxHeaderLen)
	if c.cfg.SlowConsumer != PolicyPause {
		// The budget bounds what is queued for a slow peer: reading
		// goes on (no deadlock between two peers that both send).
		c.c.SetPauseOnBackpressure(false)
	}
	if c.cfg.PingInterval > 0 {
		c.pingFn, c.checkFn = c.pingTick, c.pingCheck
		c.pingTimer = c.c.Loop().EveryFunc(c.cfg.PingInterval, c.pingFn)
	}
	c.startIdle()
	c.h.OnOpen(c)
}

// NetConn returns the ioloop connection under c (for addresses and
// options; do not read from or write to it). Safe from any goroutine.
func (c *Conn) NetConn() *ioloop.Conn { return c.c }

// Loop returns the loop that owns the connection. Safe from any goroutine.
func (c *Conn) Loop() *ioloop.Loop { return c.c.Loop() }

// Subprotocol returns the negotiated subprotocol, or "". It does not change
// after the handshake. Loop only.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Compressed reports whether permessage-deflate was negotiated. Loop only.
func (c *Conn) Compressed() bool { return c.deflate }

// Value returns the value set by SetValue. Loop only.
func (c *Conn) Value() any { return c.value }

// SetValue attaches a value to the connection (the application's state
// for it). Loop only.
func (c *Conn) SetValue(v any) { c.value = v }

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
	defer c.recoverHandler(nil)
	c.start()
}

// OnBackpressure implements ioloop.Handler: it tracks the slow-consumer
// state for Config.SlowConsumer and, once the output drained to the low
// water mark, moves the spill on.
func (lh *loopHandler) OnBackpressure(ic *ioloop.Conn, paused bool) {
	c := (*Conn)(lh)
	c.slow = paused
	if !paused && len(c.spill) > 0 {
		if err := c.drain(); err != nil {
			_ = ic.Abort()
		}
	}
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

// pingCheck closes the connection when nothing arrived since the last
// ping: a close frame with 1008 goes out (a peer that is alive but slow
// learns why), then the transport closes without waiting for an answer.
func (c *Conn) pingCheck() {
	c.awaiting = false
	if c.state != stOpen || c.heard {
		return
	}
	const reason = "keep-alive ping timed out"
	c.closeErr = &CloseError{Code: ClosePolicyViolation, Reason: reason, Err: ErrPingTimeout}
	c.state = stClosing
	c.closeSent = true
	c.writeClose(ClosePolicyViolation, []byte(reason))
	c.closeTransport()
}
