package async

import (
	"context"
	"iter"
	"sync"

	"github.com/ioloop/ioloop/internal/onloop"
)

// DefaultTaskGroupLimit is the concurrency limit of a TaskGroup, MapOrdered and
// MapUnordered given a limit of zero or less.
const DefaultTaskGroupLimit = 64

// TaskGroup runs tasks on their own goroutines with a concurrency limit; the
// first task to fail cancels the group's context (so the others can stop) and
// keeps queued tasks from starting; Wait resolves when every task is done.
//
// Bounds: at most the limit (DefaultTaskGroupLimit unless given) tasks run at
// a time. Go never blocks: a task beyond the limit waits in a FIFO list,
// without a goroutine, until a running one finishes. All methods are safe
// from any goroutine and none blocks.
type TaskGroup struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	ex     Executor
	limit  int

	mu       sync.Mutex
	running  int
	queue    []*groupTask
	err      error
	finished bool
	waiters  []*Future[struct{}]
}

type groupTask struct {
	f  Future[struct{}]
	fn func(context.Context) error
}

// NewTaskGroup returns a group whose context derives from ctx and whose
// futures continue on ExecutorFrom(ctx), running at most limit tasks at a time
// (DefaultTaskGroupLimit if limit <= 0). Costs the group and a
// context.WithCancelCause. Safe from any goroutine.
func NewTaskGroup(ctx context.Context, limit int) *TaskGroup {
	if limit <= 0 {
		limit = DefaultTaskGroupLimit
	}
	gctx, cancel := context.WithCancelCause(ctx)
	return &TaskGroup{ctx: gctx, cancel: cancel, ex: ExecutorFrom(ctx), limit: limit}
}

// Context returns the context given to every task. It is cancelled, with the
// first task error as its cause, when a task fails, and when Wait resolves. No
// allocation. Safe from any goroutine.
func (g *TaskGroup) Context() context.Context { return g.ctx }

// Go schedules fn and returns a future of its error. fn starts on a new
// goroutine at once if fewer than the limit run, else when a slot frees, in
// FIFO order. If the group has already failed, fn never starts and its future
// fails with the group's first error; after Wait has resolved it fails with
// ErrClosed. A panic in fn fails its future and the group with a *PanicError.
// Never blocks. Costs the task (its future) and, when it starts, a goroutine.
// Safe from any goroutine.
func (g *TaskGroup) Go(fn func(ctx context.Context) error) *Future[struct{}] {
	t := &groupTask{fn: fn}
	t.f.ex = g.ex
	g.mu.Lock()
	switch {
	case g.finished:
		g.mu.Unlock()
		t.f.complete(struct{}{}, ErrClosed)
		return &t.f
	case g.err != nil:
		err := g.err
		g.mu.Unlock()
		t.f.complete(struct{}{}, err)
		return &t.f
	case g.running < g.limit:
		g.running++
		g.mu.Unlock()
		go g.run(t)
	default:
		g.queue = append(g.queue, t)
		g.mu.Unlock()
	}
	return &t.f
}

func (g *TaskGroup) run(t *groupTask) {
	for t != nil {
		err := g.call(t.fn)
		var failed []*groupTask
		var waiters []*Future[struct{}]
		var gerr error
		g.mu.Lock()
		if err != nil && g.err == nil {
			g.err = err
			g.cancel(err)
			failed, g.queue = g.queue, nil
		}
		gerr = g.err
		var next *groupTask
		if len(g.queue) > 0 {
			next = g.queue[0]
			g.queue[0] = nil
			g.queue = g.queue[1:]
		} else {
			g.running--
			if g.running == 0 {
				waiters, g.waiters = g.waiters, nil
				if waiters != nil {
					g.finished = true
				}
			}
		}
		g.mu.Unlock()
		t.f.complete(struct{}{}, err)
		for _, q := range failed {
			q.f.complete(struct{}{}, gerr)
		}
		if waiters != nil {
			g.cancel(nil)
			for _, w := range waiters {
				w.complete(struct{}{}, gerr)
			}
		}
		t = next
	}
}

func (g *TaskGroup) call(fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(r)
		}
	}()
	return fn(g.ctx)
}

