package http1

import (
	"context"
	"sync"

	"github.com/ioloop/ioloop"
	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/poller"
)

// maxIdleWaits bounds the idle DoContext rendezvous objects a Client keeps
// (one descriptor each); a goroutine beyond them makes one for its call.
const maxIdleWaits = 1024

// syncWait is DoContext's rendezvous with the exchange's end: complete
// stores the result and notifies sig (never blocking the loop); the
// goroutine waits in the runtime's poller, so that when the loop is about
// to sleep it runs next on the loop's thread instead of waking another.
// The loop always notifies with an eventfd write (Notify), also when it has
// more work queued: that costs one system call per response where readying
// the goroutine directly (NotifyNow) would cost none, but it is right in
// both cases, and the loop does not tell other packages whether it is busy.
// Kept by the Client, with its descriptor.
type syncWait struct {
	sig  *poller.Signal
	resp *Response
	err  error
}

// getWait takes an idle syncWait or makes one.
func (cl *Client) getWait() *syncWait {
	cl.waitMu.Lock()
	if n := len(cl.waits); n > 0 {
		w := cl.waits[n-1]
		cl.waits[n-1] = nil
		cl.waits = cl.waits[:n-1]
		cl.waitMu.Unlock()
		return w
	}
	cl.waitMu.Unlock()
	return &syncWait{sig: poller.NewSignal()}
}

// putWait keeps w for the next DoContext, or releases its descriptor.
func (cl *Client) putWait(w *syncWait) {
	cl.waitMu.Lock()
	if !cl.waitsShut && len(cl.waits) < maxIdleWaits {
		cl.waits = append(cl.waits, w)
		cl.waitMu.Unlock()
		return
	}
	cl.waitMu.Unlock()
	_ = w.sig.Close()
}

func (w *syncWait) complete(_ *ioloop.Loop, resp *Response, err error) {
	w.resp, w.err = resp, err
	w.sig.Notify()
}

// Wait is async.Waiter's: Await of Do's future sleeps here.
func (w *syncWait) Wait(ctx context.Context) bool { return w.sig.WaitContext(ctx) }

// Wake is async.Waiter's: the eventfd write of Notify, from whatever
// goroutine settles the future.
func (w *syncWait) Wake() { w.sig.Notify() }

// lateExecutor is the executor of Do's future (and of the futures derived
// from it). It runs every task on one loop, l: the loop that settled the
// future, which complete records before settling it. A task is only handed
// to an executor once its future has settled, so l is always known by then
// and no task ever runs elsewhere.
//
// It also counts the tasks it queued and has not finished running, so that
// Response.Release can wait for them: a Release made while the future is
// being settled or while some of its continuations are queued or running
// is carried out (on l) when the last of them returns. It lends the
// Client's DoContext waits to Await (async.WaiterSource), so that a
// goroutine awaiting Do's future is woken as DoContext's caller is.
type lateExecutor struct {
	cl *Client
	p  *async.Promise[*Response] // settled by complete

	mu       sync.Mutex
	l        *ioloop.Loop
	settling bool          // complete is settling p
	queue    []async.Task  // executed, not yet started (qbuf at first)
	qbuf     [2]async.Task // room for queue, so that Execute does not allocate
	running  int           // tasks started and not yet returned
	released *Response     // a Release waiting for the tasks
}

// complete settles Do's future with the exchange's end (a completer), on
// l, which then runs its continuations.
func (e *lateExecutor) complete(l *ioloop.Loop, resp *Response, err error) {
	e.mu.Lock()
	e.l, e.settling = l, true
	e.mu.Unlock()
	if err != nil {
		e.p.Reject(err)
	} else {
		resp.ex = e
		e.p.Resolve(resp)
	}
	e.mu.Lock()
	e.settling = false
	r := e.idleRelease()
	e.mu.Unlock()
	if r != nil {
		r.recycle()
	}
}

// Execute queues t to run on the loop that settled the future. It is only
// called once the future has settled; should it be called earlier, the
// task goes to a loop of the Group (taken in turn), which then serves every
// later task too.
func (e *lateExecutor) Execute(t async.Task) {
	e.mu.Lock()
	l := e.l
	if l == nil {
		l = e.cl.anyLoop()
		e.l = l
	}
	e.queue = append(e.queue, t)
	e.mu.Unlock()
	l.Execute(e)
}

// Run runs the oldest queued task: the loop runs one Run per Execute.
func (e *lateExecutor) Run() {
	e.mu.Lock()
	t := e.queue[0]
	e.queue[0] = nil
	e.queue = e.queue[1:]
	if len(e.queue) == 0 {
		e.queue = e.qbuf[:0]
	}
	e.running++
	e.mu.Unlock()
	defer e.ran()
	t.Run()
}

// ran ends a Run, and carries out a Release that waited for it.
func (e *lateExecutor) ran() {
	e.mu.Lock()
	e.running--
	r := e.idleRelease()
	e.mu.Unlock()
	if r != nil {
		r.recycle()
	}
}

// deferRelease keeps r's Release for later if tasks are pending; false:
// release it now.
func (e *lateExecutor) deferRelease(r *Response) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settling || e.running > 0 || len(e.queue) > 0 {
		e.released = r
		return true
	}
	return false
}

// idleRelease returns the Response whose Release waited, once no task is
// pending. e.mu held.
func (e *lateExecutor) idleRelease() *Response {
	if e.settling || e.running > 0 || len(e.queue) > 0 || e.released == nil {
		return nil
	}
	r := e.released
	e.released = nil
	return r
}

// GetWaiter lends one of the Client's waits (async.WaiterSource).
func (e *lateExecutor) GetWaiter() async.Waiter { return e.cl.getWait() }

// PutWaiter gives it back.
func (e *lateExecutor) PutWaiter(w async.Waiter) { e.cl.putWait(w.(*syncWait)) }
