package http1

import (
	"errors"
	"net/http"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

// Errors of Upgrade. The response is left untouched when Upgrade fails, so
// the handler can still answer with an error status.
var (
	// ErrUpgradeBody: the request has a body; a connection that switches
	// protocols must not have request bytes of HTTP left in it.
	ErrUpgradeBody = errors.New("http1: upgrade request has a body")
	// ErrUpgradeState: Upgrade was called after the response started, from
	// a held response, twice, or on an HTTP/1.0 request.
	ErrUpgradeState = errors.New("http1: upgrade not possible in this state of the response")
)

// Upgrade answers the request with "101 Switching Protocols" and hands the
// connection to h, the handler of the new protocol (RFC 9110 7.8). The head
// sent is the status line, the Server line, the fields added with AddHeader
// (the caller adds "Upgrade" and the new protocol's fields) and
// "Connection: Upgrade". Upgrade must be called from ServeHTTP1 itself,
// before anything of the response was sent, on an HTTP/1.1 request without a
// body; otherwise it fails with ErrUpgradeBody or ErrUpgradeState and does
// nothing.
//
// When ServeHTTP1 returns, the server lets go of the request (the Request and
// ResponseWriter must not be used after the handler returns, as usual), stops
// its timeouts for the connection, and calls h.OnOpen on the connection,
// then h.OnData if bytes that followed the request head are already buffered
// (a client may send its first frames right behind the request) and h.OnEOF
// if the client already finished sending. From then on every event of the
// connection goes to h: OnData, OnEOF, OnBackpressure, OnShutdown (when the
// Server or the Group shuts down) and, once, OnClose. The server still counts
// the connection for NumConns and waits for it in Shutdown, and Close resets
// it.
//
// h is the handler of this one connection: the server keeps its own state in
// the connection's Value, so h must not call SetValue; keep per-connection
// state in h itself. It queues the head on the connection (no system call)
// and allocates nothing once the loop's scratch buffer has grown. Loop only.
func (w *ResponseWriter) Upgrade(h ioloop.Handler) error {
	x := w.x
	if x == nil || x.dead || h == nil {
		return ErrUpgradeState
	}
	cs := x.cs
	if cs.x != x || !cs.processing || cs.closing || x.upNext != nil ||
		w.committed || w.ended || w.held || x.req.minor == 0 {
		return ErrUpgradeState
	}
	if x.req.framing != parse.BodyNone {
		return ErrUpgradeBody
	}
	if err := cs.writeSwitch(w, w.hdr); err != nil {
		return err
	}
	x.upNext = h
	return nil
}

// writeSwitch queues the 101 head with the given header lines and ends w.
func (cs *conn) writeSwitch(w *ResponseWriter, fields []byte) error {
	cs.flushOutput() // responses gathered before this one go first
	ls := cs.ls
	b := append(ls.scratch[:0], "HTTP/1.1 101 Switching Protocols\r\n"...)
	if !w.ownServer {
		b = append(b, cs.ls.s.serverLine...)
	}
	b = append(b, fields...)
	b = append(b, "Connection: Upgrade\r\n\r\n"...)
	_, err := cs.c.Write(b)
	ls.keepScratch(b)
	if err != nil {
		return err
	}
	w.status = 101
	w.committed, w.ended = true, true
	return nil
}

// ErrNotAdapted is returned by UpgradeAdapted for a writer that does not
// come from Adapt.
var ErrNotAdapted = errors.New("http1: UpgradeAdapted: the ResponseWriter is not the adapter's")

// UpgradeAdapted is Upgrade for a net/http handler run by Adapt: w must be
// the http.ResponseWriter the adapter passed to the handler, with nothing
// written yet, and the request must have no body. The head sent is
// "101 Switching Protocols", the Server line, the fields set in w.Header()
// (Content-Length, Transfer-Encoding and Connection left out) and
// "Connection: Upgrade". It blocks the handler's goroutine until the loop
// has switched the connection to h (see Upgrade for what h then gets) or
// refused; on success the handler must return without using w again (what
// it would write is dropped). It fails with ErrNotAdapted, ErrUpgradeState,
// ErrUpgradeBody, or the error of a connection that is gone. Call it from
// the handler's goroutine, never from a loop.
func UpgradeAdapted(w http.ResponseWriter, h ioloop.Handler) error {
	rw, ok := w.(*adapterWriter)
	if !ok {
		return ErrNotAdapted
	}
	if h == nil || rw.wroteHeader || rw.headSent || rw.done || len(rw.buf) > 0 {
		return ErrUpgradeState
	}
	if rw.body != nil {
		return ErrUpgradeBody
	}
	fields := rw.renderHead(0, false)
	res := make(chan error, 1)
	cs := rw.cs
	if err := cs.c.Loop().Post(func() {
		if !rw.valid() {
			res <- ErrUpgradeState
			return
		}
		res <- cs.upgradeHeld(rw.x, fields, h)
	}); err != nil {
		return err
	}
	err := <-res
	if err == nil {
		rw.done = true // finish and later writes do nothing
	}
	return err
}

// upgradeHeld switches the connection of x, a response held by the
// adapter, to h. Loop only.
func (cs *conn) upgradeHeld(x *exchange, fields []byte, h ioloop.Handler) error {
	w := &x.w
	if cs.x != x || cs.closing || cs.closed || cs.up != nil || x.upNext != nil ||
		w.committed || w.ended || x.req.minor == 0 {
		return ErrUpgradeState
	}
	if x.req.framing != parse.BodyNone {
		return ErrUpgradeBody
	}
	if err := cs.writeSwitch(w, fields); err != nil {
		return err
	}
	x.onAbort, x.onPeerEOF, x.onDrain = nil, nil, nil
	if x.bodyPaused {
		x.bodyPaused = false
		cs.c.ResumeRead()
	}
	x.upNext = h
	cs.switchProtocols(x)
	return nil
}

// switchProtocols releases the exchange of the upgrade request x and gives
// the connection to the handler Upgrade installed.
func (cs *conn) switchProtocols(x *exchange) {
	h := x.upNext
	x.upNext = nil
	cs.x = nil
	cs.ls.putExchange(x)
	if cs.p != nil {
		cs.ls.putParser(cs.p)
		cs.p = nil
	}
	cs.flushOutput()
	cs.move(dlNone, phIdle) // no phase timeout: the new handler owns the connection
	cs.up = &upgraded{h}
	c := cs.c
	h.OnOpen(c)
	if cs.closed || c.State() != ioloop.StateOpen {
		return
	}
	if c.Buffered() > 0 {
		h.OnData(c)
	}
	if cs.eof && !cs.closed && c.State() == ioloop.StateOpen {
		h.OnEOF(c)
	}
}
