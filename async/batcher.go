package async

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ioloop/ioloop/internal/onloop"
)

// Overflow says what Batcher.Add does when the pending bytes are at the limit.
type Overflow uint8

const (
	// OverflowFail makes Add fail at once with ErrQueueFull. It is the
	// default and the only policy usable from loop callbacks.
	OverflowFail Overflow = iota
	// OverflowWait makes Add block the calling goroutine until enough
	// pending bytes are flushed, the batcher closes (ErrClosed) or Add's ctx
	// ends (ctx.Err()). Waiting adders are admitted in FIFO order. On an
	// event loop's goroutine, an Add that would wait fails at once with
	// ErrOnLoop instead.
	OverflowWait
)

// Batcher defaults, in the style of a Kafka producer.
const (
	DefaultBatchItems   = 1000
	DefaultBatchBytes   = 16 << 10
	DefaultBatchLinger  = 5 * time.Millisecond
	DefaultPendingBytes = 1 << 20
)

// BatcherOptions configures a Batcher. Zero fields take the defaults.
type BatcherOptions[T any] struct {
	// MaxItems closes a batch when it holds this many items
	// (DefaultBatchItems).
	MaxItems int
	// MaxBytes closes a batch when the sizes of its items reach this sum
	// (DefaultBatchBytes). An item that would push an open batch past it
	// starts a new batch; an item larger than MaxBytes travels alone.
	MaxBytes int
	// Linger closes a non-empty batch this long after its first item was
	// added (DefaultBatchLinger). A negative Linger disables the timer:
	// batches then close only on count, bytes, Flush or Close.
	Linger time.Duration
	// MaxPending bounds the sizes of the items added and not yet flushed
	// (DefaultPendingBytes); at the bound Overflow applies. An item larger
	// than MaxPending fails with ErrTooLarge.
	MaxPending int
	// Size returns an item's size in bytes; nil counts every item as 1.
	// It is called once per Add, outside the batcher's lock.
	Size func(T) int
	// Overflow is the policy at MaxPending (OverflowFail).
	Overflow Overflow
}

// Batcher collects items and hands them, in batches and in the order they
// were added, to a flush function running on the batcher's own goroutine.
//
// A batch is closed when it reaches MaxItems items or MaxBytes bytes, when
// Linger has passed since its first item, or by Flush or Close. Closed
// batches are flushed one at a time in order. Add returns the future of the
// item's batch: it resolves when the flush function returns nil for that
// batch, or fails with its error (or a *PanicError if it panicked); all the
// items of a batch share one future, so Add allocates nothing per item.
//
// Backpressure: the bytes added and not yet flushed are bounded by
// MaxPending, with the Overflow policy at the bound. Close flushes every item
// added before it; nothing accepted is lost. All methods are safe from any
// goroutine; only Add under OverflowWait blocks (see ErrOnLoop).
type Batcher[T any] struct {
	opts  BatcherOptions[T]
	flush func([]T) error

	mu       sync.Mutex
	cur      []T
	curBytes int
	curFut   *Future[struct{}]
	curGen   uint64
	sealed   []batch[T]
	pending  int
	closed   bool
	last     *Future[struct{}] // future of the newest batch, for Flush
	free     [][]T
	waiters  wlist[struct{}, struct{}]
	timer    *time.Timer
	timerGen uint64

	kick   chan struct{}
	exited chan struct{}
}

type batch[T any] struct {
	items []T
	bytes int
	f     *Future[struct{}]
}

// NewBatcher returns a batcher that calls flush with each batch on its own
// goroutine, started here. flush receives a slice that is valid only during
// the call (the batcher reuses it); it must not retain it. Call Close to stop
// the goroutine. Costs the batcher and its goroutine. Safe from any goroutine.
func NewBatcher[T any](flush func(batch []T) error, opts BatcherOptions[T]) *Batcher[T] {
	if opts.MaxItems <= 0 {
		opts.MaxItems = DefaultBatchItems
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultBatchBytes
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultBatchLinger
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultPendingBytes
	}
	b := &Batcher[T]{
		opts:   opts,
		flush:  flush,
		kick:   make(chan struct{}, 1),
		exited: make(chan struct{}),
	}
	go b.loop()
	return b
}

