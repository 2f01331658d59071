// Package http1 is HTTP/1.1 on ioloop's event loops. The server has
// keep-alive and pipelining, a strict incremental parser, request and
// response bodies streamed with the connection's backpressure, and two
// handler forms — a native one that runs on the loop and allocates nothing
// per request, and Adapt, which runs any net/http Handler on a worker pool.
// The Client (see client.go's contract) pools connections per host on the
// same loops and answers with futures (Client.Do) or with a lent response
// and no allocation (Client.DoFunc). ResponseWriter.Upgrade hands a
// connection to another protocol (the websocket package uses it).
//
// # Serving
//
//	g, _ := ioloop.New(ioloop.Options{})
//	s := &http1.Server{Handler: http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
//		w.AddHeader("Content-Type", "text/plain")
//		w.WriteString("Hello, World!")
//	})}
//	ln, _ := s.Listen(g, "tcp", "127.0.0.1:8080")
//
// # Native handlers
//
// ServeHTTP1 runs on the connection's loop as soon as a request head is
// complete; it must not block. The Request and the ResponseWriter are views
// owned by the server, valid until the response ends (see ResponseWriter):
// nothing is copied or allocated for them in the steady state. The body is
// read with Request.ReadBody (streamed in pieces to a BodyHandler as it
// arrives) or Request.BufferedBody (zero-copy when it came with the head);
// a body the handler does not read is read and dropped after the response.
// A handler that answers later (a timer, a future) calls ResponseWriter.Hold
// and then End from the loop.
//
// # Contract
//
// Each connection is a small state machine owned by its loop:
//
//	idle     no byte of the next request yet; IdleTimeout runs
//	head     request head arriving; ReadHeaderTimeout runs from its first byte
//	request  head parsed, handler called; RequestTimeout runs until the
//	         response ended and the body was read
//
// Requests are parsed from the connection's unconsumed input as it arrives;
// a complete request is handled at once, and the next one only after its
// response ended, so responses leave strictly in order. The responses
// finished during one callback are gathered in a per-loop buffer and queued
// on the connection with one Write when the callback's processing ends; any
// other write to the connection (streamed body pieces, 100 Continue, a
// close or reset) first calls conn.flushOutput, so bytes leave in the order
// they were produced. The loop then writes a burst of pipelined responses
// with one writev. A request whose response is still open at the end of a
// callback keeps a copy of its head (pooled per loop), because the input it
// was parsed from is lent only for that callback. Parsers and per-request
// state come from per-loop pools when a request starts and go back when the
// connection is idle again, so an idle keep-alive connection holds only its
// 64-byte state struct and no buffer.
//
// Timeouts are kept per loop, not per connection: each phase's connections
// are on a list in the order their deadlines were set, which is the order
// of the deadlines (the phase's timeout is the same for all of them), and one
// loop timer per list wakes up for its first connection. Entering a phase
// moves the connection to the tail of that phase's list: two pointer
// updates, no timer operation. A head that arrives whole in one callback
// never enters the head phase.
//
// Malformed requests get the parser's status (400, 413, 414, 431, 501, 505)
// with "Connection: close", never reach a handler, and nothing after them on
// that connection is read. A handler panic gives a 500 when nothing was sent
// yet, else the connection is closed with the response cut short (a reset
// when its body ends with the connection); other connections go on.
//
// Keep-alive follows RFC 9112 9.3: HTTP/1.1 unless "Connection: close",
// HTTP/1.0 only with "Connection: keep-alive". A body the client was told to
// wait for (Expect: 100-continue) and that the handler never asked for is not
// read: the connection closes after the response.
package http1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// Handler answers requests on the loop. ServeHTTP1 is called on the
// connection's loop when a request head is complete; it must not block.
// See the package documentation for what the Request and ResponseWriter
// allow and how long they live.
type Handler interface {
	ServeHTTP1(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeHTTP1 calls f.
func (f HandlerFunc) ServeHTTP1(w *ResponseWriter, r *Request) { f(w, r) }

// Defaults of the Server fields.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultResponseBuffer    = 16 << 10
	DefaultServerName        = "ioloop"
	// pipelineInput bounds the input a connection buffers while a response
	// is still open (pipelined requests wait); past it reading pauses.
	pipelineInput = 64 << 10
)

// ErrServerClosed is returned by Listen after Shutdown or Close.
var ErrServerClosed = errors.New("http1: server closed")

// Server serves HTTP/1.1 on the loops of one or more ioloop Groups.
// Set its fields before the first Listen and do not change them afterwards;
// Listen, Shutdown and Close are safe from any goroutine (not from a loop
// callback, for Shutdown).
type Server struct {
	// Handler answers every request. Required.
	Handler Handler
	// Name is the Server header's value. Default "ioloop".
	Name string
	// NoServerHeader leaves the Server header out.
	NoServerHeader bool

	// MaxRequestLine bounds the request line, CRLF included; longer: 414.
	// Default 8 KiB.
	MaxRequestLine int
	// MaxHeaderBytes bounds the request head (and a trailer section);
	// larger: 431. Default 32 KiB.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header (and trailer) fields; more:
	// 431. Default 100.
	MaxHeaders int
	// MaxBodyBytes bounds a request body; larger: 413 (at once for a
	// Content-Length, when the chunks pass it for a chunked body). Default
	// 0: no limit, since bodies are streamed and cost no memory here; a
	// limit belongs to the handler's semantics.
	MaxBodyBytes int64

	// ReadHeaderTimeout bounds the time from the first byte of a request to
	// the end of its head; past it the client gets 408 and a close.
	// Default 10 s; negative: none.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits that long for
	// the first byte of its next request. Default 60 s; negative: none.
	IdleTimeout time.Duration
	// RequestTimeout bounds the time from the end of a request head to the
	// end of its response and body; past it the client gets 408 (body not
	// read yet) or 503 (handler too slow) when nothing was sent yet, else
	// the connection is closed with the response cut short. Default 0: none.
	RequestTimeout time.Duration
	// WriteTimeout bounds how long a connection's output may stay above its
	// high-water mark (the client does not read what it asked for); past
	// it the connection is closed. Default 30 s; negative: none.
	WriteTimeout time.Duration
	// ResponseBuffer is how many body bytes a response buffers before it
	// sends its head (chunked) instead of a Content-Length. Default 16 KiB.
	ResponseBuffer int

	// Logger receives handler panics with their stacks. Default
	// slog.Default().
	Logger *slog.Logger

	once       sync.Once
	lim        parse.Limits
	serverLine []byte
	base       time.Time

	mu        sync.Mutex
	loops     map[*ioloop.Loop]*loopState
	listeners []*ioloop.Listener
	stopping  bool

	active  atomic.Int64
	drained chan struct{}
}

func (s *Server) init() {
	s.once.Do(func() {
		s.lim = parse.Limits{
			MaxRequestLine: s.MaxRequestLine,
			MaxHeaderBytes: s.MaxHeaderBytes,
			MaxHeaders:     s.MaxHeaders,
			MaxBodyBytes:   s.MaxBodyBytes,
		}
		if !s.NoServerHeader {
			name := s.Name
			if name == "" {
				name = DefaultServerName
			}
			s.serverLine = []byte("Server: " + name + "\r\n")
		}
		s.base = time.Now()
		s.loops = make(map[*ioloop.Loop]*loopState)
		s.drained = make(chan struct{}, 1)
	})
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (s *Server) readHeaderTimeout() time.Duration {
	return orDefault(s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
}
func (s *Server) idleTimeout() time.Duration  { return orDefault(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Server) writeTimeout() time.Duration { return orDefault(s.WriteTimeout, DefaultWriteTimeout) }
func (s *Server) responseBuffer() int {
	if s.ResponseBuffer > 0 {
		return s.ResponseBuffer
	}
	return DefaultResponseBuffer
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Listen serves HTTP on network and address ("tcp", "127.0.0.1:8080") with
// the loops of g, beside whatever else g serves. It fails when the address
// cannot be bound, Handler is nil, or the server was shut down. Any
// goroutine.
func (s *Server) Listen(g *ioloop.Group, network, address string) (*ioloop.Listener, error) {
	if s.Handler == nil {
		return nil, errors.New("http1: Server.Handler is nil")
	}
	s.init()
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil, ErrServerClosed
	}
	s.mu.Unlock()
	ln, err := g.Listen(network, address, connHandler{s})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return ln, nil
}

// NumConns returns the number of open connections the server holds. Any
// goroutine.
func (s *Server) NumConns() int { return int(s.active.Load()) }

// Shutdown stops the server gracefully: it closes its listeners, closes idle
// keep-alive connections at once, lets requests in flight finish (their
// responses carry "Connection: close") and waits for their connections to
// close. When ctx ends first, the rest are reset and Shutdown returns
// ctx.Err(). The Groups keep running (they may serve other things). Any
// goroutine but a loop's.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stop()
	s.eachConn((*conn).beginShutdown)
	if s.waitDrained(ctx) {
		return nil
	}
	s.eachConn(func(cs *conn) { _ = cs.c.Abort() })
	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.waitDrained(wctx)
	return ctx.Err()
}

// Close closes the listeners and resets every connection at once. Any
// goroutine but a loop's.
func (s *Server) Close() error {
	s.init()
	s.stop()
	s.eachConn(func(cs *conn) { _ = cs.c.Abort() })
	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.waitDrained(wctx)
	return nil
}

func (s *Server) stop() {
	s.mu.Lock()
	s.stopping = true
	lns := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// eachConn runs f on every connection, each on its loop.
func (s *Server) eachConn(f func(*conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l, ls := range s.loops {
		_ = l.Post(func() {
			// f may move connections between the lists: take them first.
			var all []*conn
			for i := range ls.lists {
				for cs := ls.lists[i].first; cs != nil; cs = cs.next {
					all = append(all, cs)
				}
			}
			for _, cs := range all {
				f(cs)
			}
		})
	}
}

// waitDrained waits until no connection is left or ctx ends.
func (s *Server) waitDrained(ctx context.Context) bool {
	for s.active.Load() > 0 {
		select {
		case <-s.drained:
		case <-ctx.Done():
			return s.active.Load() == 0
		}
	}
	return true
}

func (s *Server) connDone() {
	if s.active.Add(-1) == 0 {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

func (s *Server) loopState(l *ioloop.Loop) *loopState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.loops[l]
	if ls == nil {
		ls = &loopState{s: s, l: l, respBuf: s.responseBuffer()}
		for i := range ls.lists {
			dl := &ls.lists[i]
			switch i {
			case dlIdle:
				dl.d = s.idleTimeout()
			case dlHead:
				dl.d = s.readHeaderTimeout()
			case dlRequest:
				dl.d = s.RequestTimeout
			}
			if dl.d > 0 {
				dl.fn = func() { ls.expire(dl) }
			}
		}
		ls.postFn = ls.runPosted
		s.loops[l] = ls
	}
	return ls
}

// loopState is the server's state on one loop, used by that loop only.
type loopState struct {
	s         *Server
	l         *ioloop.Loop
	parsers   []*parse.Parser
	exchanges []*exchange
	scratch   []byte
	pend      []byte // output gathered for pendConn, see outBuf
	pendConn  *conn
	fields    fieldMemo     // header fields that passed validField
	date      []byte        // "Date: ...\r\n"
	okHead    []byte        // status line of a 200, Server and Date lines; see headOK
	lastOK    headCache     // the last usual 200 head, see commit
	dateUntil time.Duration // when date must be formatted again (like now)
	now       time.Duration // the loop's time since Server.base, see refresh
	nowT      time.Time
	lists     [numLists]deadlineList // every connection is on exactly one
	posted    []*conn                // connections waiting for runPosted
	postFn    func()                 // runPosted, bound once per loop
	mem       *memConn               // in-memory benchmarks only, see memConn
	respBuf   int                    // Server.responseBuffer()
}

// memConn stands in for the socket side of a connection in the in-memory
// benchmarks: while loopState.mem is set, the request path takes its input
// from in and appends the output it gathers to out, so that the server's
// per-connection work is measured without system calls. It is never set
// outside tests; the check costs one predictable branch per use.
type memConn struct {
	in  []byte
	out []byte
}

// input returns the connection's unconsumed input, lent until the callback
// returns.
func (cs *conn) input() []byte {
	if m := cs.ls.mem; m != nil {
		return m.in
	}
	b, _ := cs.c.Peek(-1)
	return b
}

// discard consumes n bytes of input (n <= len(cs.input())).
func (cs *conn) discard(n int) {
	if m := cs.ls.mem; m != nil {
		m.in = m.in[n:]
		return
	}
	cs.c.Discard(n)
}

// buffered returns the number of unconsumed input bytes.
func (cs *conn) buffered() int {
	if m := cs.ls.mem; m != nil {
		return len(m.in)
	}
	return cs.c.Buffered()
}

// write queues b on the connection (copied).
func (cs *conn) write(b []byte) {
	if m := cs.ls.mem; m != nil {
		m.out = append(m.out, b...)
		return
	}
	_, _ = cs.c.Write(b)
}

// Deadline lists. A connection is on the list of its phase while that
// phase has a timeout, else (and once its deadline passed) on dlNone. (The
// one exception lasts no longer than a callback: between pipelined requests
// whose next head is already buffered, the connection stays on the list of
// the request that ended until readHead lists it for the next phase.)
// Within a list every connection got the same timeout, and the loop's clock
// only moves forward, so appending at the tail keeps a list sorted by
// deadline: one loop timer per list, armed for its first connection, serves
// them all, and moving a connection costs two pointer updates and no timer
// operation.
const (
	dlIdle = iota
	dlHead
	dlRequest
	dlNone
	numLists
	notListed = numLists // before OnOpen's first move and after OnClose
)

// deadlineList is a list of connections sorted by deadline.
type deadlineList struct {
	first, last *conn
	d           time.Duration // the timeout of the list's connections; 0: none
	armed       bool          // a loop timer for fn is pending, due no later than first.deadline
	fn          func()        // expire(this list), bound once per loop
}

// refresh reads the loop's clock into ls.now and ls.nowT. Callbacks that
// set deadlines or format the Date line call it first: the loop's clock is
// cached per iteration, so once per callback is enough.
func (ls *loopState) refresh() {
	ls.nowT = ls.l.Now()
	ls.now = ls.nowT.Sub(ls.s.base)
}

// expire handles the connections of dl whose deadline passed and re-arms
// dl's timer for the next one.
func (ls *loopState) expire(dl *deadlineList) {
	dl.armed = false
	defer func() { // even when a timeout's handling panicked
		if cs := dl.first; cs != nil && !dl.armed {
			ls.l.AfterFunc(cs.deadline-ls.now, dl.fn)
			dl.armed = true
		}
	}()
	ls.refresh()
	for cs := dl.first; cs != nil && cs.deadline <= ls.now; cs = dl.first {
		cs.move(dlNone, cs.phase)
		cs.onTimeout()
	}
}

// runPosted processes the connections that asked for it with post.
func (ls *loopState) runPosted() {
	ls.refresh()
	for i := 0; i < len(ls.posted); i++ { // process may post more
		cs := ls.posted[i]
		ls.posted[i] = nil
		cs.posted = false
		cs.process()
	}
	ls.posted = ls.posted[:0]
}

const (
	maxPooled      = 256      // parsers and exchanges kept per loop
	maxPend        = 32 << 10 // gathered output written at once past this
	maxScratch     = 1 << 20  // scratch capacity kept per loop
	maxKeptBuffers = 64 << 10
)

func (ls *loopState) getParser() *parse.Parser {
	if n := len(ls.parsers); n > 0 {
		p := ls.parsers[n-1]
		ls.parsers = ls.parsers[:n-1]
		return p
	}
	p := new(parse.Parser)
	p.Init(parse.Request, ls.s.lim)
	p.SetOffsetsOnly(true)
	return p
}

func (ls *loopState) putParser(p *parse.Parser) {
	p.Reset()
	if len(ls.parsers) < maxPooled {
		ls.parsers = append(ls.parsers, p)
	}
}

func (ls *loopState) getExchange(cs *conn) *exchange {
	var x *exchange
	if n := len(ls.exchanges); n > 0 {
		x = ls.exchanges[n-1]
		ls.exchanges = ls.exchanges[:n-1]
	} else {
		x = new(exchange)
	}
	// putExchange (or new) left bodyH, the callbacks and upNext nil.
	x.cs = cs
	x.req.x = x
	x.w.reset(x)
	x.bodyTaken, x.bodyDone, x.bodyPaused, x.continueSent = false, false, false, false
	x.dead = false
	return x
}

func (ls *loopState) putExchange(x *exchange) {
	x.gen++
	x.dead = true
	x.cs = nil
	x.bodyH = nil
	x.onAbort, x.onDrain, x.drainWait, x.onPeerEOF = nil, nil, 0, nil
	x.upNext = nil
	x.req.raw = nil
	x.req.trRaw = nil
	if cap(x.w.body) > maxKeptBuffers {
		x.w.body = nil
	}
	if cap(x.headCopy) > maxKeptBuffers {
		x.headCopy = nil
	}
	if len(ls.exchanges) < maxPooled {
		ls.exchanges = append(ls.exchanges, x)
	}
}

// keepScratch keeps the grown scratch buffer b for the next use.
func (ls *loopState) keepScratch(b []byte) {
	if cap(b) <= maxScratch {
		ls.scratch = b[:0]
	}
}

// Output gathering. While a connection is processed, the heads (and bodies
// buffered with them) of the responses it finishes are appended to the
// loop's pend buffer and reach the connection in one Write when process
// ends, so a burst of pipelined responses costs one copy into the
// connection's queue. Every other write to the connection (streamed body
// pieces, 100 Continue, a close or a reset) first calls flushPend, so bytes
// leave in the order they were produced.

// outBuf returns the buffer to append cs's next output to: the loop's pend
// buffer while cs is processed, else the scratch buffer. Pass the result to
// emit.
func (cs *conn) outBuf() []byte {
	ls := cs.ls
	if !cs.processing {
		return ls.scratch[:0]
	}
	if ls.pendConn != cs {
		ls.flushPend()
		ls.pendConn = cs
	}
	return ls.pend
}

// emit queues b, obtained from outBuf and appended to, on the connection.
func (cs *conn) emit(b []byte) {
	ls := cs.ls
	if cs.processing && ls.pendConn == cs {
		ls.pend = b
		if len(b) >= maxPend {
			ls.flushPend()
		}
		return
	}
	cs.write(b)
	ls.keepScratch(b)
}

// flushPend writes the gathered output to its connection.
func (ls *loopState) flushPend() {
	if cs := ls.pendConn; cs != nil {
		ls.pendConn = nil
		if len(ls.pend) > 0 {
			cs.write(ls.pend)
		}
		if cap(ls.pend) > maxScratch {
			ls.pend = nil
		}
		ls.pend = ls.pend[:0]
	}
}

// flushOutput writes what cs gathered, before a write that bypasses
// gathering or a close.
func (cs *conn) flushOutput() {
	if cs.ls.pendConn == cs {
		cs.ls.flushPend()
	}
}

// dateLine returns the Date header line for ls.nowT (refreshed by the
// running callback), formatted once per second: until the loop's clock
// passes the next whole second, it is one comparison.
func (ls *loopState) dateLine() []byte {
	if ls.now >= ls.dateUntil || ls.date == nil {
		ls.formatDate()
	}
	return ls.date
}

// formatDate formats the Date line and the 200 head for ls.nowT; apart
// from dateLine so that dateLine's one comparison is inlined.
func (ls *loopState) formatDate() {
	ls.dateUntil = ls.now + time.Second - time.Duration(ls.nowT.Nanosecond())
	b := append(ls.date[:0], "Date: "...)
	b = ls.nowT.UTC().AppendFormat(b, http.TimeFormat)
	ls.date = append(b, crlf...)
	b = append(ls.okHead[:0], "HTTP/1.1 200 OK\r\n"...)
	b = append(b, ls.s.serverLine...)
	ls.okHead = append(b, ls.date...)
	ls.lastOK.valid = false
}

// headOK returns the status line of a 200 response, the Server line (if
// any) and the Date line as one piece (kept with the Date line), so the
// common head starts with one copy.
func (ls *loopState) headOK() []byte {
	ls.dateLine()
	return ls.okHead
}

// exchange is the state of one request and its response.
type exchange struct {
	upNext       ioloop.Handler // set by Upgrade during the handler, installed after it
	cs           *conn
	req          Request
	w            ResponseWriter
	gen          uint64 // incremented when the exchange goes back to the pool
	dead         bool   // released or aborted
	bodyH        BodyHandler
	bodyTaken    bool // BufferedBody consumed the body
	bodyDone     bool // the body was read to its end (or there is none)
	bodyPaused   bool
	continueSent bool
	headCopy     []byte
	onAbort      func(error) // the connection ended before the response did
	onDrain      func(int)   // the adapter waits for the queue to drain
	onPeerEOF    func()      // the client finished sending while the response is open
	drainWait    int         // bytes onDrain gives back
}

// Connection phases.
const (
	phIdle uint8 = iota
	phHead
	phRequest
)

// conn is the server's state of one connection; loop only. It is what an
// idle keep-alive connection costs here (72 bytes): the parser and the
// exchange come from the loop's pools only while a request is in progress,
// and the timeouts are kept by the loop's deadline lists, not by a timer
// per connection.
type conn struct {
	ls         *loopState
	c          *ioloop.Conn
	p          *parse.Parser
	x          *exchange
	prev, next *conn         // on ls.lists[list]
	deadline   time.Duration // since Server.base, when list has a timeout
	list       uint8
	phase      uint8
	processing bool
	posted     bool
	eof        bool
	shutdown   bool
	closing    bool
	closed     bool
	up         *upgraded // the protocol the connection was upgraded to; see Upgrade
}

// upgraded holds the handler of an upgraded connection, out of line so that
// conn stays in its size class.
type upgraded struct{ h ioloop.Handler }

// connHandler is the ioloop.Handler of the server's connections.
type connHandler struct{ s *Server }

func (h connHandler) OnOpen(c *ioloop.Conn) {
	s := h.s
	s.active.Add(1)
	ls := s.loopState(c.Loop())
	cs := &conn{ls: ls, c: c, list: notListed}
	c.SetContext(cs)
	s.mu.Lock()
	cs.shutdown = s.stopping
	s.mu.Unlock()
	ls.refresh()
	cs.move(dlIdle, 0)
}

func (h connHandler) OnData(c *ioloop.Conn) {
	cs := c.Context().(*conn)
	if cs.up != nil {
		cs.up.h.OnData(c)
		return
	}
	cs.process()
}

func (h connHandler) OnEOF(c *ioloop.Conn) {
	cs := c.Context().(*conn)
	cs.eof = true
	if cs.up != nil {
		cs.up.h.OnEOF(c)
		return
	}
	if x := cs.x; x != nil && x.onPeerEOF != nil && x.bodyDone && c.Buffered() == 0 {
		// Like net/http: a client that stops sending is taken as gone.
		x.onPeerEOF()
	}
	cs.process()
}

func (h connHandler) OnBackpressure(c *ioloop.Conn, paused bool) {
	cs := c.Context().(*conn)
	if cs.up != nil {
		cs.up.h.OnBackpressure(c, paused)
		return
	}
	if x := cs.x; x != nil && !paused && x.onDrain != nil {
		f, n := x.onDrain, x.drainWait
		x.onDrain, x.drainWait = nil, 0
		f(n)
	}
	if d := cs.ls.s.writeTimeout(); d > 0 {
		if paused {
			c.SetWriteDeadline(c.Loop().Now().Add(d))
		} else {
			c.SetWriteDeadline(time.Time{})
		}
	}
}

func (h connHandler) OnShutdown(c *ioloop.Conn) { c.Context().(*conn).beginShutdown() }

func (h connHandler) OnClose(c *ioloop.Conn, err error) {
	cs, _ := c.Context().(*conn)
	if cs == nil {
		return
	}
	cs.closing, cs.closed = true, true
	cs.unlink()
	if cs.up != nil {
		defer cs.ls.s.connDone()
		cs.up.h.OnClose(c, err)
		return
	}
	if x := cs.x; x != nil {
		cs.x = nil
		if err == nil {
			err = ioloop.ErrClosed
		}
		if x.onAbort != nil {
			x.onAbort(err)
		}
		cs.ls.putExchange(x)
	}
	if cs.p != nil {
		cs.ls.putParser(cs.p)
		cs.p = nil
	}
	cs.ls.s.connDone()
}

func (cs *conn) beginShutdown() {
	if cs.closing || cs.closed {
		return
	}
	if cs.up != nil {
		cs.up.h.OnShutdown(cs.c)
		return
	}
	cs.shutdown = true
	if cs.x == nil && cs.buffered() == 0 {
		cs.close()
	}
}

// unlink takes cs off its deadline list.
func (cs *conn) unlink() {
	if cs.list == notListed {
		return
	}
	dl := &cs.ls.lists[cs.list]
	if cs.prev != nil {
		cs.prev.next = cs.next
	} else {
		dl.first = cs.next
	}
	if cs.next != nil {
		cs.next.prev = cs.prev
	} else {
		dl.last = cs.prev
	}
	cs.prev, cs.next = nil, nil
	cs.list = notListed
}

// move puts cs at the tail of list li and enters phase ph: the phase's
// timeout starts now (ls.now, refreshed by the running callback).
func (cs *conn) move(li int, ph uint8) {
	cs.phase = ph
	ls := cs.ls
	if ls.lists[li].d <= 0 {
		if cs.list == dlNone {
			return // dlNone keeps no order: nothing to move
		}
		li = dlNone
	}
	cs.unlink()
	dl := &ls.lists[li]
	cs.list = uint8(li)
	cs.prev = dl.last
	if dl.last != nil {
		dl.last.next = cs
	} else {
		dl.first = cs
	}
	dl.last = cs
	if dl.d > 0 {
		cs.deadline = ls.now + dl.d
		if !dl.armed {
			ls.l.AfterFunc(dl.d, dl.fn)
			dl.armed = true
		}
	}
}

// onTimeout handles the end of the current phase's timeout.
func (cs *conn) onTimeout() {
	if cs.closing || cs.up != nil {
		return
	}
	switch cs.phase {
	case phIdle:
		cs.close()
	case phHead:
		cs.reject(http.StatusRequestTimeout)
	case phRequest:
		x := cs.x
		if x == nil {
			cs.close()
			return
		}
		if x.w.committed || x.w.ended {
			cs.cut(x)
			return
		}
		status := http.StatusServiceUnavailable
		if !x.bodyDone {
			status = http.StatusRequestTimeout
		}
		cs.reject(status)
	}
}

// cut ends a connection whose response x was sent in part: gracefully when
// its framing shows the client the cut (a missing last chunk or bytes short
// of the Content-Length), with a reset when the body ends with the connection
// and a close would look complete.
func (cs *conn) cut(x *exchange) {
	cs.flushOutput()
	if x.w.untilClose && !x.w.ended {
		_ = cs.c.Abort()
		cs.closing = true
		return
	}
	cs.close()
}

func (cs *conn) close() {
	cs.flushOutput()
	cs.closing = true
	_ = cs.c.Close()
}

// reject answers with an error status and closes the connection; nothing
// after this on the connection is read.
func (cs *conn) reject(status int) {
	if cs.closing {
		return
	}
	if x := cs.x; x != nil && x.w.ended {
		cs.close() // the response is whole: let it reach the client
		return
	}
	if x := cs.x; x != nil && x.w.committed {
		cs.cut(x)
		return
	}
	ls := cs.ls
	if !cs.processing {
		ls.refresh()
	}
	b := appendStatusLine(cs.outBuf(), status)
	b = append(b, ls.s.serverLine...)
	b = append(b, ls.dateLine()...)
	b = append(b, "Content-Length: 0\r\nConnection: close\r\n\r\n"...)
	cs.emit(b)
	if x := cs.x; x != nil {
		x.w.ended = true
	}
	cs.close()
}

// keepAliveAfter reports whether the connection may carry a request after x.
func (cs *conn) keepAliveAfter(x *exchange) bool {
	return !x.w.closeAfter && x.req.KeepAlive() && !cs.shutdown && !cs.closing
}

// sendContinue sends "100 Continue" when the client waits for it.
func (cs *conn) sendContinue() {
	x := cs.x
	if x == nil || x.continueSent || x.bodyDone || x.w.committed ||
		x.req.flags&parse.FlagExpectContinue == 0 || x.req.minor == 0 {
		return
	}
	x.continueSent = true
	cs.flushOutput()
	_, _ = cs.c.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	if !cs.processing {
		cs.post() // the body may be waiting in the input
	}
}

// takeBufferedBody consumes a Content-Length body that is already buffered.
func (cs *conn) takeBufferedBody(n int64) ([]byte, bool) {
	buf := cs.input()
	if int64(len(buf)) < n {
		return nil, false
	}
	m, payload, done, err := cs.p.Body(buf[:n])
	if err != nil || !done || int64(m) != n {
		return nil, false
	}
	cs.discard(m)
	x := cs.x
	x.bodyTaken, x.bodyDone = true, true
	return payload, true
}

// responseEnded is called by End.
func (cs *conn) responseEnded(x *exchange) {
	if cs.processing || cs.closing {
		return
	}
	cs.post()
}

// post makes the loop call process soon, in a callback of its own.
func (cs *conn) post() {
	if cs.posted {
		return
	}
	cs.posted = true
	ls := cs.ls
	ls.posted = append(ls.posted, cs)
	if len(ls.posted) == 1 && ls.l.Post(ls.postFn) != nil {
		ls.runPosted() // the group is closing: process at once
	}
}

// process reads requests from the connection's input and drives the current
// exchange as far as the input allows.
func (cs *conn) process() {
	if cs.processing || cs.closed || cs.up != nil {
		return
	}
	cs.ls.refresh()
	cs.processing = true
	cs.runGuarded()
	cs.flushOutput()
	cs.processing = false
	if x := cs.x; x != nil && !cs.closing {
		if !x.w.ended && !x.w.committed && len(x.w.body) > 0 {
			x.w.commit(false)
		}
		if !x.req.copied {
			// The input the head points into is lent for this callback only.
			x.headCopy = append(x.headCopy[:0], x.req.raw...)
			x.req.raw, x.req.copied = x.headCopy, true
		}
	}
}

func (cs *conn) run() {
	for !cs.closing {
		x := cs.x
		if x == nil {
			if !cs.readHead() {
				return
			}
			continue
		}
		if x.w.ended && x.bodyPaused {
			x.bodyPaused = false // nobody reads the rest: drop it
			cs.c.ResumeRead()
		}
		if !x.bodyDone && !(x.w.ended && x.w.closeAfter) {
			if !cs.readBody(x) {
				return
			}
			continue
		}
		if !x.w.ended {
			if !x.bodyPaused && cs.buffered() > pipelineInput {
				x.bodyPaused = true // resumed when the exchange ends
				cs.c.PauseRead()
			}
			return
		}
		keep := cs.keepAliveAfter(x) && x.bodyDone
		if x.bodyPaused {
			cs.c.ResumeRead()
		}
		cs.x = nil
		cs.ls.putExchange(x)
		if !keep {
			cs.close()
			return
		}
		if cs.buffered() > 0 {
			// The next head is already here (pipelining): readHead lists
			// the connection for the phase it finds, so the idle list is
			// skipped, and the parser is kept.
			cs.phase = phIdle
			continue
		}
		cs.move(dlIdle, phIdle)
		if cs.p != nil {
			cs.ls.putParser(cs.p)
			cs.p = nil
		}
	}
}

// readHead parses the next request head and calls the handler. It reports
// whether to go on.
func (cs *conn) readHead() bool {
	buf := cs.input()
	if len(buf) == 0 {
		if cs.eof || cs.shutdown {
			cs.close()
		}
		return false
	}
	if cs.p == nil {
		cs.p = cs.ls.getParser()
	}
	n, err := cs.p.Parse(buf)
	if err != nil {
		cs.reject(statusOf(err))
		return false
	}
	if n == 0 {
		if cs.phase == phIdle {
			// ReadHeaderTimeout starts with the first byte of the head; a
			// head that arrives whole never needs it.
			cs.move(dlHead, phHead)
		}
		if cs.eof {
			cs.close() // the client stopped in the middle of a head
		}
		return false
	}
	x := cs.ls.getExchange(cs)
	cs.x = x
	x.req.init(buf[:n], cs.p)
	x.w.head = x.req.isHEAD()
	cs.discard(n)
	cs.move(dlRequest, phRequest)
	if x.req.flags&parse.FlagExpectOther != 0 {
		cs.reject(http.StatusExpectationFailed)
		return false
	}
	x.bodyDone = x.req.framing == parse.BodyNone
	cs.callHandler(x)
	if x.upNext != nil {
		if !cs.closing && cs.x == x {
			cs.switchProtocols(x)
		} else {
			x.upNext = nil
		}
		return false
	}
	if cs.closing || cs.x != x {
		return false
	}
	if x.bodyH != nil && x.bodyDone && !x.bodyTaken && !x.w.ended {
		cs.callBody(x, nil, true)
		if cs.closing || cs.x != x {
			return false
		}
	}
	if !x.w.held && !x.w.ended && (x.bodyH == nil || x.bodyDone) {
		x.w.finish()
	}
	return true
}

// readBody feeds body bytes to the handler (or drops them). It reports
// whether to go on.
func (cs *conn) readBody(x *exchange) bool {
	if x.bodyPaused {
		return false
	}
	if x.req.flags&parse.FlagExpectContinue != 0 && !x.continueSent && x.bodyH == nil && !x.w.ended {
		return false // the client waits for 100 Continue or the response
	}
	buf := cs.input()
	if len(buf) == 0 {
		if cs.eof {
			cs.truncated()
		}
		return false
	}
	n, payload, done, err := cs.p.Body(buf)
	if err != nil {
		cs.reject(statusOf(err))
		return false
	}
	cs.discard(n)
	if done {
		x.bodyDone = true
		if m := cs.p.Message(); len(m.Trailers) > 0 {
			x.req.trRaw = buf
			x.req.trailers = x.req.trailers[:0]
			for _, h := range m.Trailers {
				x.req.trailers = append(x.req.trailers, hspan{spanOf(buf, h.Name), spanOf(buf, h.Value)})
			}
		}
	}
	if x.bodyH != nil && !x.w.ended && (len(payload) > 0 || done) {
		cs.callBody(x, payload, done)
		if cs.closing || cs.x != x {
			return false
		}
		x.req.trailers, x.req.trRaw = x.req.trailers[:0], nil
		if done && !x.w.held && !x.w.ended {
			x.w.finish()
		}
	}
	return n > 0 || done
}

// truncated handles a client that finished sending in the middle of a body.
func (cs *conn) truncated() {
	x := cs.x
	if x.onAbort != nil {
		x.onAbort(errors.New("http1: request body truncated"))
		x.onAbort = nil
	}
	if x.w.committed || x.w.ended {
		cs.close()
		return
	}
	cs.reject(http.StatusBadRequest)
}

func statusOf(err error) int {
	var pe *parse.Error
	if errors.As(err, &pe) {
		return pe.Status()
	}
	return http.StatusBadRequest
}

// callHandler and callBody run inside runGuarded, which recovers a panic
// once per callback rather than once per request.
func (cs *conn) callHandler(x *exchange) {
	cs.ls.s.Handler.ServeHTTP1(&x.w, &x.req)
}

func (cs *conn) callBody(x *exchange, p []byte, last bool) {
	x.bodyH.OnBody(&x.w, &x.req, p, last)
}

// runGuarded is run with handler panics recovered (see recoverHandler).
func (cs *conn) runGuarded() {
	defer cs.recoverHandler()
	cs.run()
}

// recoverHandler turns a handler panic into a 500 when nothing was sent, else
// a cut (see cut); the connection ends either way and the loop goes on.
// Handlers run only while the exchange they answer is cs.x.
func (cs *conn) recoverHandler() {
	v := recover()
	if v == nil {
		return
	}
	cs.ls.s.logger().Error("http1: panic in handler recovered; closing the connection",
		"remote", cs.c.RemoteAddrPort(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	switch {
	case cs.closing:
	case cs.x == nil:
		cs.close()
	default:
		cs.recoverAbort(cs.x)
	}
}

// recoverAbort ends x after its handler panicked.
func (cs *conn) recoverAbort(x *exchange) {
	if x.onAbort != nil {
		x.onAbort(errors.New("http1: handler panicked"))
		x.onAbort = nil
	}
	if x.w.committed || x.w.ended {
		cs.cut(x)
		return
	}
	cs.reject(http.StatusInternalServerError)
}
