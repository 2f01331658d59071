package async

import (
	"context"
	"sync"
)

// Order is the order in which a Queue hands out its items.
type Order uint8

const (
	// FIFO hands out the oldest item first.
	FIFO Order = iota
	// LIFO hands out the newest item first.
	LIFO
	// Priority hands out the least item first, by the queue's less function;
	// equal items come out in no particular order.
	Priority
)

// DefaultQueueCapacity is the capacity of a Queue created with a capacity of
// zero or less.
const DefaultQueueCapacity = 1024

// Queue is a bounded queue of items in FIFO, LIFO or priority order, usable
// from goroutines (await the futures) and from loop callbacks (chain them).
//
// Bounds: it holds at most its capacity (DefaultQueueCapacity unless given).
// At the limit, Put returns a pending future that resolves when its item has
// been admitted (putters are admitted in FIFO order as items are taken) and
// TryPut fails with ErrQueueFull. Storage grows by doubling up to the
// capacity, so a large capacity costs nothing until used.
//
// Shutdown: later puts fail with ErrClosed and waiting putters fail with
// ErrClosed (their items were never admitted). Items already admitted are
// still handed out; once the queue is empty every waiting and later Get fails
// with ErrClosed. Nothing admitted before Shutdown is lost.
//
// Tasks: every admitted item counts as unfinished until a TaskDone call;
// Join's future resolves when none is unfinished.
//
// All methods are safe from any goroutine and none blocks.
type Queue[T any] struct {
	mu         sync.Mutex
	order      Order
	less       func(a, b T) bool
	capacity   int
	buf        []T
	head       int // FIFO only: index of the oldest item
	count      int
	unfinished int
	closed     bool
	getters    wlist[T, struct{}]
	putters    wlist[struct{}, T]
	joiners    wlist[struct{}, struct{}]
}

// NewQueue returns an empty FIFO queue holding at most capacity items
// (DefaultQueueCapacity if capacity <= 0). Safe from any goroutine.
func NewQueue[T any](capacity int) *Queue[T] { return newQueue[T](capacity, FIFO, nil) }

// NewLIFOQueue returns an empty LIFO (stack) queue holding at most capacity
// items (DefaultQueueCapacity if capacity <= 0). Safe from any goroutine.
func NewLIFOQueue[T any](capacity int) *Queue[T] { return newQueue[T](capacity, LIFO, nil) }

// NewPriorityQueue returns an empty priority queue holding at most capacity
// items (DefaultQueueCapacity if capacity <= 0) that hands out the least item
// by less first. less is called with the queue's lock held and must not call
// the queue. Safe from any goroutine.
func NewPriorityQueue[T any](capacity int, less func(a, b T) bool) *Queue[T] {
	if less == nil {
		panic("async: NewPriorityQueue with a nil less function")
	}
	return newQueue(capacity, Priority, less)
}

func newQueue[T any](capacity int, order Order, less func(a, b T) bool) *Queue[T] {
	if capacity <= 0 {
		capacity = DefaultQueueCapacity
	}
	return &Queue[T]{order: order, less: less, capacity: capacity, buf: make([]T, min(capacity, 16))}
}

// Order returns the queue's order. No lock. Safe from any goroutine.
func (q *Queue[T]) Order() Order { return q.order }

// Cap returns the queue's capacity. No lock. Safe from any goroutine.
func (q *Queue[T]) Cap() int { return q.capacity }

// Len returns the number of items held. Costs a lock. Safe from any goroutine.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

func (q *Queue[T]) grow() {
	n := min(2*len(q.buf), q.capacity)
	nb := make([]T, n)
	if q.order == FIFO {
		k := copy(nb, q.buf[q.head:])
		copy(nb[k:], q.buf[:q.head])
		q.head = 0
	} else {
		copy(nb, q.buf[:q.count])
	}
	q.buf = nb
}

