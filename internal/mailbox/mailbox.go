// Package mailbox is the event loop's inbox: a bounded multi-producer,
// single-consumer FIFO of tasks with a deduplicated wake-up.
//
// # Contract
//
// Producers. Any goroutine may Post a task at any time. Post takes a mutex
// for a few instructions (an append, and a flag store for the first task
// since the last Drain), never waits for the consumer, and calls the wake
// function outside the lock. Tasks posted by one goroutine run in the order
// they were posted; tasks from different goroutines interleave in the order
// their Posts took the lock.
//
// Consumer. Exactly one goroutine, the owning loop, calls Drain and Close.
// Drain takes the lock once per call, to swap the producers' slice with its
// own (emptied) slice; the tasks then run without any lock, so a task may
// Post to the same mailbox without deadlock. Tasks posted while Drain runs
// wait for a later Drain. The two slices are reused, so steady-state
// posting and draining allocate nothing.
//
// Empty is for the consumer: it reads the consumer's own batch and an
// atomic flag that the first Post since the last Drain sets, and takes no
// lock, so a loop that checks Empty before each poll pays one atomic load.
// A Post costs the mutex and one atomic load: no counter is updated per
// task.
//
// Wake-ups. Post calls wake (for example the poller's Wake) only while the
// consumer sleeps. The consumer announces a sleep with Sleep, which reports
// whether it may block (false: tasks are queued, and the announcement is
// withdrawn), and ends it with Awake once it runs again. The first Post that
// finds the announcement takes it (compare-and-swap) and calls wake; every
// other Post costs one atomic load. So a consumer that is busy, including
// one posting to itself, gets no wake-up at all (no system call for the
// tasks a loop queues from its own callbacks), a sleeping one gets exactly
// one, and none is missed: Sleep stores the announcement before it reads
// the flag, and the first Post of a Drain cycle stores the flag before it
// reads the announcement (later Posts of the cycle follow it through the
// mutex), so at least one of them sees the other (Go's atomics are
// sequentially consistent). A consumer that never calls Sleep never gets a
// wake.
//
// Bounds. Post and PostTask are the doors of other goroutines' work (a
// loop's Post): they are refused with ErrFull once max tasks wait, so that
// a producer that outruns the loop learns it at once. A task waits from its
// Post until the consumer takes it into a batch: the batch being run does
// not count, so a task may always post its successor. Push is the door of
// the library's own work (a continuation, a close request, a write handed
// over from another goroutine): it is never refused for fullness, only
// after Close, because refusing it would lose work that something already
// waits for. Its tasks count towards the bound that Post sees, so a backlog
// of internal work pushes back on external producers. What bounds internal
// work is the objects it serves: each has a bounded number of tasks in
// flight (one per future continuation, one per close request, one per
// write handed over), so the mailbox holds at most as many as the program
// has such objects. After Close, every door returns ErrClosed.
package mailbox

import (
	"errors"
	"sync"
	"sync/atomic"
)

// DefaultMax is the number of queued tasks at which Post starts returning
// ErrFull when New is given max <= 0.
const DefaultMax = 1 << 20

// Shrinking: a drained slice with capacity above shrinkCap is dropped once
// shrinkAfter batches drained from large slices used less than a quarter of
// them, with no well-filled large batch in between, so that a
// past burst does not pin its memory while a steady load, whose batch sizes
// vary, does not reallocate over and over.
const (
	shrinkCap   = 1 << 14 // entries (func values) per slice, per loop
	shrinkAfter = 64
)

var (
	// ErrClosed is returned by Post after Close.
	ErrClosed = errors.New("mailbox: closed")
	// ErrFull is returned by Post when the mailbox already holds its
	// maximum number of tasks.
	ErrFull = errors.New("mailbox: full")
)

// Mailbox is a bounded multi-producer, single-consumer FIFO of tasks. Post
// may be called from any goroutine; Empty, Len, Sleep, Awake, Drain and
// Close only from the owning loop's goroutine. Create it with New; it must
// not be copied.
type Mailbox struct {
	max  int    // immutable after New
	wake func() // immutable after New; may be nil

	sleeping atomic.Bool  // the consumer announced a sleep (see Sleep)
	posted   atomic.Bool  // in is not empty; set and cleared under mu
	left     atomic.Int64 // tasks of out beyond the batch being run: they still wait

	mu     sync.Mutex
	in     []Task // guarded by mu: tasks posted since the last Drain
	urg    []Task // guarded by mu: urgent tasks pushed since the last Drain
	closed bool   // guarded by mu

	// Owned by the consumer goroutine.
	out   []Task // the batch being drained; out[pos:] still to run
	pos   int
	uout  []Task // the urgent tasks being run; uout[upos:] still to run
	upos  int
	small int // large-capacity batches under a quarter full since the last big one
}

