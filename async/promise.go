package async

// Promise is the write side of a Future: whoever holds it settles the future
// once with Resolve, Reject or Complete. The first settling call wins and
// later ones report false. All methods are safe from any goroutine.
type Promise[T any] struct {
	f Future[T]
}

// NewPromise returns a pending promise whose future runs its continuations on
// ex. A nil ex is the goroutine executor: each run of continuations starts on
// a new goroutine, wherever NewPromise was called. In particular a promise
// made with nil inside a loop callback does not continue on that loop; to
// continue on a loop, pass the loop (an ioloop Loop is an Executor), or
// ExecutorFrom(ctx) with a context that carries it (Loop.Context). Costs one
// allocation. Safe from any goroutine.
func NewPromise[T any](ex Executor) *Promise[T] {
	p := &Promise[T]{}
	p.f.ex = ex
	return p
}

// newFuture returns a pending future on ex (one allocation).
func newFuture[T any](ex Executor) *Future[T] {
	return &NewPromise[T](ex).f
}

// Future returns the read side of p. It costs nothing and always returns the
// same pointer. Safe from any goroutine.
func (p *Promise[T]) Future() *Future[T] { return &p.f }

// Resolve settles the future with v. It reports whether this call settled
// it; false means the future was already settled and nothing changed.
// Continuations are scheduled on the executor, not run in this call. Costs a
// lock and, with continuations, one Execute; no allocation. Safe from any
// goroutine.
func (p *Promise[T]) Resolve(v T) bool { return p.f.complete(v, nil) }

// Reject settles the future with err (ErrNilError if err is nil). It reports
// whether this call settled it. A rejection nobody observes is reported to
// the unhandled-error handler when the future is collected; see
// SetUnhandledErrorHandler. Costs as Resolve, plus the cleanup that tracks
// an unobserved failure. Safe from any goroutine.
func (p *Promise[T]) Reject(err error) bool {
	if err == nil {
		err = ErrNilError
	}
	var zero T
	return p.f.complete(zero, err)
}

// Complete settles the future with v when err is nil, else with err. It
// reports whether this call settled it. Costs as Resolve or Reject. Safe
// from any goroutine.
func (p *Promise[T]) Complete(v T, err error) bool { return p.f.complete(v, err) }

// Resolved returns a future already resolved with v, on the goroutine
// executor (its continuations run on new goroutines, as for NewPromise(nil)).
// Costs one allocation. Safe from any goroutine.
func Resolved[T any](v T) *Future[T] {
	f := newFuture[T](nil)
	f.complete(v, nil)
	return f
}

// Failed returns a future already rejected with err (ErrNilError if nil), on
// the goroutine executor, as Resolved. If nothing ever observes it, it is
// reported to the unhandled-error handler when collected. Costs one
// allocation, and the cleanup that tracks an unobserved failure. Safe from
// any goroutine.
func Failed[T any](err error) *Future[T] {
	return failedOn[T](nil, err)
}

func failedOn[T any](ex Executor, err error) *Future[T] {
	if err == nil {
		err = ErrNilError
	}
	f := newFuture[T](ex)
	var zero T
	f.complete(zero, err)
	return f
}

// resolvedUnit is a shared settled future for the fast paths of the
// primitives when the caller's context carries no executor: returning it costs
// no allocation.
var resolvedUnit = func() *Future[struct{}] {
	f := Resolved(struct{}{})
	f.word.Or(sharedBit) // before the future is shared
	return f
}()

// resolvedOn returns a resolved unit future on ex, shared when ex is nil.
func resolvedOn(ex Executor) *Future[struct{}] {
	if ex == nil {
		return resolvedUnit
	}
	f := newFuture[struct{}](ex)
	f.complete(struct{}{}, nil)
	return f
}
