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
// Executor, an interface an ioloop Loop implements, and never inline in the
// stack of the call that settled the future. A future without an executor
// runs its continuations on a new goroutine. WithExecutor puts an executor in
// a context; the futures this package creates from such a context (Go,
// Semaphore.Acquire, Queue.Get, ...) continue on it, which is how a future
// created from a loop callback continues on that loop.
//
// Create + resolve + one continuation costs one allocation.
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
//
// # Errors
//
// Errors of this package start with "async: "; the sentinel values (ErrClosed,
// ErrQueueFull, ErrPoolFull, ErrTimeout, ...) are meant for errors.Is.
package async