// New returns an empty mailbox that holds at most max tasks (max <= 0:
// DefaultMax) and calls wake, if not nil, when a Post finds the consumer
// sleeping (see Sleep): at most once per sleep. wake runs on the posting
// goroutine, outside any lock, and must not block. Any goroutine may call
// New.
func New(max int, wake func()) *Mailbox {
	if max <= 0 {
		max = DefaultMax
	}
	return &Mailbox{max: max, wake: wake}
}

// Post queues fn to run on the owning loop. It returns ErrClosed after
// Close and ErrFull when max tasks wait (see Bounds); fn is then not
// queued. fn must not be nil (Post panics: the loop would later call nil).
// Safe from any goroutine; it takes the lock briefly and never waits for
// the consumer. No allocation once the queue has grown to its working size.
func (m *Mailbox) Post(fn func()) error {
	if fn == nil {
		panic("mailbox: Post of a nil task")
	}
	return m.PostTask(Func(fn))
}

// Task is a queued unit of work. Queuing a pointer-shaped Task (a pointer
// or a Func) does not allocate, so a caller that already has an object with
// a Run method queues it for free instead of binding a closure. It is an
// alias of the unnamed interface, like async.Task, so that passing one as
// the other is not a conversion.
type Task = interface{ Run() }

// Func adapts a function to a Task without allocating.
type Func func()

// Run calls f.
func (f Func) Run() { f() }

// PostTask is Post for a Task; t must not be nil.
func (m *Mailbox) PostTask(t Task) error { return m.put(t, laneBounded) }

// Push queues t like PostTask but is never refused for fullness: it fails
// only with ErrClosed after Close. It is the door of work that must not be
// lost (see Bounds in the package doc). t must not be nil. Safe from any
// goroutine; same cost as PostTask.
func (m *Mailbox) Push(t Task) error { return m.put(t, laneInternal) }

// PushUrgent queues t like Push, but t runs at the start of the next Drain,
// before every task queued by Post or Push, and whatever Drain's budget: it
// is for requests whose delay a backlog must not set (closing a connection,
// stopping the loop). Urgent tasks run in the order they were pushed. Safe
// from any goroutine; same cost as Push.
func (m *Mailbox) PushUrgent(t Task) error { return m.put(t, laneUrgent) }

// The lanes of put: which queue a task joins and whether the bound applies.
const (
	laneBounded  = iota // Post, PostTask: refused with ErrFull at the bound
	laneInternal        // Push: never refused for fullness
	laneUrgent          // PushUrgent: never refused, runs before the rest
)

