package async

import (
	"context"

	"github.com/ioloop/ioloop/internal/onloop"
)

// Await blocks the calling goroutine until the future settles or ctx ends,
// and returns the value and error. ctx bounds only this wait: when it ends
// first, Await returns ctx.Err() and the future is untouched (the work goes
// on; await again or cancel the work through its own context). If the future
// is settled, its result is returned even when ctx has ended. A nil ctx means
// no bound.
//
// On an event loop's goroutine (a loop callback or a continuation running on
// a loop), Await of a pending future returns ErrOnLoop at once instead of
// blocking: the loop would wait for work that may need the loop itself. A
// settled future's result is returned there as anywhere. Loop code chains
// with OnComplete, Then or Map instead.
//
// Cost: settled, no lock and no allocation; pending, the loop check (see
// ErrOnLoop), then a Waiter lent by the executor when it is a WaiterSource
// (for the first awaiter), else the future's Done channel, allocated once
// per future and shared by all its awaiters. Safe from any goroutine.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.word.Load()&stateMask != statePending {
		f.markObserved()
		return f.val, f.err
	}
	if onloop.Current() {
		var zero T
		return zero, ErrOnLoop
	}
	var cdone <-chan struct{}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			var zero T
			return zero, err
		}
		cdone = ctx.Done()
	}
	if ws, ok := f.ex.(WaiterSource); ok {
		if v, err, ok := f.awaitWith(ctx, ws); ok {
			return v, err
		}
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-cdone:
		if f.word.Load()&stateMask != statePending {
			return f.val, f.err
		}
		var zero T
		return zero, ctx.Err()
	}
}

// awaitWith is Await with a Waiter lent by the future's executor. ok is
// false when another awaiter already sleeps in one: the caller then waits
// on the Done channel.
func (f *Future[T]) awaitWith(ctx context.Context, ws WaiterSource) (v T, err error, ok bool) {
	wt := ws.GetWaiter() // executor code: not under the lock
	w := f.lock() | observedBit
	if w&stateMask != statePending {
		f.unlock(w)
		ws.PutWaiter(wt)
		f.markObserved()
		return f.val, f.err, true
	}
	x := f.ext()
	if x.waiter != nil {
		f.unlock(w)
		ws.PutWaiter(wt)
		return v, nil, false
	}
	x.waiter = wt
	f.unlock(w)
	if wt.Wait(ctx) {
		ws.PutWaiter(wt)
		return f.val, f.err, true // complete stored them before Wake
	}
	// ctx ended first: withdraw the waiter, unless complete took it, in
	// which case its Wake is on the way and must be taken before the
	// waiter goes back (and the result is there).
	w = f.lock()
	if x.waiter == wt {
		x.waiter = nil
		f.unlock(w)
		ws.PutWaiter(wt)
		return v, ctx.Err(), true
	}
	f.unlock(w)
	wt.Wait(nil)
	ws.PutWaiter(wt)
	return f.val, f.err, true
}

// Done returns a channel closed when the future settles, for use in select
// statements. It counts as observing a failure. The first call on a pending
// future allocates the channel; later calls and calls on a settled future do
// not allocate. Loop code does not block on the channel (it chains with
// OnComplete; see ErrOnLoop). Safe from any goroutine.
func (f *Future[T]) Done() <-chan struct{} {
	if f.word.Load()&stateMask != statePending {
		f.markObserved()
		return closedChan
	}
	w := f.lock() | observedBit
	if w&stateMask != statePending {
		f.unlock(w)
		f.markObserved()
		return closedChan
	}
	x := f.ext()
	if x.done == nil {
		x.done = make(chan struct{})
	}
	f.unlock(w)
	return x.done
}

// closedChan is returned by Done on settled futures.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()
