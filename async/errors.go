package async

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Compare with errors.Is: the futures and primitives of this
// package may wrap them.
var (
	// ErrClosed is the failure of an operation on a closed Pool, Queue or
	// Batcher, and of every waiter that was still waiting when it closed.
	ErrClosed = errors.New("async: closed")

	// ErrQueueFull is returned by Queue.TryPut when the queue holds its
	// capacity, and by Batcher.Add under OverflowFail when the pending bytes
	// would exceed the limit.
	ErrQueueFull = errors.New("async: queue full")

	// ErrQueueEmpty is returned by Queue.TryGet when no item is ready.
	ErrQueueEmpty = errors.New("async: queue empty")

	// ErrPoolFull is the failure of a task submitted to a Pool whose queue
	// is full. The task does not run.
	ErrPoolFull = errors.New("async: pool full")

	// ErrTooLarge is the failure of a request that can never be satisfied:
	// a Semaphore weight above the semaphore's size, or a Batcher item larger
	// than the batcher's pending limit.
	ErrTooLarge = errors.New("async: request exceeds capacity")

	// ErrNoFutures is the failure of Any and Race called with no futures.
	ErrNoFutures = errors.New("async: no futures")

	// ErrNilError is the failure recorded when Promise.Reject is given a nil
	// error, so that a rejection is never mistaken for a success.
	ErrNilError = errors.New("async: rejected with a nil error")

	// ErrTaskDone is returned by Queue.TaskDone when it is called more
	// times than items were put.
	ErrTaskDone = errors.New("async: TaskDone called more times than items were put")

	// ErrOnLoop is returned at once by a call that would block the calling
	// goroutine when that goroutine is an event loop's: Future.Await on a
	// pending future, Pool.Close, Batcher.Add under OverflowWait at the
	// limit, and the iterators of MapOrdered and MapUnordered. Blocking there
	// would stop the loop, and with it the work that would have ended the
	// wait. Loop code chains a continuation instead (Future.OnComplete, Then,
	// ...). Package ioloop re-exports it as ioloop.ErrOnLoop.
	ErrOnLoop = errors.New("async: blocking call on an event loop goroutine")

	// ErrTimeout is the failure of a future returned by WithTimeout whose
	// input did not settle in time. errors.Is(ErrTimeout,
	// context.DeadlineExceeded) reports true, so code that checks for a
	// context deadline also recognises it.
	ErrTimeout error = timeoutError{}
)

type timeoutError struct{}

func (timeoutError) Error() string { return "async: timeout" }

// Is makes ErrTimeout match context.DeadlineExceeded.
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// PanicError is the failure of code that panicked where the library recovers
// it: a task of a Pool, Go or TaskGroup, a continuation, a Batcher's flush
// function, and (in package ioloop) a loop callback, whose connection is closed
// with it. Value is what was passed to panic and Stack the stack of the
// panicking goroutine, as captured by runtime/debug.Stack at recovery. It is
// the only panic error type of the module: ioloop, http1 and websocket report
// this one.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns "async: panic: <value>". The stack is never part of the
// message (it is in Stack; the default unhandled-error handler logs it).
func (e *PanicError) Error() string {
	return fmt.Sprintf("async: panic: %v", e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through a panic(err); otherwise nil.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// MultiError is the failure of Any when every input failed. Errs holds the
// inputs' errors in the order of the inputs.
type MultiError struct {
	Errs []error
}

// Error lists the failures.
func (e *MultiError) Error() string {
	var b strings.Builder
	b.WriteString("async: all ")
	b.WriteString(strconv.Itoa(len(e.Errs)))
	b.WriteString(" futures failed")
	for i, err := range e.Errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the inputs' errors for errors.Is and errors.As.
func (e *MultiError) Unwrap() []error { return e.Errs }
