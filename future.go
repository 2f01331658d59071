package ioloop

import (
	"context"
	"crypto/tls"
	"runtime/debug"
	"time"

	"github.com/ioloop/ioloop/async"
)

// Execute queues t to run on the loop: Loop implements async.Executor, so a
// future whose executor is a loop runs its continuations there, always —
// never on another goroutine. Safe from any goroutine, including the loop's
// own callbacks; t never runs before Execute returns. It is never refused:
// a full mailbox queues t anyway (see Options.MailboxSize), and after the
// group closed t runs once the loop goroutine has ended, one at a time with
// the loop's other late tasks, so it still never runs beside the loop.
// Cost: one queued task, no allocation for pointer-shaped tasks.
func (l *Loop) Execute(t async.Task) { l.push(t) }

// Context returns a context that carries the loop as the async executor:
// futures that the async package creates with it (async.Go,
// Semaphore.Acquire, Queue.Get, ...) continue on this loop. It is never
// cancelled. Safe from any goroutine; no allocation.
func (l *Loop) Context() context.Context { return l.ctx }

// Submit runs fn on loop l and returns a future of its result, whose
// continuations run on l too. A panic in fn fails the future with an
// *async.PanicError (and is logged like any panic on the loop). Submit is a
// door for outside work, like Post: when Options.MailboxSize tasks already
// wait it fails the future with ErrMailboxFull, and a closed loop fails it
// with ErrGroupClosed (its continuations then run as Execute says). Safe from any
// goroutine. Cost: one posted task, the promise and fn's closure.
func Submit[T any](l *Loop, fn func() (T, error)) *async.Future[T] {
	p := async.NewPromise[T](l)
	err := l.Post(func() {
		defer func() {
			if r := recover(); r != nil {
				p.Reject(&async.PanicError{Value: r, Stack: debug.Stack()})
				panic(r) // reported by the loop's recovery
			}
		}()
		p.Complete(fn())
	})
	if err != nil {
		p.Reject(err)
	}
	return p.Future()
}

// Offload runs blocking fn on the async package's default worker pool and
// returns a future whose continuations run back on loop l: the way for a loop
// callback to call blocking code. ctx (or the future's Cancel) cancels the
// work; the pool is bounded, and a full pool fails the future with
// async.ErrPoolFull at once. ctx must not be nil (it panics, as
// net/http.NewRequestWithContext does): pass l.Context() for work that is
// never cancelled. Safe from any goroutine.
func Offload[T any](l *Loop, ctx context.Context, fn func(context.Context) (T, error)) *async.Future[T] {
	if ctx == nil {
		panic("ioloop: Offload with a nil context (use l.Context() for a context that is never cancelled)")
	}
	if async.ExecutorFrom(ctx) != async.Executor(l) {
		ctx = async.WithExecutor(ctx, l)
	}
	return async.Go(ctx, async.DefaultPool(), fn)
}

// DialFuture is Dial in future style: the future resolves with the
// connection once it is open (after h.OnOpen ran), or fails with the dial
// error (after h.OnClose ran). Continuations run on the connection's loop
// (on one of the group's loops when the dial failed before a connection
// existed). Safe from any goroutine.
func (g *Group) DialFuture(network, address string, h Handler, timeout time.Duration) *async.Future[*Conn] {
	return g.dialFuture(network, address, h, timeout, nil)
}

func (g *Group) dialFuture(network, address string, h Handler, timeout time.Duration, config *tls.Config) *async.Future[*Conn] {
	c, err := g.dial(network, address, h, timeout, true, config)
	if err != nil {
		return g.failedDial(err)
	}
	return c.ext.dialed.Future()
}

// failedDial returns a future failed with err on one of the group's loops:
// continuations run there, as DialFuture promises, even when no
// connection was made.
func (g *Group) failedDial(err error) *async.Future[*Conn] {
	p := async.NewPromise[*Conn](g.pick(BalanceLeastConns))
	p.Reject(err)
	return p.Future()
}

// WriteFuture is AsyncWrite in future style: the future resolves once all
// of b was handed to the kernel, or fails with the error that stopped it. b
// must not change until then. Continuations run on the connection's loop.
// Safe from any goroutine. Cost: AsyncWrite's, plus the promise.
func (c *Conn) WriteFuture(b []byte) *async.Future[struct{}] {
	p := async.NewPromise[struct{}](c.l)
	c.AsyncWrite(b, func(err error) { p.Complete(struct{}{}, err) })
	return p.Future()
}
