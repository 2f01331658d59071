// Package async provides futures and the concurrency primitives of an event
// loop runtime, usable in two styles with one implementation: code on a loop
// goroutine chains continuations and never blocks, code on an ordinary
// goroutine awaits.
//
// # Futures
//
// A Future[T] settles exactly once, with a value or an error, from any
// goroutine; the Promise[T] that created it is the only way to settle it, and
// a second attempt reports false instead of panicking. Goroutines wait with
// Future.Await(ctx) — ctx bounds the wait, not the work — or select on
// Future.Done; anyone can peek with Future.Result.
//
// Continuations (Future.OnComplete and the functions Then, Map, Catch,
// Compose, All, AllSettled, Any, Race and WithTimeout) run on the future's
// Executor, an interface an ioloop Loop implements: never inline in the stack
// of the call that settled the future, and never on a goroutine other than
// the executor's, so a continuation of a loop's future runs on that loop,
// always. A future's executor is chosen where the future is made, not by the
// goroutine that makes it:
//
//   - NewPromise(ex) uses ex;
//   - Go and the primitives (Semaphore.Acquire, Queue.Get, Event.Wait, ...)
//     use ExecutorFrom(ctx), the executor WithExecutor put in their context
//     (an ioloop Loop's Context carries the loop);
//   - Then, Map, Catch, Compose, WithTimeout and All, Any, ... use the
//     executor of their (first) input.
//
// A nil executor is the goroutine executor: each run of continuations starts
// on a new goroutine. That holds inside a loop callback too: a future made
// there with NewPromise(nil), or from a context without an executor, does not
// continue on the loop. Pass the loop, or ExecutorFrom(ctx).
//
// Create + resolve + one continuation costs one allocation (pinned by a
// test).
//
// # Blocking
//
// Nothing in this package blocks a loop. The calls that block a goroutine
// (Future.Await of a pending future, Pool.Close, Batcher.Add under
// OverflowWait at the limit, the iterators of MapOrdered and MapUnordered)
// fail at once with ErrOnLoop when the calling goroutine is an event loop's,
// since the loop would wait for work that may need the loop itself.
//
// # Cancellation
//
// A future is a result, not a task: awaiting with a context that ends gives
// up the wait only. Work is cancelled through the context it was given. Go
// derives that context, so its futures can be cancelled with Future.Cancel;
// each combinator documents which inputs it cancels (All on the first
// failure, Any on the first success, Race on the first result, WithTimeout
// at the deadline). The primitives withdraw a waiting request when the
// context passed to it ends.
//
// # Unhandled failures
//
// A failed future that nobody observes is reported to the handler installed
// with SetUnhandledErrorHandler (by default, the standard logger) when the
// garbage collector finds it unreachable; a continuation that panics is
// recovered and reported too. See SetUnhandledErrorHandler for the exact
// rule.
//
// # Primitives
//
// Semaphore (weighted, FIFO-fair), Event, Queue (FIFO, LIFO, priority),
// TaskGroup and the bounded maps MapOrdered and MapUnordered, Batcher, and the
// worker Pool with Go. Each is bounded by default; each type's documentation
// states its default bound and what happens at it. Closing a Queue, Batcher
// or Pool fails every waiter with ErrClosed and loses nothing accepted before.
// Every function and method of the package is safe from any goroutine.
//
// # Errors
//
// Errors of this package start with "async: "; the sentinel values (ErrClosed,
// ErrQueueFull, ErrPoolFull, ErrTimeout, ErrOnLoop, ...) are meant for
// errors.Is. A recovered panic is a *PanicError, the one panic error type of
// the module.
package async
