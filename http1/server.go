// Package http1 is HTTP/1.1 on ioloop's event loops. The server has
// keep-alive and pipelining, a strict incremental parser, request and
// response bodies streamed with the connection's backpressure, and two
// handler forms — a native one that runs on the loop and allocates nothing
// per request, and Adapt, which runs any net/http Handler on a worker pool.
// The Client (see client.go's contract) pools connections per host (http
// and https) on the same loops and answers with futures (Client.Do) or with
// a lent response and no allocation (Client.DoFunc). ResponseWriter.Upgrade
// hands a connection to another protocol (the websocket package uses it).
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
// # HTTPS
//
// A Server with TLSConfig serves HTTPS (ioloop.Group.ListenTLS: the
// standard crypto/tls, handshakes on a bounded pool of goroutines, records
// on the loop); "http/1.1" is offered in ALPN:
//
//	cert, _ := tls.LoadX509KeyPair("cert.pem", "key.pem")
//	s := &http1.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
//	ln, _ := s.Listen(g, "tcp", "127.0.0.1:8443")
//
// Request.TLS returns the connection's TLS state (nil over plain HTTP), as
// the Adapter's http.Request.TLS does for net/http handlers. A connection
// whose handshake fails never reaches the Handler: it closes, and the
// Group's TLSStats counts it. The Client requests "https://" URLs,
// verifying the server's certificate (Client.TLSConfig sets the roots, a
// client certificate, ...), and pools them apart from "http://" ones:
//
//	cl := &http1.Client{Group: g, TLSConfig: &tls.Config{RootCAs: pool}}
//	resp, err := cl.DoContext(ctx, &http1.ClientRequest{URL: "https://example.com/"})
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
// small state struct (see conn for its size) and no buffer.
//
// Timeouts are kept per loop, not per connection: each phase's connections
// are on a list in the order their deadlines were set, which is the order
// of the deadlines (the phase's timeout is the same for all of them), and one
// loop timer per list wakes up for its first connection. Entering a phase
// moves the connection to the tail of that phase's list: a few pointer
// updates, no timer operation (see deadlineList). A head that arrives whole in one callback
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
	"crypto/tls"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	parse "github.com/ioloop/ioloop/internal/httpparse"
	"github.com/ioloop/ioloop/internal/onloop"
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
	DefaultMaxRequestLine    = 8 << 10
	DefaultMaxHeaderBytes    = 32 << 10
	DefaultMaxHeaders        = 100
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
// Set its fields before the first Listen and do not change them afterwards.
// NumConns is safe from any goroutine; Listen, Shutdown and Close wait for
// the loops, so they are safe from any goroutine but a loop's.
type Server struct {
	// Handler answers every request. Required.
	Handler Handler
	// Name is the Server header's value. Default DefaultServerName.
	Name string
	// NoServerHeader leaves the Server header out.
	NoServerHeader bool

	// MaxRequestLine bounds the request line, CRLF included; longer: 414.
	// Default DefaultMaxRequestLine.
	MaxRequestLine int
	// MaxHeaderBytes bounds the request head (and a trailer section);
	// larger: 431. Default DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header (and trailer) fields; more:
	// 431. Default DefaultMaxHeaders.
	MaxHeaders int
	// MaxBodyBytes bounds a request body; larger: 413 (at once for a
	// Content-Length, when the chunks pass it for a chunked body). Default
	// 0: no limit, since bodies are streamed and cost no memory here; a
	// limit belongs to the handler's semantics.
	MaxBodyBytes int64

	// TLSConfig, when set, makes Listen serve HTTPS: every connection does
	// a TLS handshake with it first (ioloop.Group.ListenTLS: the standard
	// crypto/tls on the loop). "http/1.1" is added to a copy's NextProtos
	// when the list lacks it (an empty list too), so that clients offering
	// ALPN agree on it; a client that offers only other protocols (h2
	// alone) fails its handshake, as crypto/tls does on no overlap.
	TLSConfig *tls.Config

	// ReadHeaderTimeout bounds the time from the first byte of a request to
	// the end of its head; past it the client gets 408 and a close.
	// Default DefaultReadHeaderTimeout; negative: none.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits that long for
	// the first byte of its next request. Default DefaultIdleTimeout;
	// negative: none.
	IdleTimeout time.Duration
	// RequestTimeout bounds the time from the end of a request head to the
	// end of its response and body; past it the client gets 408 (body not
	// read yet) or 503 (handler too slow) when nothing was sent yet, else
	// the connection is closed with the response cut short. Default 0: none.
	RequestTimeout time.Duration
	// WriteTimeout bounds how long a connection's output may stay above its
	// high-water mark (the client does not read what it asked for); past
	// it the connection is closed. Default DefaultWriteTimeout; negative:
	// none.
	WriteTimeout time.Duration
	// ResponseBuffer is how many body bytes a response buffers before it
	// sends its head (chunked) instead of a Content-Length. Default
	// DefaultResponseBuffer.
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
			MaxRequestLine: orDefaultInt(s.MaxRequestLine, DefaultMaxRequestLine),
			MaxHeaderBytes: orDefaultInt(s.MaxHeaderBytes, DefaultMaxHeaderBytes),
			MaxHeaders:     orDefaultInt(s.MaxHeaders, DefaultMaxHeaders),
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

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
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
// cannot be bound, Handler is nil, or the server was shut down. It waits
// for every loop of g, so from a loop callback it fails at once with
// ioloop.ErrOnLoop. Safe from any other goroutine.
func (s *Server) Listen(g *ioloop.Group, network, address string) (*ioloop.Listener, error) {
	if onloop.Current() {
		return nil, ioloop.ErrOnLoop
	}
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
	var ln *ioloop.Listener
	var err error
	if s.TLSConfig != nil {
		ln, err = g.ListenTLS(network, address, serverTLS(s.TLSConfig), connHandler{s})
	} else {
		ln, err = g.Listen(network, address, connHandler{s})
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return ln, nil
}

// serverTLS returns config with "http/1.1" among its ALPN protocols (an
// empty list too: without it a client offering ALPN gets none).
func serverTLS(config *tls.Config) *tls.Config {
	if slices.Contains(config.NextProtos, "http/1.1") {
		return config
	}
	config = config.Clone()
	config.NextProtos = append(config.NextProtos, "http/1.1")
	return config
}

// NumConns returns the number of open connections the server holds. Safe
// from any goroutine.
func (s *Server) NumConns() int { return int(s.active.Load()) }

// Shutdown stops the server gracefully: it closes its listeners, closes idle
// keep-alive connections at once, lets requests in flight finish (their
// responses carry "Connection: close") and waits for their connections to
// close. When ctx ends first, the rest are reset and Shutdown returns
// ctx.Err(). The Groups keep running (they may serve other things). It
// waits for the loops, so from a loop callback it fails at once with
// ioloop.ErrOnLoop. Safe from any other goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	if onloop.Current() {
		return ioloop.ErrOnLoop
	}
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

// Close closes the listeners and resets every connection at once, and waits
// (up to a second) for them to close. It waits for the loops, so from a
// loop callback it fails at once with ioloop.ErrOnLoop. Safe from any other
// goroutine.
func (s *Server) Close() error {
	if onloop.Current() {
		return ioloop.ErrOnLoop
	}
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

// eachConn runs f on every connection, each on its loop, through the loop's
// Execute, which never refuses a task: Shutdown and Close must reach every
// connection even when a loop's mailbox is full. Not from a loop.
func (s *Server) eachConn(f func(*conn)) {
	s.mu.Lock()
	states := make([]*loopState, 0, len(s.loops))
	for _, ls := range s.loops {
		states = append(states, ls)
	}
	s.mu.Unlock() // a loop may need s.mu (OnOpen) before it can take the task
	for _, ls := range states {
		task := func() {
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
		}
		ls.l.Execute(async.TaskFunc(task))
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
