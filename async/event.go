package async

import (
	"context"
	"sync"
)

// Event is a flag that goroutines and loop callbacks can wait on: Set wakes
// every waiter and lets later waits through at once until Clear. The zero
// Event is clear and ready to use. The number of waiters is bounded only by
// the callers. All methods are safe from any goroutine and none blocks.
type Event struct {
	mu      sync.Mutex
	set     bool
	waiters wlist[struct{}, struct{}]
}

// Set sets the flag and resolves every pending Wait. Setting a set event does
// nothing. Costs a lock. Safe from any goroutine.
func (e *Event) Set() {
	e.mu.Lock()
	if e.set {
		e.mu.Unlock()
		return
	}
	e.set = true
	var head, tail *waiter[struct{}, struct{}]
	for w := e.waiters.popFront(); w != nil; w = e.waiters.popFront() {
		if tail == nil {
			head = w
		} else {
			tail.next = w
		}
		tail = w
	}
	e.mu.Unlock()
	settleChain(head)
}

// Clear clears the flag: later waits wait for the next Set. Costs a lock. Safe
// from any goroutine.
func (e *Event) Clear() {
	e.mu.Lock()
	e.set = false
	e.mu.Unlock()
}

// IsSet reports whether the flag is set. Costs a lock. Safe from any
// goroutine.
func (e *Event) IsSet() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set
}

// Wait returns a future resolved when the flag is set: already resolved if it
// is set now (shared and allocation-free when ctx carries no executor), else
// at the next Set. If ctx ends first the wait is withdrawn and the future
// fails with ctx.Err(). Continuations run on ExecutorFrom(ctx). Safe from any
// goroutine.
func (e *Event) Wait(ctx context.Context) *Future[struct{}] {
	e.mu.Lock()
	if e.set {
		e.mu.Unlock()
		return resolvedOn(ExecutorFrom(ctx))
	}
	if err := ctx.Err(); err != nil {
		e.mu.Unlock()
		return failedOn[struct{}](ExecutorFrom(ctx), err)
	}
	w := newWaiter[struct{}, struct{}](ctx)
	e.waiters.push(w)
	w.watch(ctx, func() {
		e.mu.Lock()
		queued := w.queued
		e.waiters.remove(w)
		e.mu.Unlock()
		if queued {
			w.f.complete(struct{}{}, ctx.Err())
		}
	})
	e.mu.Unlock()
	return &w.f
}
