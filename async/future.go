package async

// Internal contract of Future (read before changing this file and the files
// that implement the rest of it: promise.go, await.go and unhandled.go).
//
// A Future is one heap object, kept small because every continuation step
// allocates one (64 bytes for a Future[int] on 64-bit platforms, pinned by
// TestFutureCostsPinned): the word, the value, the error,
// the executor, the first continuation and one pointer to rarely used fields
// (futureExt: the cancel function, further continuations, the Done channel,
// the unhandled-failure tracker), allocated only when one of them is needed.
// Promise[T] is a struct whose only field is a Future[T], so NewPromise
// allocates once and Promise.Future returns an interior pointer. Objects that
// embed a future for their own use (queue and semaphore waiters) keep it as
// their first field, so that the cleanup that reports unhandled failures (see
// below) is attached to the whole object.
//
// The word. word holds the settled state (pending, resolved or rejected; it
// never changes once settled), the future's lock (lockBit) and flags:
// pendBit (a registered continuation has not been taken by a run yet),
// schedBit (a run is scheduled or running), trackBit (x.track is set),
// observedBit and sharedBit. The lock is taken by a compare-and-swap that
// sets lockBit (lock) and released by storing the new word (unlock); it
// guards a few instructions, never user code, never a channel close. Every
// change of the word is made under the lock, except one: a run clears
// schedBit with a compare-and-swap, without the lock, after its last
// continuation returned (see Continuations); that swap expects lockBit
// clear, so it cannot succeed while a holder is about to store. val, err and
// x.track are written under the lock before the settled state is stored and
// never written afterwards, so a reader that loads a settled word may read
// them without the lock (the atomic store/load pair orders them). x, once
// allocated, is never replaced; x.cancel is set before the future is shared.
//
// Continuations. The first continuation is kept inline (first), further ones
// in x.more, of which x.next is the index of the next one to run. first is
// only filled when nothing is pending in x.more, so it always precedes them.
// Settling, or registering on a settled future, schedules the future itself
// (as a Task, through the runner conversion, which does not allocate) on its
// executor unless a run is already scheduled (schedBit). The run takes one
// continuation at a time under the lock and calls it unlocked. After it returns,
// the run clears schedBit with a compare-and-swap against the word it saw
// when taking the continuation, with pendBit clear: the swap fails exactly
// when a continuation was registered meanwhile, and the run then goes on
// with the lock. A registration that finds schedBit clear schedules a new
// run; the swap happened after the previous continuation returned, so
// continuations of one future run one at a time, in registration order, each
// exactly once, whatever goroutine registers them. Taken slots are set to nil
// (so captured values can be collected); the x.more slice is reset when a
// registration finds it fully consumed. Continuations never run in the stack
// of Resolve, Reject or OnComplete.
//
// Waiting. Done allocates its channel (in x) on first use, under the lock,
// and settling closes it after storing the settled state; on a settled
// future Done returns a shared closed channel. Await on a pending future
// selects on Done and the context, except that when the executor is a
// WaiterSource the first awaiter sleeps in a Waiter it lends: the waiter is
// put in x.waiter under the lock, and settling takes it out under the lock
// and wakes it after storing the settled state. An awaiter whose context
// ends withdraws the waiter under the lock; if settling took it first, the
// awaiter waits for that Wake before giving the waiter back, so a waiter
// never goes back with a Wake pending. (Channels are not pooled across
// futures: a channel created inside a testing/synctest bubble must never
// reach a goroutine outside it.)
//
// Observation and unhandled failures. Registering a continuation, awaiting
// (slow path) or calling Done sets observed. A future rejected while not
// observed gets a tracker holding its error (x.track, trackBit) and a
// runtime.AddCleanup on the future; any later observation (Await, Done,
// Result returning the error, OnComplete) marks the tracker observed. When
// the collector finds the future unreachable and the tracker is still
// unobserved, the cleanup passes the error to the unhandled-error handler.
// The tracker never points back to the future. A resolved (successful)
// future never pays for this.

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// Bits of Future.word; see the contract at the top of the file.
const (
	statePending  uint32 = 0
	stateResolved uint32 = 1
	stateRejected uint32 = 2
	stateMask     uint32 = 3

	schedBit    uint32 = 1 << 2 // a run is scheduled or running
	pendBit     uint32 = 1 << 3 // a registered continuation is not taken yet
	trackBit    uint32 = 1 << 4 // x.track is set
	lockBit     uint32 = 1 << 5 // the future's lock is held
	observedBit uint32 = 1 << 6 // observed (see the contract)
	sharedBit   uint32 = 1 << 7 // immutable: resolvedUnit, see OnComplete
)

