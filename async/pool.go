package async

import (
	"context"
	"runtime"
	"sync"

	"github.com/ioloop/ioloop/internal/onloop"
)

// Pool is a bounded worker pool for blocking work: a fixed number of worker
// goroutines take tasks from a queue of fixed capacity. Submitting never
// blocks: when the queue is full the task is refused and its future fails at
// once with ErrPoolFull (loop code must never wait for a slot; goroutine code
// that wants to wait can retry or bound its own concurrency with a
// Semaphore). A panic inside a task fails that task's future with a
// *PanicError and the worker goes on. All methods are safe from any
// goroutine; only Close blocks (see ErrOnLoop).
type Pool struct {
	mu      sync.RWMutex // write-held only by Close; guards closed and the send on tasks
	closed  bool
	noClose bool
	tasks   chan Task
	wg      sync.WaitGroup
	workers int
}

// NewPool starts workers goroutines (at least 1) serving a queue of queue
// tasks (at least 0; with 0 a task is accepted only when a worker is idle and
// waiting). The workers live until Close. Safe from any goroutine.
func NewPool(workers, queue int) *Pool {
	if workers < 1 {
		workers = 1
	}
	if queue < 0 {
		queue = 0
	}
	p := &Pool{tasks: make(chan Task, queue), workers: workers}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for t := range p.tasks {
		t.Run()
	}
}

// Workers returns the number of worker goroutines. No lock. Safe from any
// goroutine.
func (p *Pool) Workers() int { return p.workers }

// Queued returns the number of tasks accepted and not yet taken by a worker.
// No lock. Safe from any goroutine.
func (p *Pool) Queued() int { return len(p.tasks) }

// submit queues t, or reports ErrPoolFull or ErrClosed.
func (p *Pool) submit(t Task) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	select {
	case p.tasks <- t:
		return nil
	default:
		return ErrPoolFull
	}
}

// Close stops accepting tasks (later submissions fail with ErrClosed), lets
// the workers run every task already queued, and returns nil once they have
// all exited. Calling it again waits the same way and returns nil. Close on
// the DefaultPool does nothing and returns nil. Called on an event loop's
// goroutine it does nothing and returns ErrOnLoop at once (waiting there
// could wait for tasks that need the loop); do not call it from a task of the
// same pool either (it would wait for itself). Safe from any goroutine.
func (p *Pool) Close() error {
	if p.noClose {
		return nil
	}
	if onloop.Current() {
		return ErrOnLoop
	}
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.tasks)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

var (
	defaultPoolOnce sync.Once
	defaultPool     *Pool
)

// DefaultPool returns the package's shared pool, started on first use with
// 4×GOMAXPROCS workers (at least 4) and a queue of 256 tasks per worker. It is
// meant for short blocking calls of other packages (the HTTP adapter uses it);
// it is never closed. Safe from any goroutine.
func DefaultPool() *Pool {
	defaultPoolOnce.Do(func() {
		w := 4 * runtime.GOMAXPROCS(0)
		if w < 4 {
			w = 4
		}
		defaultPool = NewPool(w, 256*w)
		defaultPool.noClose = true
	})
	return defaultPool
}

// goTask is one Go call: the future first, so the cleanup that reports an
// unobserved failure tracks the whole object.
type goTask[T any] struct {
	f      Future[T]
	ctx    context.Context
	cancel context.CancelFunc
	fn     func(context.Context) (T, error)
}

func (t *goTask[T]) Run() {
	defer t.cancel()
	if err := t.ctx.Err(); err != nil {
		var zero T
		t.f.complete(zero, err)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			var zero T
			t.f.complete(zero, recovered(r))
		}
	}()
	t.f.complete(t.fn(t.ctx))
}

// Go runs fn(ctx') on pool (DefaultPool when nil) and returns a future of its
// result. ctx' is derived from ctx and is cancelled by Future.Cancel, by
// combinators that give up on the future (WithTimeout, All, Any, Race), or
// when ctx ends: ctx cancels the work. A task whose context has ended before
// a worker takes it does not run and fails with the context's error. The
// future's continuations run on ExecutorFrom(ctx) (so work offloaded from a
// loop callback continues on that loop). If the pool is full or closed the
// future fails at once with ErrPoolFull or ErrClosed. A panic in fn fails the
// future with a *PanicError. Costs the future's task object, the record of
// its cancel function and a context.WithCancel. Never blocks. Safe from any
// goroutine.
func Go[T any](ctx context.Context, pool *Pool, fn func(context.Context) (T, error)) *Future[T] {
	if pool == nil {
		pool = DefaultPool()
	}
	t := &goTask[T]{fn: fn}
	t.f.ex = ExecutorFrom(ctx)
	t.ctx, t.cancel = context.WithCancel(ctx)
	t.f.setCancel(t.cancel)
	if err := pool.submit(t); err != nil {
		t.cancel()
		var zero T
		t.f.complete(zero, err)
	}
	return &t.f
}

// Submit runs fn on the pool and returns a future resolved with fn's error
// when it returns. Full and closed pools and panics behave as for Go; there is
// no context: Cancel on the future only keeps a still-queued fn from running
// (its future then fails with context.Canceled). Never blocks. Safe from any
// goroutine.
func (p *Pool) Submit(fn func() error) *Future[struct{}] {
	return Go(context.Background(), p, func(context.Context) (struct{}, error) {
		return struct{}{}, fn()
	})
}
