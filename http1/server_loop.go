package http1

import (
	"crypto/tls"
	"time"

	"github.com/ioloop/ioloop"
	parse "github.com/ioloop/ioloop/internal/httpparse"
)

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
	lists     [numLists]phaseList // every connection is on exactly one
	posted    []*conn             // connections waiting for runPosted
	postFn    func()              // runPosted, bound once per loop
	respBuf   int                 // Server.responseBuffer()
}

// loopState returns the server's state on l, made on first use (by the
// first connection the loop accepts). It takes s.mu.
func (s *Server) loopState(l *ioloop.Loop) *loopState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.loops[l]
	if ls == nil {
		ls = &loopState{s: s, l: l, respBuf: s.responseBuffer()}
		for i := range ls.lists {
			pl := &ls.lists[i]
			pl.id = uint8(i)
			switch i {
			case dlIdle:
				pl.d = s.idleTimeout()
			case dlHead:
				pl.d = s.readHeaderTimeout()
			case dlRequest:
				pl.d = s.RequestTimeout
			}
			if pl.d > 0 {
				pl.fn = func() { ls.expire(pl) }
			}
		}
		ls.postFn = ls.runPosted
		s.loops[l] = ls
	}
	return ls
}

// refresh reads the loop's clock into ls.now and ls.nowT. Callbacks that
// set deadlines or format the Date line call it first: the loop's clock is
// cached per iteration, so once per callback is enough.
func (ls *loopState) refresh() {
	ls.nowT = ls.l.Now()
	ls.now = ls.nowT.Sub(ls.s.base)
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
	x.tlsSet = false
	return x
}

func (ls *loopState) putExchange(x *exchange) {
	x.gen++
	x.dead = true
	x.cs = nil
	x.bodyH = nil
	x.onAbort, x.onDrain, x.drainWait, x.onPeerEOF = nil, nil, 0, nil
	x.upNext = nil
	x.req.hdr.buf = nil
	x.req.tr.reset()
	if x.tlsSet {
		x.tlsState, x.tlsSet = tls.ConnectionState{}, false // drop the certificates
	}
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
