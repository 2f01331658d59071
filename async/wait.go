package async

import "context"

// waiter is a parked request of a primitive (semaphore acquire, queue get or
// put, event wait, batcher add): its future (first field, see the contract in
// future.go), the request's payload, and its links in the owner's FIFO list.
// Fields other than f are guarded by the owner's mutex.
type waiter[R, V any] struct {
	f      Future[R]
	val    V     // payload: the item of a queue put
	n      int64 // weight: semaphore permits, batcher bytes
	prev   *waiter[R, V]
	next   *waiter[R, V]
	queued bool
	stop   func() bool // stops the context.AfterFunc, if any
}

// wlist is an intrusive FIFO of waiters. Not safe for concurrent use: the
// owner's mutex guards it.
type wlist[R, V any] struct {
	head, tail *waiter[R, V]
	len        int
}

func (l *wlist[R, V]) push(w *waiter[R, V]) {
	w.queued = true
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.len++
}

func (l *wlist[R, V]) remove(w *waiter[R, V]) {
	if !w.queued {
		return
	}
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	l.len--
}

// popFront removes and returns the first waiter, or nil.
func (l *wlist[R, V]) popFront() *waiter[R, V] {
	w := l.head
	if w != nil {
		l.remove(w)
	}
	return w
}

// newWaiter returns a waiter whose future runs on the executor of ctx.
func newWaiter[R, V any](ctx context.Context) *waiter[R, V] {
	w := &waiter[R, V]{}
	w.f.ex = ExecutorFrom(ctx)
	return w
}

// watch arranges for onDone to run when ctx ends. Call it with the owner's
// lock held, after queueing w (so that stop is written under the lock);
// onDone runs on its own goroutine, takes the lock and checks w.queued. No
// allocation when ctx can never end.
func (w *waiter[R, V]) watch(ctx context.Context, onDone func()) {
	if ctx.Done() == nil {
		return
	}
	w.stop = context.AfterFunc(ctx, onDone)
}

// settle releases the context watch and settles the future. Call it without
// the owner's lock, after removing w from its list.
func (w *waiter[R, V]) settle(v R, err error) {
	if w.stop != nil {
		w.stop()
	}
	w.f.complete(v, err)
}