// Add adds item to the open batch and returns the batch's future. It fails at
// once with ErrClosed after Close, with ErrTooLarge if the item alone exceeds
// MaxPending, and at the pending limit per the Overflow policy (under
// OverflowWait, ctx bounds the wait, and on an event loop's goroutine an Add
// that would wait fails at once with ErrOnLoop). The returned future runs its
// continuations on a new goroutine; when ctx carries an executor, Add returns
// a future on that executor instead, at the cost of one allocation. Without an
// executor in ctx and without waiting, Add does not allocate. Safe from any
// goroutine.
func (b *Batcher[T]) Add(ctx context.Context, item T) *Future[struct{}] {
	size := 1
	if b.opts.Size != nil {
		size = b.opts.Size(item)
	}
	f, err := b.add(ctx, item, size)
	if err != nil {
		return failedOn[struct{}](ExecutorFrom(ctx), err)
	}
	if ex := ExecutorFrom(ctx); ex != nil {
		out := newFuture[struct{}](ex)
		f.OnComplete(func(v struct{}, err error) { out.complete(v, err) })
		return out
	}
	return f
}

func (b *Batcher[T]) add(ctx context.Context, item T, size int) (*Future[struct{}], error) {
	if size > b.opts.MaxPending {
		return nil, ErrTooLarge
	}
	b.mu.Lock()
	for {
		if b.closed {
			b.mu.Unlock()
			return nil, ErrClosed
		}
		if b.pending+size <= b.opts.MaxPending && (b.waiters.len == 0) {
			break
		}
		if b.opts.Overflow == OverflowFail {
			b.mu.Unlock()
			return nil, ErrQueueFull
		}
		if err := ctx.Err(); err != nil {
			b.mu.Unlock()
			return nil, err
		}
		if onloop.Current() {
			b.mu.Unlock()
			return nil, ErrOnLoop
		}
		w := newWaiter[struct{}, struct{}](nil)
		w.n = int64(size)
		b.waiters.push(w)
		w.watch(ctx, func() {
			b.mu.Lock()
			queued := w.queued
			wasHead := b.waiters.head == w
			b.waiters.remove(w)
			var next *waiter[struct{}, struct{}]
			if wasHead {
				next = b.admitLocked()
			}
			b.mu.Unlock()
			if queued {
				w.f.complete(struct{}{}, ctx.Err())
			}
			settleChain(next)
		})
		b.mu.Unlock()
		if _, err := w.f.Await(nil); err != nil {
			return nil, err
		}
		b.mu.Lock()
		// Admitted: admitLocked reserved our bytes.
		if b.closed {
			b.pending -= size
			b.mu.Unlock()
			return nil, ErrClosed
		}
		b.pending -= size // re-added below with the item
		break
	}
	if len(b.cur) > 0 && b.curBytes+size > b.opts.MaxBytes {
		b.sealLocked()
	}
	if b.curFut == nil {
		b.curFut = newFuture[struct{}](nil)
		b.last = b.curFut
		if b.cur == nil {
			b.cur = b.newBuf()
		}
		if b.opts.Linger > 0 {
			b.armLocked()
		}
	}
	b.cur = append(b.cur, item)
	b.curBytes += size
	b.pending += size
	f := b.curFut
	if len(b.cur) >= b.opts.MaxItems || b.curBytes >= b.opts.MaxBytes {
		b.sealLocked()
	}
	b.mu.Unlock()
	return f, nil
}

// admitLocked reserves pending bytes for the waiting adders that now fit, in
// order, and returns them chained to be settled after unlocking.
func (b *Batcher[T]) admitLocked() *waiter[struct{}, struct{}] {
	var head, tail *waiter[struct{}, struct{}]
	for w := b.waiters.head; w != nil && b.pending+int(w.n) <= b.opts.MaxPending; w = b.waiters.head {
		b.pending += int(w.n)
		b.waiters.remove(w)
		if tail == nil {
			head = w
		} else {
			tail.next = w
		}
		tail = w
	}
	return head
}