// pushLocked stores v; the caller checked count < capacity.
func (q *Queue[T]) pushLocked(v T) {
	if q.count == len(q.buf) {
		q.grow()
	}
	switch q.order {
	case FIFO:
		i := q.head + q.count
		if i >= len(q.buf) {
			i -= len(q.buf)
		}
		q.buf[i] = v
		q.count++
	case LIFO:
		q.buf[q.count] = v
		q.count++
	default:
		i := q.count
		q.buf[i] = v
		q.count++
		for i > 0 {
			p := (i - 1) / 2
			if !q.less(q.buf[i], q.buf[p]) {
				break
			}
			q.buf[i], q.buf[p] = q.buf[p], q.buf[i]
			i = p
		}
	}
	q.unfinished++
}

// popLocked removes the next item; the caller checked count > 0.
func (q *Queue[T]) popLocked() T {
	var zero T
	var v T
	switch q.order {
	case FIFO:
		v = q.buf[q.head]
		q.buf[q.head] = zero
		q.head++
		if q.head == len(q.buf) {
			q.head = 0
		}
		q.count--
	case LIFO:
		q.count--
		v = q.buf[q.count]
		q.buf[q.count] = zero
	default:
		v = q.buf[0]
		q.count--
		q.buf[0] = q.buf[q.count]
		q.buf[q.count] = zero
		n, i := q.count, 0
		for {
			l := 2*i + 1
			if l >= n {
				break
			}
			m := l
			if r := l + 1; r < n && q.less(q.buf[r], q.buf[l]) {
				m = r
			}
			if !q.less(q.buf[m], q.buf[i]) {
				break
			}
			q.buf[i], q.buf[m] = q.buf[m], q.buf[i]
			i = m
		}
	}
	return v
}

// takeLocked pops the next item and admits the first waiting putter, which
// the caller settles after unlocking.
func (q *Queue[T]) takeLocked() (T, *waiter[struct{}, T]) {
	v := q.popLocked()
	p := q.putters.popFront()
	if p != nil {
		q.pushLocked(p.val)
		var zero T
		p.val = zero
	}
	return v, p
}

// Put adds v and returns a future resolved once v is admitted: at once if
// there is room (shared and allocation-free when ctx carries no executor),
// else when a Get makes room, in FIFO order among waiting putters. If ctx ends
// first, v is not admitted and the future fails with ctx.Err(); if the queue
// is or becomes shut down before admission, it fails with ErrClosed.
// Continuations run on ExecutorFrom(ctx). Safe from any goroutine.
func (q *Queue[T]) Put(ctx context.Context, v T) *Future[struct{}] {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return failedOn[struct{}](ExecutorFrom(ctx), ErrClosed)
	}
	if g := q.getters.popFront(); g != nil {
		q.unfinished++
		q.mu.Unlock()
		g.settle(v, nil)
		return resolvedOn(ExecutorFrom(ctx))
	}
	if q.count < q.capacity {
		q.pushLocked(v)
		q.mu.Unlock()
		return resolvedOn(ExecutorFrom(ctx))
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return failedOn[struct{}](ExecutorFrom(ctx), err)
	}
	w := newWaiter[struct{}, T](ctx)
	w.val = v
	q.putters.push(w)
	w.watch(ctx, func() {
		q.mu.Lock()
		queued := w.queued
		q.putters.remove(w)
		var zero T
		w.val = zero
		q.mu.Unlock()
		if queued {
			w.f.complete(struct{}{}, ctx.Err())
		}
	})
	q.mu.Unlock()
	return &w.f
}

// TryPut adds v if there is room now. It returns nil, ErrQueueFull or
// ErrClosed. No allocation (beyond storage growth). Safe from any goroutine.
func (q *Queue[T]) TryPut(v T) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if g := q.getters.popFront(); g != nil {
		q.unfinished++
		q.mu.Unlock()
		g.settle(v, nil)
		return nil
	}
	if q.count < q.capacity {
		q.pushLocked(v)
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	return ErrQueueFull
}