// Wait returns a future resolved, with the group's first error or nil, once no
// task runs or waits to start (at once if none does). When it resolves the
// group is finished: its context is cancelled and later Go calls fail with
// ErrClosed. Safe from any goroutine.
func (g *TaskGroup) Wait() *Future[struct{}] {
	f := newFuture[struct{}](g.ex)
	g.mu.Lock()
	if g.running == 0 && len(g.queue) == 0 {
		g.finished = true
		err := g.err
		g.mu.Unlock()
		g.cancel(nil)
		f.complete(struct{}{}, err)
		return f
	}
	g.waiters = append(g.waiters, f)
	g.mu.Unlock()
	return f
}

// MapOrdered returns an iterator that applies fn to the items of in, running
// at most limit calls at a time (DefaultTaskGroupLimit if limit <= 0) on their
// own goroutines, and yields the results in the order of in. At most limit
// items are in flight or buffered at once, so memory stays bounded however
// long in is. The first error (in input order) is yielded as (zero, err) and
// ends the iteration: the context given to the calls still running is
// cancelled and the iterator waits for them before returning, as it does
// when the consumer stops early. A panic in fn becomes a *PanicError. in is
// read from the consumer's goroutine. The iterator blocks, so it is meant for
// goroutine code: on an event loop's goroutine it yields (zero, ErrOnLoop)
// once, without reading in or calling fn. Safe from any goroutine.
func MapOrdered[T, R any](ctx context.Context, in iter.Seq[T], limit int, fn func(context.Context, T) (R, error)) iter.Seq2[R, error] {
	if limit <= 0 {
		limit = DefaultTaskGroupLimit
	}
	return func(yield func(R, error) bool) {
		if onloop.Current() {
			var zero R
			yield(zero, ErrOnLoop)
			return
		}
		next, stop := iter.Pull(in)
		defer stop()
		mctx, cancel := context.WithCancel(ctx)
		defer cancel()
		window := make([]*Future[R], 0, limit)
		start := func(v T) *Future[R] {
			f := newFuture[R](nil)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						var zero R
						f.complete(zero, recovered(r))
					}
				}()
				f.complete(fn(mctx, v))
			}()
			return f
		}
		drain := func() {
			cancel()
			for _, f := range window {
				_, _ = f.Await(nil)
			}
		}
		more := true
		for {
			for more && len(window) < limit {
				v, ok := next()
				if !ok {
					more = false
					break
				}
				window = append(window, start(v))
			}
			if len(window) == 0 {
				return
			}
			r, err := window[0].Await(nil)
			window[0] = nil
			window = window[1:]
			if err != nil {
				drain()
				var zero R
				yield(zero, err)
				return
			}
			if !yield(r, nil) {
				drain()
				return
			}
		}
	}
}

// MapUnordered is MapOrdered yielding each result as soon as its call
// returns, in completion order; the first error in time ends the iteration.
// At most limit calls run at a time and at most limit results are buffered.
// Like MapOrdered, it yields (zero, ErrOnLoop) at once on an event loop's
// goroutine. Safe from any goroutine.
func MapUnordered[T, R any](ctx context.Context, in iter.Seq[T], limit int, fn func(context.Context, T) (R, error)) iter.Seq2[R, error] {
	if limit <= 0 {
		limit = DefaultTaskGroupLimit
	}
	return func(yield func(R, error) bool) {
		if onloop.Current() {
			var zero R
			yield(zero, ErrOnLoop)
			return
		}
		next, stop := iter.Pull(in)
		defer stop()
		mctx, cancel := context.WithCancel(ctx)
		defer cancel()
		results := make(chan Settled[R], limit)
		inflight := 0
		drain := func() {
			cancel()
			for ; inflight > 0; inflight-- {
				<-results
			}
		}
		more := true
		for {
			for more && inflight < limit {
				v, ok := next()
				if !ok {
					more = false
					break
				}
				inflight++
				go func() {
					var res Settled[R]
					defer func() {
						if r := recover(); r != nil {
							res = Settled[R]{Err: recovered(r)}
						}
						results <- res
					}()
					res.Value, res.Err = fn(mctx, v)
				}()
			}
			if inflight == 0 {
				return
			}
			res := <-results
			inflight--
			if res.Err != nil {
				drain()
				var zero R
				yield(zero, res.Err)
				return
			}
			if !yield(res.Value, nil) {
				drain()
				return
			}
		}
	}
}
