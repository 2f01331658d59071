package http1

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	parse "github.com/ioloop/ioloop/internal/httpparse"
)

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
			x.headCopy = append(x.headCopy[:0], x.req.hdr.buf...)
			x.req.hdr.buf, x.req.copied = x.headCopy, true
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
			if !x.bodyPaused && cs.c.Buffered() > pipelineInput {
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
		if cs.c.Buffered() > 0 {
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
	cs.c.Discard(n)
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
	cs.c.Discard(n)
	if done {
		x.bodyDone = true
		if m := cs.p.Message(); len(m.Trailers) > 0 {
			x.req.tr.set(buf, buf, m.Trailers)
		}
	}
	if x.bodyH != nil && !x.w.ended && (len(payload) > 0 || done) {
		cs.callBody(x, payload, done)
		if cs.closing || cs.x != x {
			return false
		}
		x.req.tr.reset()
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
