package http1

import (
	"io"
	"sync"
)

// pipe carries a body from a loop to one reading goroutine: the loop
// pushes the bytes as they arrive (the adapter's request bodies, the
// client's streamed response bodies), the goroutine reads them with Read.
//
// Bytes. The loop's input is lent only until its callback returns, so push
// copies it: straight into the slice of a Read that is waiting for bytes
// (the reader lent it, and is blocked until push wakes it), otherwise
// into the pipe's buffer, from which Read copies it out. The buffer is
// reused: it only grows (to the high-water mark plus one push), so a body
// costs no allocation per push in the steady state.
//
// Flow control. When a push leaves high or more bytes unread, push tells
// its caller to stop the source (the caller pauses the connection or the
// request body, on the loop); the pipe is then paused. When Read brings the
// unread bytes down to low or fewer, it asks the source to go on through
// ctl.resume (once: resuming), which hands the resume to the loop; there the
// task calls resumed before restarting the source. The pipe stays paused
// until resumed runs on the loop, so a push between the request and the
// resume never pauses twice, and a resume never arrives twice.
//
// End. end records why the body ended (io.EOF: complete) and wakes the
// reader, who reads what is left before getting that error. close (the
// reader's Close) drops what is unread and makes later pushes and Reads
// do nothing: Read then returns closedErr.
//
// Goroutines: push and resumed run on the loop; Read and close on the
// reader's goroutine; end on any. mu guards every field after it.
type pipe struct {
	high, low int
	ctl       pipeCtl
	closedErr error // Read's error after close

	mu       sync.Mutex
	cond     sync.Cond
	buf      []byte // unread bytes are buf[r:]
	r        int
	lent     []byte // the slice of a Read waiting on an empty pipe, or nil
	handed   int    // bytes push copied into lent
	err      error  // why the body ended (io.EOF: complete), nil before
	closed   bool   // the reader closed the pipe
	paused   bool   // the source was told to stop
	resuming bool   // a resume is on its way to the loop
}

// pipeCtl is the source side of a pipe.
type pipeCtl interface {
	// resume asks the loop to restart the source: it posts a task (with
	// Loop.Execute, never refused) that calls the pipe's resumed and then
	// restarts the source if it is still the pipe's. Called from the
	// reader's goroutine, without the pipe's lock.
	resume()
}

// init prepares p; it must not be copied afterwards.
func (p *pipe) init(high, low int, ctl pipeCtl, closedErr error) {
	p.high, p.low, p.ctl, p.closedErr = high, low, ctl, closedErr
	p.cond.L = &p.mu
}

// push copies b into the pipe and reports whether the caller must now
// stop the source (the pipe holds high bytes or more). Bytes pushed after
// close are dropped. Loop only.
func (p *pipe) push(b []byte) (pause bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.err != nil {
		return false
	}
	if p.lent != nil && p.handed == 0 && p.r == len(p.buf) {
		// A Read waits on an empty pipe: hand the bytes over directly.
		n := copy(p.lent, b)
		p.handed, b = n, b[n:]
		p.cond.Signal()
		if len(b) == 0 {
			return false
		}
	}
	if p.r > 0 && cap(p.buf)-len(p.buf) < len(b) {
		p.buf = p.buf[:copy(p.buf, p.buf[p.r:])]
		p.r = 0
	}
	p.buf = append(p.buf, b...)
	if len(p.buf)-p.r >= p.high && !p.paused {
		p.paused = true
		pause = true
	}
	p.cond.Signal()
	return pause
}

// end ends the body with err (nil: complete, io.EOF); the first end
// counts. Any goroutine.
func (p *pipe) end(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.cond.Signal()
	p.mu.Unlock()
}

// Read reads unread bytes, blocking until some arrive or the body ends;
// at the end it returns the error given to end (io.EOF when complete).
// The reader's goroutine only (it blocks: never a loop callback).
func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(b) > 0 && p.r == len(p.buf) && p.err == nil && !p.closed {
		p.lent, p.handed = b, 0
		for p.handed == 0 && p.r == len(p.buf) && p.err == nil && !p.closed {
			p.cond.Wait()
		}
		n := p.handed
		p.lent, p.handed = nil, 0
		if n > 0 {
			p.mu.Unlock()
			return n, nil
		}
	}
	for p.r == len(p.buf) && p.err == nil && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return 0, p.closedErr
	}
	if p.r == len(p.buf) {
		err := p.err
		p.mu.Unlock()
		return 0, err
	}
	n := copy(b, p.buf[p.r:])
	p.r += n
	if p.r == len(p.buf) {
		p.buf, p.r = p.buf[:0], 0
	}
	resume := p.wantResume() && len(p.buf)-p.r <= p.low
	if resume {
		p.resuming = true
	}
	p.mu.Unlock()
	if resume {
		p.ctl.resume()
	}
	return n, nil
}

// wantResume reports whether the source is stopped with no resume on its
// way. p.mu held.
func (p *pipe) wantResume() bool { return p.paused && !p.resuming && p.err == nil }

// resumed records on the loop that the source goes on: the task posted by
// ctl.resume calls it first. Loop only.
func (p *pipe) resumed() {
	p.mu.Lock()
	p.paused, p.resuming = false, false
	p.mu.Unlock()
}

// close drops the unread bytes and later pushes, wakes a blocked Read,
// and reports whether the body had ended and whether the source is stopped
// with no resume on its way (resume: the caller may ask for one, and the
// pipe counts it as on its way). The reader's goroutine.
func (p *pipe) close() (ended, resume bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ended = p.err != nil
	if p.closed {
		return ended, false
	}
	p.closed = true
	p.buf, p.r = nil, 0
	resume = p.wantResume()
	if resume {
		p.resuming = true
	}
	p.cond.Signal()
	return ended, resume
}