// spinsBeforeYield bounds the busy attempts of lock before it yields the
// processor between attempts.
const spinsBeforeYield = 16

// Future is the result of an operation that completes later: a value of type
// T or an error, settled exactly once, from any goroutine.
//
// Goroutine code waits with Await; loop code chains continuations with
// OnComplete or the package functions Then, Map, Catch and Compose, which run
// on the future's Executor (never inline in the resolver's stack). All methods
// are safe from any goroutine. The zero Future is not
// usable: futures come from NewPromise, Resolved, Failed, Go and the
// primitives of this package.
type Future[T any] struct {
	word  atomic.Uint32 // state, flags and lock; see the contract
	val   T
	err   error
	ex    Executor
	first func(T, error) // guarded by the lock
	x     *futureExt[T]  // guarded by the lock; nil until needed, never replaced
}

// futureExt holds the rarely used fields of a future.
type futureExt[T any] struct {
	track  *tracker // written before the settled state, with trackBit
	cancel func()   // set before the future is shared; see setCancel
	done   chan struct{}
	waiter Waiter           // the first awaiter's, when the executor lends one
	more   []func(T, error) // continuations after first; more[next:] pending
	next   int
}

// lock acquires the future's lock and returns the word as it is now, with
// lockBit set. The lock guards a few instructions and never user code, so
// waiting spins, yielding the processor after a few failed attempts.
func (f *Future[T]) lock() uint32 {
	for i := 0; ; i++ {
		w := f.word.Load()
		if w&lockBit == 0 && f.word.CompareAndSwap(w, w|lockBit) {
			return w | lockBit
		}
		if i >= spinsBeforeYield {
			runtime.Gosched()
		}
	}
}

// unlock stores w, the new word, and releases the lock. While the lock is
// held only the holder changes the word, except for the compare-and-swap
// that ends a run, which fails while lockBit is set.
func (f *Future[T]) unlock(w uint32) { f.word.Store(w &^ lockBit) }

// setCancel records the function Cancel calls. Only before the future is
// shared; one allocation (the rare fields) unless fn is nil.
func (f *Future[T]) setCancel(fn func()) {
	if fn == nil {
		return
	}
	w := f.lock()
	f.ext().cancel = fn
	f.unlock(w)
}

// cancelFunc returns the function Cancel calls, nil if none.
func (f *Future[T]) cancelFunc() func() {
	w := f.lock()
	var fn func()
	if f.x != nil {
		fn = f.x.cancel
	}
	f.unlock(w)
	return fn
}

// ext returns f.x, allocating it if needed. Caller holds the lock.
func (f *Future[T]) ext() *futureExt[T] {
	if f.x == nil {
		f.x = &futureExt[T]{}
	}
	return f.x
}

// morePending reports whether x.more holds continuations not taken yet.
// Caller holds the lock.
func (f *Future[T]) morePending() bool {
	return f.x != nil && f.x.next < len(f.x.more)
}

// complete settles f; see the contract at the top of the file.
func (f *Future[T]) complete(v T, err error) bool {
	w := f.lock()
	if w&stateMask != statePending {
		f.unlock(w)
		return false
	}
	var t *tracker
	if err != nil {
		w |= stateRejected
		if w&observedBit == 0 {
			t = &tracker{err: err}
			f.ext().track = t
			w |= trackBit
		}
	} else {
		f.val = v
		w |= stateResolved
	}
	f.err = err
	sched := w&pendBit != 0 && w&schedBit == 0
	if sched {
		w |= schedBit
	}
	var done chan struct{}
	var wake Waiter
	if f.x != nil {
		done, wake = f.x.done, f.x.waiter
		f.x.waiter = nil
	}
	f.unlock(w)
	if done != nil {
		close(done) // after the settled state is stored: see Done
	}
	if wake != nil {
		wake.Wake() // likewise; see awaitWith
	}
	if t != nil {
		runtime.AddCleanup(f, reportTracked, t)
	}
	if sched {
		execute(f.ex, (*runner[T])(f))
	}
	return true
}

// runner gives Future a Run method without exporting one.
type runner[T any] Future[T]

