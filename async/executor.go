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
// Task does not allocate.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// Executor runs tasks on a goroutine it chooses; an ioloop Loop implements it
// by running each task on the loop's goroutine.
//
// Contract for implementations:
//   - Execute may be called from any goroutine, including the executor's own.
//   - Execute must not call t.Run before it returns (continuations never run
//     inline in the resolver's stack); it queues t and returns promptly.
//   - Every task passed to Execute must eventually run exactly once. An
//     executor that can no longer run tasks (a closed loop) should run them
//     on a new goroutine rather than drop them, or awaiters hang.
//   - Tasks run in the order they were executed is recommended but not
//     required; the package never relies on it.
type Executor interface {
	Execute(t Task)
}

// execute hands t to ex, or to a new goroutine when ex is nil (the executor
// of futures created without one).
func execute(ex Executor, t Task) {
	if ex == nil {
		go t.Run()
		return
	}
	ex.Execute(t)
}

type executorKey struct{}

// WithExecutor returns a copy of ctx that carries ex. Futures created by
// Go, Semaphore.Acquire, Queue.Get, Queue.Put, Event.Wait, Batcher.Add and
// Group with such a context run their continuations on ex. A loop gives the
// context of its callbacks an executor, so that a future created from a loop
// callback continues on that loop by default. Costs one allocation; safe from
// any goroutine.
func WithExecutor(ctx context.Context, ex Executor) context.Context {
	return context.WithValue(ctx, executorKey{}, ex)
}

// ExecutorFrom returns the executor stored in ctx by WithExecutor, or nil.
// Costs one context lookup and no allocation; safe from any goroutine.
func ExecutorFrom(ctx context.Context) Executor {
	if ctx == nil {
		return nil
	}
	ex, _ := ctx.Value(executorKey{}).(Executor)
	return ex
}
