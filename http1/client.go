package http1

// # Client contract
//
// A Client keeps one pool per host ("host:port" of the URL). A pool owns the
// client connections to that host; each connection belongs to one loop of
// the Client's Group for its whole life, and every read, write, timer and
// parser step of an exchange (clientExchange) runs on that loop.
//
// The pool's bookkeeping (which connections are idle, partly used by
// pipelined exchanges, or full; how many exist; which requests wait for a
// connection) is guarded by the pool's mutex, because Do is called from any
// goroutine. A request is given a connection under that mutex (its
// in-flight count goes up at once) and then handed to the connection's loop
// as a task (Loop.Execute with the clientExchange itself: no allocation). On the
// loop, the connection keeps the FIFO of its exchanges: heads are written in
// that order and responses are matched in that order. When a response ends
// the connection goes back to the pool (under the mutex) before the
// caller's callback runs, so a callback that sends the next request finds
// it idle.
//
// A connection is never reused after anything went wrong on it: a parse
// error, a timeout, a response cut short, a cancelled exchange, unsolicited
// bytes while idle, or "Connection: close". It is closed and leaves the
// pool, and every exchange still queued on it fails with the error that
// ended it. An exchange whose request was never written because its
// connection died first is handed to another connection once.
//
// An exchange (a pooled struct) carries one request from Do to its
// response. Its seq number changes on every use, so a late cancellation or
// timer of a finished exchange is recognised and ignored.
//
// Where the end runs. The caller's callback (DoFunc's fn, DoContext's
// wake-up, the settling of Do's future) always runs on a loop: on the
// connection's loop, or, for an exchange that failed before it had one (on
// the caller's goroutine, a runtime timer's or a context's), on a loop of
// the Group taken in turn, to which the end is handed with Loop.Execute
// (clientExchange.endLater). It never runs inline in Do or DoFunc, and
// nothing runs on a new goroutine, except ErrNoGroup's end: without a Group
// there is no loop. Work that other goroutines hand to a connection's loop
// (a cancellation, a streamed body's resume or close, a request body sent
// from a reader) goes through Loop.Execute, never Loop.Post, so that a full
// mailbox cannot lose it.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/onloop"
)

// Defaults of the Client fields.
const (
	DefaultMaxConnsPerHost   = 64
	DefaultMaxIdlePerHost    = 64
	DefaultClientIdleTimeout = 90 * time.Second
	DefaultDialTimeout       = 10 * time.Second
	DefaultMaxResponseHeader = 32 << 10
	DefaultMaxBufferedBody   = 10 << 20
	// streamHighWater and streamLowWater bound the body bytes a streamed
	// response queues for a slow reader: above high the connection stops
	// reading, at low it reads again.
	streamHighWater = 256 << 10
	streamLowWater  = 64 << 10
	// maxRedirects bounds redirects even when the policy accepts more.
	maxRedirects = 20
)