func (b *Batcher[T]) newBuf() []T {
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free[n-1] = nil
		b.free = b.free[:n-1]
		return buf
	}
	return make([]T, 0, min(b.opts.MaxItems, 1024))
}

// armLocked starts the linger timer for the batch just opened.
func (b *Batcher[T]) armLocked() {
	b.timerGen = b.curGen
	if b.timer == nil {
		b.timer = time.AfterFunc(b.opts.Linger, b.lingerFired)
		return
	}
	b.timer.Reset(b.opts.Linger)
}

func (b *Batcher[T]) lingerFired() {
	b.mu.Lock()
	if b.curFut != nil && b.curGen == b.timerGen {
		b.sealLocked()
	}
	b.mu.Unlock()
}

// sealLocked closes the open batch, if any, and wakes the flusher.
func (b *Batcher[T]) sealLocked() {
	if b.curFut == nil {
		return
	}
	b.sealed = append(b.sealed, batch[T]{items: b.cur, bytes: b.curBytes, f: b.curFut})
	b.cur, b.curBytes, b.curFut = nil, 0, nil
	b.curGen++
	if b.timer != nil && b.timerGen != b.curGen {
		b.timer.Stop()
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *Batcher[T]) loop() {
	defer close(b.exited)
	var work []batch[T]
	for {
		<-b.kick
		b.mu.Lock()
		work, b.sealed = b.sealed, work[:0]
		closed := b.closed
		b.mu.Unlock()
		for i := range work {
			bt := &work[i]
			err := b.call(bt.items)
			clear(bt.items)
			b.mu.Lock()
			b.pending -= bt.bytes
			b.free = append(b.free, bt.items[:0])
			admitted := b.admitLocked()
			b.mu.Unlock()
			settleChain(admitted)
			bt.f.complete(struct{}{}, err)
			*bt = batch[T]{}
		}
		if closed {
			b.mu.Lock()
			done := len(b.sealed) == 0
			b.mu.Unlock()
			if done {
				return
			}
		}
	}
}

func (b *Batcher[T]) call(items []T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return b.flush(items)
}

// Flush closes the open batch now and returns a future resolved when every
// item added before the call has been flushed: the future of the newest batch
// (batches flush in order), or a resolved future when nothing was ever added.
// It does not allocate when there is something to flush. The future runs its
// continuations on the goroutine executor. Safe from any goroutine.
func (b *Batcher[T]) Flush() *Future[struct{}] {
	b.mu.Lock()
	b.sealLocked()
	f := b.last
	b.mu.Unlock()
	if f == nil {
		return resolvedUnit
	}
	return f
}

// Close stops accepting items (Add then fails with ErrClosed, and so do adders
// waiting under OverflowWait), flushes every item already added, and stops the
// batcher's goroutine. The returned future resolves once that goroutine has
// flushed the last batch and exited; individual flush errors are reported on
// the items' futures, not here. Calling Close again returns the same outcome.
// The future runs its continuations on the goroutine executor; it costs a
// goroutine until the batcher's has exited. Safe from any goroutine.
func (b *Batcher[T]) Close() *Future[struct{}] {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.sealLocked()
		if b.timer != nil {
			b.timer.Stop()
		}
		var head, tail *waiter[struct{}, struct{}]
		for w := b.waiters.popFront(); w != nil; w = b.waiters.popFront() {
			if tail == nil {
				head = w
			} else {
				tail.next = w
			}
			tail = w
		}
		select {
		case b.kick <- struct{}{}:
		default:
		}
		b.mu.Unlock()
		for w := head; w != nil; {
			next := w.next
			w.next = nil
			w.settle(struct{}{}, ErrClosed)
			w = next
		}
	} else {
		b.mu.Unlock()
	}
	f := newFuture[struct{}](nil)
	go func() {
		<-b.exited
		f.complete(struct{}{}, nil)
	}()
	return f
}
