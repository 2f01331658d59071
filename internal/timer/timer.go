// Package timer is the event loop's timer heap: a 4-ary min-heap of
// deadlines owned by exactly one goroutine.
//
// # Contract
//
// A Heap belongs to one event loop and is used only from that loop's
// goroutine: it takes no locks and is not safe for concurrent use. Its zero
// value is an empty heap ready to use.
//
// Time is an int64 count of nanoseconds on a monotonic clock chosen by the
// owner (the loop caches it once per iteration). The heap never reads a
// clock itself: deadlines passed to Schedule and Reset and the "now" passed
// to PopExpired are all on that same clock, so the package is deterministic
// and tested without sleeping.
//
// Order: timers fire in ascending order of their deadline; timers with the
// same deadline fire in the order they were scheduled (FIFO). Rescheduling
// by Reset, and the automatic rescheduling of a repeating timer, count as a
// new scheduling for that tie-break, exactly as if the timer had been
// cancelled and scheduled again.
//
// Handles: Schedule returns a Handle, a small value holding a pointer to the
// timer's node and the node's generation at scheduling time. A node's
// generation changes whenever its timer stops being pending (a one-shot
// timer fired, or any timer was cancelled), and the node then goes to a free
// list for reuse by a later Schedule. A handle whose generation no longer
// matches is stale: every method treats it as "no timer", so keeping a
// handle after the timer ended is harmless and can never cancel or move
// another timer that reused the node. The zero Handle is "no timer".
//
// Cost: Schedule, Cancel, Reset and PopExpired are O(log n) with n pending
// timers; Pending, Next and Len are O(1). After warm-up (once the heap array
// and the free list have reached the peak number of timers) none of them
// allocates. Nodes are never returned to the garbage collector: the memory
// held is proportional to the peak number of pending timers.
//
// Callbacks: PopExpired returns the callback instead of calling it, so the
// owner decides how to run it (for example with panic recovery) and the
// heap is in a consistent state while it runs: the callback may Schedule,
// Cancel or Reset any timer, including its own.
package timer

import "math"

// arity is the number of children of each heap node. Four children make the
// tree half as deep as a binary heap and keep a node's children in one or
// two cache lines, which favours the sift-down of PopExpired and Cancel.
const arity = 4

// node is one timer. Its fields are owned by the Heap that allocated it.
type node struct {
	f      Task
	period int64  // > 0: repeating
	gen    uint64 // bumped each time the timer stops being pending
	index  int    // position in Heap.items while pending, -1 otherwise
	next   *node  // free-list link while not pending
}

// item is one heap slot. The key (when, seq) is copied next to the node
// pointer so that sifting compares without dereferencing nodes.
type item struct {
	when int64
	seq  uint64
	n    *node
}