// Run runs the pending continuations of the future one at a time, in order.
//
// A panicking continuation is recovered by the one deferred call of the run,
// which reports it and schedules a new run for the continuations after it
// (schedBit is still set: a continuation is called with it set), so that one
// recovery serves the whole run instead of one per continuation.
func (r *runner[T]) Run() {
	f := (*Future[T])(r)
	defer r.recoverRun()
	for {
		w := f.lock()
		var fn func(T, error)
		fn, w = f.take(w)
		if fn == nil {
			f.unlock(w &^ schedBit)
			return
		}
		f.unlock(w)
		fn(f.val, f.err)
		w &^= lockBit
		if w&pendBit == 0 && f.word.CompareAndSwap(w, w&^schedBit) {
			return
		}
	}
}

// take removes and returns the oldest pending continuation, nil if none,
// and the word w updated (pendBit). Caller holds the lock.
func (f *Future[T]) take(w uint32) (func(T, error), uint32) {
	if fn := f.first; fn != nil {
		f.first = nil
		if !f.morePending() {
			w &^= pendBit
		}
		return fn, w
	}
	if !f.morePending() {
		return nil, w
	}
	x := f.x
	fn := x.more[x.next]
	x.more[x.next] = nil
	x.next++
	if x.next == len(x.more) {
		w &^= pendBit
	}
	return fn, w
}

// recoverRun is Run's deferred call: see Run.
func (r *runner[T]) recoverRun() {
	if v := recover(); v != nil {
		reportUnhandled(&PanicError{Value: v, Stack: debug.Stack()})
		execute((*Future[T])(r).ex, r)
	}
}

func callContinuation[T any](fn func(T, error), v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			reportUnhandled(&PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	fn(v, err)
}

// OnComplete registers fn to run with the future's value and error once it
// settles (immediately scheduled if it already has). fn runs on the future's
// executor, never inside this call nor inside Resolve/Reject; the
// continuations of one future run one at a time in registration order. A
// panic in fn is recovered and reported to the unhandled-error handler as a
// *PanicError; later continuations still run. Registering counts as observing
// a failure. Costs a lock; no allocation for the first continuation of a run,
// amortised slice growth for further ones.
//
// Exception: the already-resolved future that Semaphore.Acquire, Event.Wait,
// Queue.Put and Queue.Join return on their fast path when the context carries
// no executor is shared by all such callers; on it each continuation runs on
// its own new goroutine, so two continuations registered on it are not
// ordered. Give the context an executor (WithExecutor), or chain on the
// future returned by Then/Map, when order matters.
//
// Safe from any goroutine.
func (f *Future[T]) OnComplete(fn func(v T, err error)) {
	if f.word.Load()&sharedBit != 0 {
		go callContinuation(fn, f.val, f.err)
		return
	}
	w := f.lock() | observedBit | pendBit
	if f.first == nil && !f.morePending() {
		if x := f.x; x != nil && len(x.more) > 0 {
			x.more, x.next = x.more[:0], 0 // every slot was nilled when taken
		}
		f.first = fn
	} else {
		x := f.ext()
		x.more = append(x.more, fn)
	}
	sched := w&stateMask != statePending && w&schedBit == 0
	if sched {
		w |= schedBit
	}
	f.unlock(w)
	f.markObserved()
	if sched {
		execute(f.ex, (*runner[T])(f))
	}
}

// markObserved marks a settled failure as handled.
func (f *Future[T]) markObserved() {
	if f.word.Load()&trackBit != 0 {
		f.x.track.observed.Store(true)
	}
}

// Result peeks at the future without waiting: ok is false while it is
// pending, else v and err are its result. A Result that returns an error
// counts as observing the failure. No lock, no allocation. Safe from any
// goroutine.
func (f *Future[T]) Result() (v T, err error, ok bool) {
	if f.word.Load()&stateMask == statePending {
		return v, nil, false
	}
	f.markObserved()
	return f.val, f.err, true
}

// Cancel asks the work behind the future to stop: for a future from Go it
// cancels the context given to the work (a task still queued is then not run
// and fails with context.Canceled); for the futures of Then, Map, Catch,
// Compose and WithTimeout it cancels their input; for All, Any and Race it
// cancels every input. Cancel does not settle the future by itself: the
// future settles with whatever the cancelled work reports. On a future from
// NewPromise, Resolved or Failed it does nothing. Costs the future's lock
// once. Idempotent. Safe from any goroutine.
func (f *Future[T]) Cancel() {
	if fn := f.cancelFunc(); fn != nil {
		fn()
	}
}

// Executor returns the executor the future's continuations run on, nil
// meaning the goroutine executor (a new goroutine per run). No allocation.
// Safe from any goroutine.
func (f *Future[T]) Executor() Executor { return f.ex }
