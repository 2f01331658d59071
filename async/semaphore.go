package async

import (
	"context"
	"sync"
)

// Semaphore is a weighted semaphore with FIFO fairness: a request that cannot
// be satisfied waits, and no later request is granted before it, even a
// smaller one that would fit (no barging, so large requests do not starve).
// Its bound is its size, fixed at creation; the number of waiting requests is
// bounded only by the callers. All methods are safe from any goroutine and
// none blocks.
type Semaphore struct {
	mu      sync.Mutex
	size    int64
	cur     int64
	waiters wlist[struct{}, struct{}]
}

// NewSemaphore returns a semaphore of size permits (at least 1). One
// allocation. Safe from any goroutine.
func NewSemaphore(size int64) *Semaphore {
	if size < 1 {
		size = 1
	}
	return &Semaphore{size: size}
}

// Acquire requests n permits and returns a future resolved once they are held.
// If they are free and nobody waits, the future is already resolved (shared
// and allocation-free when ctx carries no executor). Otherwise the request
// waits in FIFO order; if ctx ends first, the request is withdrawn, no permits
// are held, and the future fails with ctx.Err(). Once the future has resolved
// the permits are the caller's and must be given back with Release, even if
// the caller stopped awaiting. n <= 0 resolves at once; n above the size fails
// with ErrTooLarge. Continuations run on ExecutorFrom(ctx). Safe from any
// goroutine.
func (s *Semaphore) Acquire(ctx context.Context, n int64) *Future[struct{}] {
	if n <= 0 {
		return resolvedOn(ExecutorFrom(ctx))
	}
	if n > s.size {
		return failedOn[struct{}](ExecutorFrom(ctx), ErrTooLarge)
	}
	s.mu.Lock()
	if s.waiters.len == 0 && s.size-s.cur >= n {
		s.cur += n
		s.mu.Unlock()
		return resolvedOn(ExecutorFrom(ctx))
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return failedOn[struct{}](ExecutorFrom(ctx), err)
	}
	w := newWaiter[struct{}, struct{}](ctx)
	w.n = n
	s.waiters.push(w)
	w.watch(ctx, func() {
		s.mu.Lock()
		if !w.queued {
			s.mu.Unlock()
			return
		}
		wasHead := s.waiters.head == w
		s.waiters.remove(w)
		var granted *waiter[struct{}, struct{}]
		if wasHead {
			// The withdrawn head may have been blocking smaller requests.
			granted = s.grantLocked()
		}
		s.mu.Unlock()
		w.f.complete(struct{}{}, ctx.Err())
		settleChain(granted)
	})
	s.mu.Unlock()
	return &w.f
}

// TryAcquire takes n permits if they are free and nobody waits, and reports
// whether it did. No allocation. Safe from any goroutine.
func (s *Semaphore) TryAcquire(n int64) bool {
	s.mu.Lock()
	ok := s.waiters.len == 0 && s.size-s.cur >= n
	if ok {
		s.cur += n
	}
	s.mu.Unlock()
	return ok
}

// Release gives back n permits and grants waiting requests in FIFO order. It
// panics if more permits are released than are held, which is a bug in the
// caller. Costs a lock; no allocation. Safe from any goroutine.
func (s *Semaphore) Release(n int64) {
	s.mu.Lock()
	s.cur -= n
	if s.cur < 0 {
		s.mu.Unlock()
		panic("async: semaphore released more permits than held")
	}
	granted := s.grantLocked()
	s.mu.Unlock()
	settleChain(granted)
}

// grantLocked removes the waiters that now fit, in order, and returns them
// chained through next, to be settled after unlocking.
func (s *Semaphore) grantLocked() *waiter[struct{}, struct{}] {
	var head, tail *waiter[struct{}, struct{}]
	for w := s.waiters.head; w != nil && s.size-s.cur >= w.n; w = s.waiters.head {
		s.cur += w.n
		s.waiters.remove(w)
		if tail == nil {
			head = w
		} else {
			tail.next = w
		}
		tail = w
	}
	return head
}

func settleChain[V any](w *waiter[struct{}, V]) {
	for w != nil {
		next := w.next
		w.next = nil
		w.settle(struct{}{}, nil)
		w = next
	}
}

// Available returns the number of permits not held. Costs a lock. Safe from
// any goroutine.
func (s *Semaphore) Available() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size - s.cur
}

// Waiting returns the number of requests waiting. Costs a lock. Safe from any
// goroutine.
func (s *Semaphore) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiters.len
}