func (a *item) less(b *item) bool {
	return a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

// Heap is a loop-owned min-heap of timers. The zero value is an empty heap
// ready to use. A Heap must not be copied after first use and is not safe
// for concurrent use: only the owning loop's goroutine may call its methods.
type Heap struct {
	items []item
	free  *node  // free list of recycled nodes, linked by node.next
	seq   uint64 // scheduling counter, the FIFO tie-break
}

// Handle identifies one scheduled timer. It is a small value (a pointer and
// a generation) that may be copied freely. The zero Handle means "no timer".
// Once its timer is no longer pending, a Handle is stale and every Heap
// method treats it as the zero Handle, even after the timer's memory was
// reused for another timer.
type Handle struct {
	n   *node
	gen uint64
}

// IsZero reports whether t is the zero Handle. It costs O(1) and may be
// called from any goroutine (it reads only t itself).
func (t Handle) IsZero() bool { return t.n == nil }

// live reports whether t refers to a pending timer of this heap.
func (h *Heap) live(t Handle) bool {
	n := t.n
	return n != nil && n.gen == t.gen && n.index >= 0 && n.index < len(h.items) && h.items[n.index].n == n
}

// Schedule adds a timer that fires at when (on the owner's monotonic clock,
// in nanoseconds) and returns its handle. If period > 0 the timer repeats
// every period nanoseconds after each firing until cancelled; otherwise it
// fires once. f must not be nil (Schedule panics otherwise: the loop would
// later call a nil function). Cost O(log n); no allocation once a recycled
// node and heap capacity are available. Loop goroutine only.
func (h *Heap) Schedule(when, period int64, f func()) Handle {
	if f == nil {
		panic("timer: Schedule with nil callback")
	}
	return h.ScheduleTask(when, period, Func(f))
}

// Task is what a timer runs. Scheduling a pointer-shaped Task (a pointer
// whose type has a Run method, or a Func) allocates nothing, so an owner
// can give each of its objects a timer without binding a closure per object.
type Task interface{ Run() }

// Func adapts a function to a Task without allocating.
type Func func()

// Run calls f.
func (f Func) Run() { f() }

// ScheduleTask is Schedule for a Task; t must not be nil. Cost as Schedule.
func (h *Heap) ScheduleTask(when, period int64, t Task) Handle {
	if t == nil {
		panic("timer: Schedule with nil callback")
	}
	f := t
	n := h.free
	if n != nil {
		h.free = n.next
		n.next = nil
	} else {
		n = &node{}
	}
	if period < 0 {
		period = 0
	}
	n.f = f
	n.period = period
	h.seq++
	n.index = len(h.items)
	h.items = append(h.items, item{when: when, seq: h.seq, n: n})
	h.up(n.index)
	return Handle{n: n, gen: n.gen}
}

// Cancel stops the timer t. It returns true if t was pending and is now
// cancelled (its callback will not be returned by PopExpired again), and
// false if t is the zero Handle, already cancelled, or a one-shot timer that
// already fired. A repeating timer can be cancelled from its own callback.
// Cost O(log n); no allocation. Loop goroutine only.
func (h *Heap) Cancel(t Handle) bool {
	if !h.live(t) {
		return false
	}
	h.removeAt(t.n.index)
	h.release(t.n)
	return true
}

// Reset moves the pending timer t to the deadline when, keeping its period.
// For ties it counts as newly scheduled. It returns false, changing nothing,
// if t is not pending (zero, cancelled or fired one-shot handle): a finished
// timer cannot be revived, schedule a new one instead. Cost O(log n); no
// allocation. Loop goroutine only.
func (h *Heap) Reset(t Handle, when int64) bool {
	if !h.live(t) {
		return false
	}
	i := t.n.index
	it := &h.items[i]
	old := it.when
	it.when = when
	h.seq++
	it.seq = h.seq
	if when < old {
		h.up(i)
	} else {
		h.down(i)
	}
	return true
}

// Pending reports whether t refers to a timer that is still scheduled: not
// zero, not cancelled, and not a one-shot timer that already fired. Cost
// O(1). Loop goroutine only.
func (h *Heap) Pending(t Handle) bool { return h.live(t) }

// Next returns the earliest pending deadline, and ok false if no timer is
// pending. The loop uses it to bound its poller wait. Cost O(1). Loop
// goroutine only.
func (h *Heap) Next() (when int64, ok bool) {
	if len(h.items) == 0 {
		return 0, false
	}
	return h.items[0].when, true
}

// Len returns the number of pending timers. Cost O(1). Loop goroutine only.
func (h *Heap) Len() int { return len(h.items) }

// PopExpired removes the earliest timer whose deadline is <= now and returns
// its callback, for the caller to run. A repeating timer is rescheduled at
// its deadline plus its period, or at now plus its period if that would
// still be <= now (so a loop that stalled does not fire a burst of catch-up
// ticks), and its handle stays pending; a one-shot timer's handle becomes
// stale. When no timer has expired it returns nil, false: call it in a loop
// until ok is false. Each call is O(log n) and allocates nothing. Loop
// goroutine only.
func (h *Heap) PopExpired(now int64) (f Task, ok bool) {
	if len(h.items) == 0 || h.items[0].when > now {
		return nil, false
	}
	it := &h.items[0]
	n := it.n
	f = n.f
	if n.period > 0 {
		next := addSat(it.when, n.period)
		if next <= now {
			next = addSat(now, n.period)
		}
		it.when = next
		h.seq++
		it.seq = h.seq
		h.down(0)
		return f, true
	}
	h.removeAt(0)
	h.release(n)
	return f, true
}

// addSat returns a+b for b > 0, saturated at math.MaxInt64 so that a far
// deadline plus a period never wraps into the past.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// release ends node n's timer: it invalidates all handles to it and puts it
// on the free list.
func (h *Heap) release(n *node) {
	n.gen++
	n.f = nil
	n.index = -1
	n.next = h.free
	h.free = n
}

// removeAt removes the item at index i from the heap.
func (h *Heap) removeAt(i int) {
	last := len(h.items) - 1
	if i != last {
		h.items[i] = h.items[last]
		h.items[i].n.index = i
	}
	h.items[last] = item{}
	h.items = h.items[:last]
	if i < last {
		if !h.up(i) {
			h.down(i)
		}
	}
}

// up moves the item at index i towards the root while it is smaller than
// its parent. It reports whether the item moved.
func (h *Heap) up(i int) bool {
	items := h.items
	x := items[i]
	start := i
	for i > 0 {
		p := (i - 1) / arity
		if !x.less(&items[p]) {
			break
		}
		items[i] = items[p]
		items[i].n.index = i
		i = p
	}
	if i == start {
		return false
	}
	items[i] = x
	x.n.index = i
	return true
}

// down moves the item at index i towards the leaves while a child is
// smaller than it.
func (h *Heap) down(i int) {
	items := h.items
	n := len(items)
	x := items[i]
	start := i
	for {
		c := i*arity + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+arity, n)
		for j := c + 1; j < end; j++ {
			if items[j].less(&items[m]) {
				m = j
			}
		}
		if !items[m].less(&x) {
			break
		}
		items[i] = items[m]
		items[i].n.index = i
		i = m
	}
	if i != start {
		items[i] = x
		x.n.index = i
	}
}