// Get returns a future of the next item: resolved at once if one is held (one
// allocation), else when a Put supplies one, in FIFO order among waiting
// getters. If ctx ends first the get is withdrawn (no item is taken) and the
// future fails with ctx.Err(); on a shut-down, empty queue it fails with
// ErrClosed. Continuations run on ExecutorFrom(ctx). Safe from any goroutine.
func (q *Queue[T]) Get(ctx context.Context) *Future[T] {
	q.mu.Lock()
	if q.count > 0 {
		v, p := q.takeLocked()
		q.mu.Unlock()
		if p != nil {
			p.settle(struct{}{}, nil)
		}
		f := newFuture[T](ExecutorFrom(ctx))
		f.complete(v, nil)
		return f
	}
	if q.closed {
		q.mu.Unlock()
		return failedOn[T](ExecutorFrom(ctx), ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return failedOn[T](ExecutorFrom(ctx), err)
	}
	w := newWaiter[T, struct{}](ctx)
	q.getters.push(w)
	w.watch(ctx, func() {
		q.mu.Lock()
		queued := w.queued
		q.getters.remove(w)
		q.mu.Unlock()
		if queued {
			var zero T
			w.f.complete(zero, ctx.Err())
		}
	})
	q.mu.Unlock()
	return &w.f
}

// TryGet takes the next item if one is held. It returns the item and nil, or
// ErrQueueEmpty, or ErrClosed once the queue is shut down and empty. No
// allocation. Safe from any goroutine.
func (q *Queue[T]) TryGet() (T, error) {
	q.mu.Lock()
	if q.count > 0 {
		v, p := q.takeLocked()
		q.mu.Unlock()
		if p != nil {
			p.settle(struct{}{}, nil)
		}
		return v, nil
	}
	closed := q.closed
	q.mu.Unlock()
	var zero T
	if closed {
		return zero, ErrClosed
	}
	return zero, ErrQueueEmpty
}

// TaskDone marks one admitted item as finished. It returns ErrTaskDone, and
// changes nothing, if no item is unfinished. Costs a lock. Safe from any
// goroutine.
func (q *Queue[T]) TaskDone() error {
	q.mu.Lock()
	if q.unfinished == 0 {
		q.mu.Unlock()
		return ErrTaskDone
	}
	q.unfinished--
	var head, tail *waiter[struct{}, struct{}]
	if q.unfinished == 0 {
		for w := q.joiners.popFront(); w != nil; w = q.joiners.popFront() {
			if tail == nil {
				head = w
			} else {
				tail.next = w
			}
			tail = w
		}
	}
	q.mu.Unlock()
	settleChain(head)
	return nil
}

// Join returns a future resolved when every admitted item has been marked with
// TaskDone (at once if none is unfinished). If ctx ends first it fails with
// ctx.Err(). Shutdown does not resolve it. Continuations run on
// ExecutorFrom(ctx). Safe from any goroutine.
func (q *Queue[T]) Join(ctx context.Context) *Future[struct{}] {
	q.mu.Lock()
	if q.unfinished == 0 {
		q.mu.Unlock()
		return resolvedOn(ExecutorFrom(ctx))
	}
	w := newWaiter[struct{}, struct{}](ctx)
	q.joiners.push(w)
	w.watch(ctx, func() {
		q.mu.Lock()
		queued := w.queued
		q.joiners.remove(w)
		q.mu.Unlock()
		if queued {
			w.f.complete(struct{}{}, ctx.Err())
		}
	})
	q.mu.Unlock()
	return &w.f
}

// Shutdown closes the queue for puts; see the type's documentation. Waiting
// putters fail with ErrClosed, and so do waiting getters (they wait only when
// the queue is empty). Calling it again does nothing. Safe from any goroutine.
func (q *Queue[T]) Shutdown() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	var ps []*waiter[struct{}, T]
	for w := q.putters.popFront(); w != nil; w = q.putters.popFront() {
		var zero T
		w.val = zero
		ps = append(ps, w)
	}
	var gs []*waiter[T, struct{}]
	for w := q.getters.popFront(); w != nil; w = q.getters.popFront() {
		gs = append(gs, w)
	}
	q.mu.Unlock()
	for _, w := range ps {
		w.settle(struct{}{}, ErrClosed)
	}
	for _, w := range gs {
		var zero T
		w.settle(zero, ErrClosed)
	}
}