// Client errors. Every error that ends an exchange on a connection closes
// that connection (ErrBodyTooLarge too: the rest of the body is not read);
// an error found before the request reached a connection (ErrNoGroup,
// ErrClientClosed, a bad URL or header, a dial error) closes nothing.
var (
	// ErrNoGroup: the Client has no Group to run on.
	ErrNoGroup = errors.New("http1: Client.Group is nil")
	// ErrClientClosed is returned by requests made after Client.Close.
	ErrClientClosed = errors.New("http1: client closed")
	// ErrResponseHeaderTimeout: the response head did not arrive within
	// Client.ResponseHeaderTimeout after the request was written.
	ErrResponseHeaderTimeout = errors.New("http1: timeout awaiting response headers")
	// ErrTimeout: the exchange did not end within Client.Timeout.
	ErrTimeout = errors.New("http1: request timeout")
	// ErrDialTimeout: the connection was not established within
	// Client.DialTimeout.
	ErrDialTimeout = errors.New("http1: dial timeout")
	// ErrIdleConnTimeout: the connection was idle (no byte either way)
	// for Client.IdleTimeout while the exchange waited.
	ErrIdleConnTimeout = errors.New("http1: connection idle timeout")
	// ErrBodyTooLarge: the response body passed the limit
	// (Client.MaxBufferedBody when buffered, Client.MaxBodyBytes when
	// streamed).
	ErrBodyTooLarge = errors.New("http1: response body too large")
	// ErrHeaderTooLarge: the response head passed
	// Client.MaxResponseHeaderBytes (or had more than 100 fields).
	ErrHeaderTooLarge = errors.New("http1: response header too large")
	// ErrNoResponse: the server closed the connection before the
	// response head was complete.
	ErrNoResponse = errors.New("http1: server closed the connection before the response")
	// ErrClosedMidBody: the server closed the connection in the middle of
	// a Content-Length or chunked body.
	ErrClosedMidBody = errors.New("http1: server closed the connection mid-body")
	// ErrBadResponse is what every *ResponseError matches with errors.Is.
	ErrBadResponse = errors.New("http1: malformed response")
	// ErrUnsolicited: the server sent bytes on an idle connection.
	ErrUnsolicited = errors.New("http1: unsolicited response on an idle connection")
	// ErrBodyClosed: Read on a streamed body after Close.
	ErrBodyClosed = errors.New("http1: read on a closed response body")
	// ErrTruncated: an https response whose body ends with the connection
	// (no Content-Length, not chunked) ended with the server's FIN but
	// without a TLS close_notify, so the body may have been cut by an
	// attacker or a broken peer (Conn.Truncated). It wraps
	// ioloop.ErrTLSTruncated, which a FIN in the middle of a record gives
	// too, and so io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("http1: server closed the TLS connection without close_notify, the body may be cut: %w", ioloop.ErrTLSTruncated)
)

// ResponseError is a response that broke the protocol (a bad status line,
// a malformed field, invalid chunk framing, ...). The connection is closed.
type ResponseError struct {
	// Reason says what was wrong, without the package prefix.
	Reason string
	// Offset is the byte of the response where it was found.
	Offset int
}