func (m *Mailbox) put(t Task, lane int) error {
	if t == nil {
		panic("mailbox: Post of a nil task")
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if lane == laneBounded && len(m.in)+int(m.left.Load()) >= m.max {
		m.mu.Unlock()
		return ErrFull
	}
	if len(m.in) == 0 && len(m.urg) == 0 {
		m.posted.Store(true) // before the announcement is read: see Sleep
	}
	if lane == laneUrgent {
		m.urg = append(m.urg, t)
	} else {
		m.in = append(m.in, t)
	}
	m.mu.Unlock()
	if m.sleeping.Load() && m.sleeping.CompareAndSwap(true, false) && m.wake != nil {
		m.wake()
	}
	return nil
}

// Sleep announces that the consumer is about to block until wake is called,
// and reports whether it may: false when a task is queued, in which case the
// announcement is withdrawn and the consumer should drain instead. After a
// true result the consumer blocks, and calls Awake when it runs again
// (woken or not). Owning goroutine only; two atomic operations.
func (m *Mailbox) Sleep() bool {
	m.sleeping.Store(true)
	if !m.Empty() {
		m.sleeping.Store(false)
		return false
	}
	return true
}

// Awake withdraws the announcement of Sleep: Posts stop calling wake. Owning
// goroutine only; one atomic store.
func (m *Mailbox) Awake() { m.sleeping.Store(false) }

// Empty reports whether no task is queued, including tasks left by a
// budgeted Drain. One atomic load, no lock. Owning goroutine only.
func (m *Mailbox) Empty() bool {
	return m.pos == len(m.out) && m.upos == len(m.uout) && !m.posted.Load()
}

// Len returns the number of queued tasks, including tasks left by a
// budgeted Drain. It takes the lock. Owning goroutine only.
func (m *Mailbox) Len() int {
	m.mu.Lock()
	n := len(m.in) + len(m.urg)
	m.mu.Unlock()
	return n + len(m.out) - m.pos + len(m.uout) - m.upos
}

// Drain runs every urgent task (PushUrgent), then up to max queued tasks
// (max <= 0: all tasks queued when Drain is called) in FIFO order on the calling goroutine, each through run(fn)
// (run nil: fn is called directly; the loop passes a runner that recovers
// panics), and returns how many ran. Tasks posted while Drain runs, even by
// the tasks themselves, wait for a later Drain. If a task panics through
// run, the tasks after it stay queued for the next Drain. It takes the lock
// once, returns at once when Empty, and allocates nothing in steady state.
// Owning loop goroutine only; not reentrant (a task must not call Drain).
func (m *Mailbox) Drain(max int, run func(Task)) int {
	if m.Empty() {
		return 0
	}
	m.mu.Lock()
	if m.upos == len(m.uout) {
		m.uout, m.urg = m.urg, m.uout[:0]
		m.upos = 0
	} else if len(m.urg) > 0 {
		// Urgent tasks left by a panic go first.
		m.uout = append(m.uout, m.urg...)
		clear(m.urg)
		m.urg = m.urg[:0]
	}
	if m.pos == len(m.out) {
		m.out, m.in = m.in, m.out[:0]
		m.pos = 0
	} else if len(m.in) > 0 {
		// Tasks left by a budgeted Drain go first.
		m.out = append(m.out, m.in...)
		clear(m.in)
		m.in = m.in[:0]
	}
	if m.posted.Load() {
		m.posted.Store(false) // in is empty now
	}
	end := len(m.out)
	if max > 0 && end-m.pos > max {
		end = m.pos + max
	}
	m.left.Store(int64(len(m.out) - end)) // the batch out[pos:end] no longer waits
	m.mu.Unlock()

	ran := end - m.pos + len(m.uout) - m.upos
	for m.upos < len(m.uout) {
		fn := m.uout[m.upos]
		m.uout[m.upos] = nil
		m.upos++
		if run != nil {
			run(fn)
		} else {
			fn.Run()
		}
	}
	m.uout, m.upos = m.uout[:0], 0
	for m.pos < end {
		fn := m.out[m.pos]
		m.out[m.pos] = nil
		m.pos++
		if run != nil {
			run(fn)
		} else {
			fn.Run()
		}
	}
	if m.pos == len(m.out) {
		if c := cap(m.out); c > shrinkCap {
			if len(m.out) >= c/4 {
				m.small = 0
			} else if m.small++; m.small >= shrinkAfter {
				m.out, m.small = nil, 0
			}
		}
		m.out, m.pos = m.out[:0], 0
	}
	m.left.Store(int64(len(m.out) - m.pos))
	return ran
}

// Close makes every later Post fail with ErrClosed and returns the tasks
// still queued, urgent ones first, then in FIFO order (nil if none), so that the owner can run or
// drop them; the mailbox is then empty. A second Close returns nil. It
// allocates the returned slice. Owning loop goroutine only (or after that
// goroutine stopped calling Drain).
func (m *Mailbox) Close() []Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var rest []Task
	if k := len(m.uout) - m.upos + len(m.urg) + len(m.out) - m.pos + len(m.in); k > 0 {
		rest = make([]Task, 0, k)
		rest = append(rest, m.uout[m.upos:]...)
		rest = append(rest, m.urg...)
		rest = append(rest, m.out[m.pos:]...)
		rest = append(rest, m.in...)
	}
	m.out, m.in, m.pos = nil, nil, 0
	m.uout, m.urg, m.upos = nil, nil, 0
	m.posted.Store(false)
	m.left.Store(0)
	return rest
}
