package async

import "context"

// Task is one unit of work handed to an Executor. Run is called exactly once.
//
// The package hands its own internal objects to executors as Tasks, which is
// why the interface takes a Task rather than a func(): converting a pointer to
// an interface does not allocate, binding a method value does, and the cost of
// a continuation must stay at one allocation.
//
// Task is an alias of the unnamed interface, so that an executor queuing it
// into another package's queue of the same shape converts nothing.
type Task = interface {
	Run()
}

// TaskFunc adapts an ordinary function to a Task. Converting a TaskFunc to a
// Task does not allocate (the func value itself may).
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// Executor runs tasks on a goroutine it chooses; an ioloop Loop implements it
// by running each task on the loop's goroutine. A future's continuations run
// on its executor (Future.Executor); a nil Executor stands for the goroutine
// executor, which runs each run of continuations on a new goroutine.
//
// Contract for implementations:
//   - Execute may be called from any goroutine, including the executor's own.
//   - Execute must not call t.Run before it returns (continuations never run
//     inline in the resolver's stack); it queues t and returns promptly.
//   - Every task passed to Execute runs exactly once, on the executor's own
//     goroutine, never on another one: code continuing on a loop relies on
//     it to use the loop's connections without locks. An executor must
//     therefore never refuse a task nor hand it to a new goroutine as a
//     fallback (a full queue, a busy or a closing loop); its queue of tasks
//     is unbounded, or bounded only for other callers. An executor that has
//     stopped for good (a closed loop) still runs every task it is given,
//     one at a time and after everything it ran before (an ioloop Loop runs
//     them once its goroutine has ended), so that nothing awaiting a
//     continuation hangs and nothing runs beside the executor's own code.
//   - Tasks run in the order they were executed is recommended but not
//     required; the package never relies on it.
type Executor interface {
	Execute(t Task)
}

// execute hands t to ex, or to a new goroutine when ex is nil (the goroutine
// executor). A task is never moved off a non-nil executor.
func execute(ex Executor, t Task) {
	if ex == nil {
		go t.Run()
		return
	}
	ex.Execute(t)
}

type executorKey struct{}

// WithExecutor returns a copy of ctx that carries ex. Futures created by
// Go, Semaphore.Acquire, Queue.Get, Queue.Put, Queue.Join, Event.Wait,
// Batcher.Add and TaskGroup with such a context run their continuations on
// ex. An ioloop Loop's Context method returns a context that carries the
// loop, so futures created with it continue on that loop. Costs one
// allocation. Safe from any goroutine.
func WithExecutor(ctx context.Context, ex Executor) context.Context {
	return context.WithValue(ctx, executorKey{}, ex)
}

// ExecutorFrom returns the executor stored in ctx by WithExecutor, or nil.
// NewPromise(ExecutorFrom(ctx)) makes a promise that continues where the
// futures created with ctx do. Costs one context lookup and no allocation.
// Safe from any goroutine.
func ExecutorFrom(ctx context.Context) Executor {
	if ctx == nil {
		return nil
	}
	ex, _ := ctx.Value(executorKey{}).(Executor)
	return ex
}

// Waiter blocks one goroutine until another wakes it. An executor that can
// wake a goroutine more cheaply than a channel close does lends Waiters to
// Await through WaiterSource.
type Waiter interface {
	// Wait blocks until Wake is called (true) or ctx ends (false); a Wake
	// that came before Wait is kept. ctx may be nil: no bound.
	Wait(ctx context.Context) bool
	// Wake ends the Wait, or the next one. The future calls it at most once
	// per Wait, from the goroutine that settles it, after the result is
	// stored; it must not block.
	Wake()
}

// WaiterSource is an Executor that lends Waiters to Future.Await: a
// goroutine awaiting a pending future of this executor sleeps in a Waiter
// (the first awaiter only; others share the future's Done channel), and the
// goroutine that settles the future wakes it. An ioloop client lends
// waiters that sleep in the Go runtime's poller, so that the loop that
// settles the future does not also wake a second thread to run the awaiter.
//
// GetWaiter and PutWaiter may be called from any goroutine. A Waiter given
// back holds no pending Wake.
type WaiterSource interface {
	Executor
	GetWaiter() Waiter
	PutWaiter(w Waiter)
}