// Error returns "http1: malformed response: " and the reason.
func (e *ResponseError) Error() string {
	return "http1: malformed response: " + e.Reason + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// Is makes errors.Is(err, ErrBadResponse) true.
func (e *ResponseError) Is(target error) bool { return target == ErrBadResponse }

// Client sends HTTP/1.1 requests from the loops of an ioloop Group and keeps
// their connections in per-host pools. Set its fields before the first
// request and do not change them afterwards; every method is safe from any
// goroutine (DoContext blocks and must not be called from a loop callback).
//
// URLs are "http://" or "https://". An https connection does a TLS
// handshake (ioloop.Group.DialTLS: the standard crypto/tls, run as the loop's
// handshakes are) with TLSConfig before its first request; the certificate
// is verified unless TLSConfig says otherwise, and a handshake that fails
// (a certificate that does not verify, say) is the request's error, which
// matches ioloop.ErrTLSHandshake with errors.Is and crypto/tls's or
// crypto/x509's error with errors.As. Host names are resolved when a
// connection is dialed, which may block: on the goroutine that called Do,
// or on a loop when a request that waited for a connection, a retry or a
// redirect needs a new one. Use URLs with IP addresses from loop callbacks,
// and wherever a loop may have to dial.
type Client struct {
	// Group runs the connections. Required. When goroutines wait for
	// responses (DoContext, Await), leave its loops unlocked (the default;
	// see ioloop.Options.LockOSThread): an unlocked loop sleeps parked in
	// the runtime's poller, so the goroutine it woke runs at once instead
	// of waiting for the thread the loop would keep in epoll_wait.
	Group *ioloop.Group

	// TLSConfig configures the TLS of https connections: RootCAs,
	// InsecureSkipVerify, Certificates (a client certificate), a
	// ClientSessionCache for resumption, ... Default nil: the system's
	// roots, verification on. Each host gets a copy with ServerName set to
	// the URL's host (for SNI and verification) unless the config sets one,
	// and NextProtos set to "http/1.1" (ALPN); the config must not change
	// afterwards. Connections to one host:port over http and over https are
	// pooled apart. DialTimeout bounds the connect; the handshake is
	// bounded by the Group's Options.HandshakeTimeout.
	TLSConfig *tls.Config

	// MaxConnsPerHost bounds the connections to one host; requests past it
	// wait for a connection. Default 64.
	MaxConnsPerHost int
	// MaxIdlePerHost bounds the idle connections kept per host; a
	// connection that becomes idle beyond it is closed. Default 64.
	MaxIdlePerHost int
	// IdleTimeout closes a connection without a byte either way for that
	// long. Default 90 s; negative: none.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting. Default 10 s.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the time from writing a request to the
	// end of its response head. Default 0: none.
	ResponseHeaderTimeout time.Duration
	// Timeout bounds a whole exchange, from Do to the end of the response
	// body (redirects included). Default 0: none.
	Timeout time.Duration
	// Pipeline is the most requests in flight on one connection
	// (pipelining, RFC 9112 9.3.2). A connection is pipelined only when
	// every connection to the host is in use and no new one may be dialed.
	// Default 1: no pipelining.
	Pipeline int
	// MaxResponseHeaderBytes bounds a response head (and a trailer
	// section); past it: ErrHeaderTooLarge. Default 32 KiB.
	MaxResponseHeaderBytes int
	// MaxBufferedBody bounds a buffered response body; past it:
	// ErrBodyTooLarge. Default 10 MiB.
	MaxBufferedBody int
	// MaxBodyBytes bounds a streamed response body (ClientRequest.Stream).
	// Default 0: no limit, since a streamed body is held only while the
	// reader lags, and the connection stops reading while it does.
	MaxBodyBytes int64
	// Redirect decides whether to follow a redirect (301, 302, 303, 307,
	// 308 with a Location). n is the number of redirects followed so far.
	// The Location may change the scheme (http to https, or back): the
	// policy sees it in the response's Location header.
	// It runs on the connection's loop and must not block. Default nil: no
	// redirect is followed; the 3xx response is returned.
	Redirect func(resp *Response, n int) bool

	once   sync.Once
	mu     sync.Mutex
	hosts  map[poolKey]*hostPool
	closed bool
	// closedFlag mirrors closed for the loops, which must not take mu.
	closedFlag atomic.Bool
	xpool      sync.Pool
	// turn picks the loop that gets an exchange's end when it failed
	// before it had a connection (anyLoop).
	turn  atomic.Uint32
	rpool sync.Pool
	// waits are DoContext's idle rendezvous objects, each holding a
	// descriptor (an eventfd on Linux); at most maxIdleWaits are kept, and Close
	// releases them. Guarded by waitMu.
	waitMu    sync.Mutex
	waits     []*syncWait
	waitsShut bool
}

func (cl *Client) init() {
	cl.once.Do(func() {
		cl.hosts = make(map[poolKey]*hostPool)
		cl.xpool.New = func() any {
			x := &clientExchange{cl: cl}
			x.headerTimeoutFn = x.onHeaderTimeout
			x.totalTimeoutFn = x.onTotalTimeout
			return x
		}
		cl.rpool.New = func() any { return &Response{cl: cl} }
	})
}

func (cl *Client) maxConns() int { return positive(cl.MaxConnsPerHost, DefaultMaxConnsPerHost) }
func (cl *Client) maxIdle() int  { return positive(cl.MaxIdlePerHost, DefaultMaxIdlePerHost) }
func (cl *Client) pipeline() int { return positive(cl.Pipeline, 1) }
func (cl *Client) maxHeader() int {
	return positive(cl.MaxResponseHeaderBytes, DefaultMaxResponseHeader)
}
func (cl *Client) maxBuffered() int { return positive(cl.MaxBufferedBody, DefaultMaxBufferedBody) }
func (cl *Client) dialTimeout() time.Duration {
	return orDefault(cl.DialTimeout, DefaultDialTimeout)
}
func (cl *Client) idleTimeout() time.Duration {
	return orDefault(cl.IdleTimeout, DefaultClientIdleTimeout)
}

// anyLoop returns a loop of the Group, each in turn: the loop that runs an
// exchange's end when it has no connection's loop. Group must not be nil.
func (cl *Client) anyLoop() *ioloop.Loop {
	loops := cl.Group.Loops()
	return loops[int(cl.turn.Add(1)%uint32(len(loops)))]
}

func positive(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Field is one header field of a ClientRequest.
type Field struct {
	// Name is the field name, a token (checked before sending).
	Name string
	// Value is the field value, without CR, LF or NUL.
	Value string
}

// ClientRequest is one HTTP request. It is cheap to reuse: set its fields (or
// call Reset) and send it again once the previous exchange ended. The
// Client reads it until the response ends (Do's future completes, or
// DoFunc's callback returns; for a streamed response until its body ends)
// and never changes it.
type ClientRequest struct {
	// Method is the request method. Default "GET".
	Method string
	// URL is an absolute "http://host[:port]/path?query" or
	// "https://host[:port]/path?query" URL.
	URL string
	// Header holds extra header fields, sent in order. Host, Connection,
	// Content-Length and Transfer-Encoding are written by the client and
	// refused here, as are names that are not tokens and values with CR,
	// LF or NUL (the exchange fails before anything is sent).
	Header []Field
	// Body is sent with a Content-Length. Kept by reference until the
	// exchange ends.
	Body []byte
	// BodyReader, when not nil (and Body is empty), is read on a goroutine
	// and sent as it is read, one piece in flight at a time, with
	// ContentLength when it is 0 or more, else chunked. It cannot be
	// replayed, so such a request is not retried nor redirected.
	BodyReader io.Reader
	// ContentLength is BodyReader's length, or -1 for unknown (chunked).
	// Ignored without a BodyReader.
	ContentLength int64
	// Close asks the server to close the connection after the response
	// ("Connection: close"); the connection is not reused.
	Close bool
	// Stream delivers the response once its head arrived; the body is
	// then read from Response.BodyReader as it streams in, and the
	// connection stops reading while the reader lags.
	Stream bool
	// Context cancels the exchange: when it is done the connection is
	// aborted and the exchange fails with Context.Err(). Default nil: no
	// cancellation. Watching a cancellable context costs an allocation.
	Context context.Context
}

// Reset clears r for reuse, keeping the Header slice's capacity. It costs
// nothing; call it from the goroutine that owns r.
func (r *ClientRequest) Reset() {
	*r = ClientRequest{Header: r.Header[:0]}
}

// AddHeader appends a header field. No allocation once Header has room.
func (r *ClientRequest) AddHeader(name, value string) {
	r.Header = append(r.Header, Field{Name: name, Value: value})
}

// Do sends req and returns a future of its response. Its continuations
// (and those of futures derived from it by Then, Map, ...) run on the loop
// that settled it: the loop of the connection that carried the request or,
// when the request failed before it had a connection (a bad URL, a dial
// error, a timeout or cancellation while waiting for a connection), a loop
// of the Group taken in turn; never on a new goroutine. When Client.Group
// is nil the future fails with ErrNoGroup and has no executor (its
// continuations run as async.Failed's do).
//
// The Response belongs to the caller; Release recycles it, and waits for
// the continuations registered before it (see Response.Release), so
// Release right after Await is safe even while a Map of the same future
// still reads the Response. Costs three allocations in the steady state
// (the future, its executor, and the future's extension when awaited);
// DoFunc and DoContext are the allocation-free forms. A goroutine
// awaiting the future sleeps as DoContext's caller does (see there), in a
// wait the Client keeps. Safe from any goroutine.
func (cl *Client) Do(req *ClientRequest) *async.Future[*Response] {
	if cl.Group == nil {
		return async.Failed[*Response](ErrNoGroup)
	}
	ex := &lateExecutor{cl: cl}
	ex.queue = ex.qbuf[:0]
	ex.p = async.NewPromise[*Response](ex)
	cl.start(req, req.Context, ex, true)
	return ex.p.Future()
}

// DoFunc sends req and calls fn once with the response or an error, always
// later and on a loop, never inline in DoFunc: on the loop of the
// connection that carried the request or, when the request failed before it
// had a connection (a bad URL, a dial error, a timeout or cancellation while
// waiting for a connection), on a loop of the Group taken in turn. (With
// Client.Group nil, fn gets ErrNoGroup on a new goroutine.) The Response is
// lent: it and every slice it returns stay valid only until fn returns (for
// a streamed response, until its body ended or was closed). fn must not
// block. Steady-state cost: no allocation. Safe from any goroutine.
func (cl *Client) DoFunc(req *ClientRequest, fn func(resp *Response, err error)) {
	cl.start(req, req.Context, completeFunc(fn), false)
}

// DoContext sends req and waits for its response: the blocking form for
// goroutines. ctx cancels the exchange (as ClientRequest.Context does, which
// takes precedence when set) and so ends the wait: the exchange then fails
// with ctx.Err(). The Response belongs to the caller, who should Release
// it. Steady-state cost: no allocation (a cancellable ctx costs one, as
// ClientRequest.Context does); two hand-offs per request, to the
// connection's loop and back, through the runtime's poller (an eventfd
// write each: the loop always writes it, see syncWait); each
// concurrent DoContext holds one descriptor (an eventfd on Linux, kept by
// the Client). It blocks, so from a loop callback it fails at once with
// ioloop.ErrOnLoop (use Do or DoFunc there). Safe from any other goroutine.
//
// The loop wakes the waiting goroutine from its callback: with the Client's
// Group locked to threads (Options.LockOSThread) that goroutine may wait
// for the runtime to take the loop's processor back.
func (cl *Client) DoContext(ctx context.Context, req *ClientRequest) (*Response, error) {
	if onloop.Current() {
		return nil, ioloop.ErrOnLoop
	}
	cl.init()
	if req.Context != nil {
		ctx = req.Context
	}
	w := cl.getWait()
	cl.start(req, ctx, w, true)
	w.sig.Wait()
	resp, err := w.resp, w.err
	w.resp, w.err = nil, nil
	cl.putWait(w)
	return resp, err
}

// Get is Do for a GET of url with a buffered body.
func (cl *Client) Get(url string) *async.Future[*Response] {
	return cl.Do(&ClientRequest{Method: "GET", URL: url})
}

// Post is Do for a POST of body to url with the given Content-Type.
func (cl *Client) Post(url, contentType string, body []byte) *async.Future[*Response] {
	return cl.Do(&ClientRequest{Method: "POST", URL: url, Body: body, Header: []Field{{Name: "Content-Type", Value: contentType}}})
}

// Close closes every idle connection and makes later requests fail with
// ErrClientClosed; exchanges in flight go on, and their connections close
// when they end. It also releases the descriptors idle DoContext waits keep.
// Safe from any goroutine.
func (cl *Client) Close() error {
	cl.init()
	cl.mu.Lock()
	cl.closed = true
	cl.closedFlag.Store(true)
	pools := make([]*hostPool, 0, len(cl.hosts))
	for _, hp := range cl.hosts {
		pools = append(pools, hp)
	}
	cl.mu.Unlock()
	for _, hp := range pools {
		hp.closeIdle()
	}
	cl.waitMu.Lock()
	waits := cl.waits
	cl.waits, cl.waitsShut = nil, true
	cl.waitMu.Unlock()
	for _, w := range waits {
		_ = w.sig.Close()
	}
	return nil
}

// NumConns returns the open (or opening) connections to all hosts. Safe
// from any goroutine.
func (cl *Client) NumConns() int {
	cl.init()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	n := 0
	for _, hp := range cl.hosts {
		hp.mu.Lock()
		n += hp.total
		hp.mu.Unlock()
	}
	return n
}

// splitURL splits an absolute http or https URL into its scheme (secure is
// true for https), its authority and its request-target without allocating
// (except for a target that starts with '?').
func splitURL(u string) (secure bool, host, target string, err error) {
	const plain, tls = "http://", "https://"
	var rest string
	switch {
	case len(u) >= len(plain) && equalFoldString(u[:len(plain)], plain):
		rest = u[len(plain):]
	case len(u) >= len(tls) && equalFoldString(u[:len(tls)], tls):
		secure, rest = true, u[len(tls):]
	default:
		return false, "", "", errors.New("http1: unsupported URL (want http:// or https://host/...): " + strconv.Quote(u))
	}
	if i := indexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' || rest[i] == '?' {
			end = i
			break
		}
	}
	host, target = rest[:end], rest[end:]
	if host == "" || indexByte(host, '@') >= 0 {
		return false, "", "", errors.New("http1: URL without a usable host: " + strconv.Quote(u))
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return false, "", "", errors.New("http1: URL with a control character or space: " + strconv.Quote(u))
		}
	}
	switch {
	case target == "":
		target = "/"
	case target[0] == '?':
		target = "/" + target
	}
	return secure, host, target, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// dialAddress adds the default port (80, or 443 when secure) to an
// authority without one.
func dialAddress(host string, secure bool) string {
	if i := lastIndexByte(host, ':'); i >= 0 && lastIndexByte(host, ']') < i {
		return host
	}
	if secure {
		return host + ":443"
	}
	return host + ":80"
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}
