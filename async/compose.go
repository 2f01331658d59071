package async

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Composition. Every function here returns a new future whose continuations
// run on the executor of its (first) input; none of them blocks, so all are
// usable from loop callbacks. What each one cancels is stated on it; "cancel"
// means calling Future.Cancel on the input, which reaches the work only when
// the input came from Go (or from a combinator over such futures).

// recovered turns a panic in user code into a *PanicError.
func recovered(r any) error { return &PanicError{Value: r, Stack: debug.Stack()} }

// Then returns a future of fn applied to f's value. If f fails, fn is not
// called and the result fails with f's error. If fn panics, the result fails
// with a *PanicError. fn runs on f's executor. Cancelling the result cancels
// f. Costs two allocations (the result and the continuation), three when f can
// be cancelled (a future from Go or from these functions): the result then
// also holds f's cancel function. Safe from any goroutine.
func Then[T, U any](f *Future[T], fn func(T) (U, error)) *Future[U] {
	out := newFuture[U](f.ex)
	out.setCancel(f.cancelFunc())
	f.OnComplete(func(v T, err error) {
		if err != nil {
			var zero U
			out.complete(zero, err)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				var zero U
				out.complete(zero, recovered(r))
			}
		}()
		out.complete(fn(v))
	})
	return out
}

// Map is Then for a function that cannot fail. Costs as Then. Safe from any
// goroutine.
func Map[T, U any](f *Future[T], fn func(T) U) *Future[U] {
	return Then(f, func(v T) (U, error) { return fn(v), nil })
}

// Catch returns a future that resolves with f's value when f succeeds, and
// otherwise with the result of fn applied to f's error: fn recovers by
// returning a value and nil, or fails again by returning an error. A panic in
// fn fails the result with a *PanicError. fn runs on f's executor. Cancelling
// the result cancels f. Costs as Then. Safe from any goroutine.
func Catch[T any](f *Future[T], fn func(error) (T, error)) *Future[T] {
	out := newFuture[T](f.ex)
	out.setCancel(f.cancelFunc())
	f.OnComplete(func(v T, err error) {
		if err == nil {
			out.complete(v, nil)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				var zero T
				out.complete(zero, recovered(r))
			}
		}()
		out.complete(fn(err))
	})
	return out
}

// Compose returns a future of the future that fn starts from f's value (a flat
// map): it settles with the inner future's result. If f fails, fn is not
// called. A panic in fn, or a nil future from it, fails the result. Cancelling
// the result cancels f and, once started, the inner future. Costs the result,
// the continuations and the cancel function. Safe from any goroutine.
func Compose[T, U any](f *Future[T], fn func(T) *Future[U]) *Future[U] {
	out := newFuture[U](f.ex)
	var inner atomic.Pointer[Future[U]]
	out.setCancel(func() {
		f.Cancel()
		if in := inner.Load(); in != nil {
			in.Cancel()
		}
	})
	f.OnComplete(func(v T, err error) {
		if err != nil {
			var zero U
			out.complete(zero, err)
			return
		}
		var in *Future[U]
		func() {
			defer func() {
				if r := recover(); r != nil {
					var zero U
					out.complete(zero, recovered(r))
				}
			}()
			in = fn(v)
		}()
		if in == nil {
			var zero U
			out.complete(zero, ErrNilError)
			return
		}
		inner.Store(in)
		in.OnComplete(func(u U, err error) { out.complete(u, err) })
	})
	return out
}

func firstExecutor[T any](fs []*Future[T]) Executor {
	if len(fs) == 0 {
		return nil
	}
	return fs[0].ex
}

func cancelAll[T any](fs []*Future[T]) func() {
	return func() {
		for _, f := range fs {
			f.Cancel()
		}
	}
}

// All returns a future of every input's value, in input order. It fails with
// the first failure (in time) among the inputs, and at that moment cancels
// every input (the failed one included, which is harmless). With no inputs it
// resolves with an empty slice. Cancelling the result cancels every input.
// Costs three allocations plus one per input. Safe from any goroutine.
func All[T any](fs ...*Future[T]) *Future[[]T] {
	fs = append([]*Future[T](nil), fs...)
	out := newFuture[[]T](firstExecutor(fs))
	out.setCancel(cancelAll(fs))
	if len(fs) == 0 {
		out.complete([]T{}, nil)
		return out
	}
	vals := make([]T, len(fs))
	var left atomic.Int64
	left.Store(int64(len(fs)))
	for i, f := range fs {
		f.OnComplete(func(v T, err error) {
			if err != nil {
				if out.complete(nil, err) {
					out.Cancel()
				}
				return
			}
			vals[i] = v
			if left.Add(-1) == 0 {
				out.complete(vals, nil)
			}
		})
	}
	return out
}

// Settled is the outcome of one input of AllSettled.
type Settled[T any] struct {
	Value T
	Err   error
}

// AllSettled returns a future, never failing, of every input's outcome in
// input order, resolved once all inputs have settled. It cancels nothing by
// itself; cancelling the result cancels every input. Costs the result and
// one continuation per input. Safe from any goroutine.
func AllSettled[T any](fs ...*Future[T]) *Future[[]Settled[T]] {
	fs = append([]*Future[T](nil), fs...)
	out := newFuture[[]Settled[T]](firstExecutor(fs))
	out.setCancel(cancelAll(fs))
	res := make([]Settled[T], len(fs))
	if len(fs) == 0 {
		out.complete(res, nil)
		return out
	}
	var left atomic.Int64
	left.Store(int64(len(fs)))
	for i, f := range fs {
		f.OnComplete(func(v T, err error) {
			res[i] = Settled[T]{Value: v, Err: err}
			if left.Add(-1) == 0 {
				out.complete(res, nil)
			}
		})
	}
	return out
}

// Any returns a future of the first input to succeed; when it succeeds, every
// input is cancelled (the others are no longer needed). If every input fails
// the result fails with a *MultiError holding the errors in input order. With
// no inputs it fails with ErrNoFutures. Cancelling the result cancels every
// input. Costs the result and one continuation per input. Safe from any
// goroutine.
func Any[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrNoFutures)
	}
	fs = append([]*Future[T](nil), fs...)
	out := newFuture[T](firstExecutor(fs))
	out.setCancel(cancelAll(fs))
	var mu sync.Mutex
	errs := make([]error, len(fs))
	left := len(fs)
	for i, f := range fs {
		f.OnComplete(func(v T, err error) {
			if err == nil {
				if out.complete(v, nil) {
					out.Cancel()
				}
				return
			}
			mu.Lock()
			errs[i] = err
			left--
			last := left == 0
			mu.Unlock()
			if last {
				var zero T
				out.complete(zero, &MultiError{Errs: errs})
			}
		})
	}
	return out
}

// Race returns a future of the first input to settle, success or failure; when
// it settles every input is cancelled. With no inputs it fails with
// ErrNoFutures. Cancelling the result cancels every input. Costs the result
// and one continuation. Safe from any goroutine.
func Race[T any](fs ...*Future[T]) *Future[T] {
	if len(fs) == 0 {
		return Failed[T](ErrNoFutures)
	}
	fs = append([]*Future[T](nil), fs...)
	out := newFuture[T](firstExecutor(fs))
	out.setCancel(cancelAll(fs))
	cont := func(v T, err error) {
		if out.complete(v, err) {
			out.Cancel()
		}
	}
	for _, f := range fs {
		f.OnComplete(cont)
	}
	return out
}

// WithTimeout returns a future of f's result if f settles within d, and
// otherwise fails with ErrTimeout after d and cancels f at that moment (so
// work started by Go sees its context cancelled). f itself is not settled by
// the timeout. d <= 0 times out at once (still asynchronously). Cancelling the
// result cancels f. Costs a timer besides the result future. Safe from any
// goroutine.
func WithTimeout[T any](f *Future[T], d time.Duration) *Future[T] {
	out := newFuture[T](f.ex)
	out.setCancel(f.cancelFunc())
	t := time.AfterFunc(d, func() {
		var zero T
		if out.complete(zero, ErrTimeout) {
			f.Cancel()
		}
	})
	f.OnComplete(func(v T, err error) {
		if out.complete(v, err) {
			t.Stop()
		}
	})
	return out
}
