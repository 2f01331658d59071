package ioloop

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ioloop/ioloop/async"
	"github.com/ioloop/ioloop/internal/buffer"
	"github.com/ioloop/ioloop/internal/mailbox"
	"github.com/ioloop/ioloop/internal/onloop"
	"github.com/ioloop/ioloop/internal/poller"
	"github.com/ioloop/ioloop/internal/sock"
	"github.com/ioloop/ioloop/internal/timer"
)

// pollable is anything registered in a loop's poller: a connection, a
// listening socket or a datagram socket.
type pollable interface {
	// onEvent handles readiness reported by the poller, or a retry queued on
	// the loop's ready list (flags = poller.Readable).
	onEvent(f poller.Flags)
	// generation returns the tag of the object's registration, so that
	// events for a closed and reused slot are dropped.
	generation() uint16
}

// Loop is one event loop: a goroutine that waits on a poller and runs the
// callbacks of the connections, timers and sockets it owns, one at a time.
//
// A Loop is created by New as part of a Group. Methods say which goroutine
// may call them: "loop only" methods must be called from a callback running on
// this loop; the others are safe from any goroutine.
type Loop struct {
	g    *Group
	idx  int
	opts *Options

	// Immutable after start.
	p     *poller.Poller
	mb    *mailbox.Mailbox
	ctx   context.Context // carries the loop as async executor
	epoch time.Time
	done  chan struct{} // closed when the loop goroutine has ended

	// Tasks that arrived after the loop stopped (see runLate).
	lateMu  sync.Mutex
	late    []mailbox.Task
	lateRun bool

	// nconns is written by the loop and read by balancers on other loops.
	nconns atomic.Int64
	owner  atomic.Uintptr // the loop goroutine (onloop.Self), for the debug build's owner checks

	// Everything below is owned by the loop goroutine.
	timers  timer.Heap
	pool    *buffer.Pool
	events  []poller.Event
	scratch []byte
	plain   []byte // decrypted TLS records, lent to OnData (see plaintext)
	iov     [][]byte
	w       sock.Writer
	slots   slotTable // registered sockets; the poller tag is gen<<32 | slot
	free    []int32   // unused slots
	gen     uint16
	ios     []*connIO // recycled connection buffers
	flow    buffer.Flow
	ready   []pollable // sockets with work left after their budget ran out
	ready2  []pollable
	dirty   []*Conn // connections with output to flush this iteration
	now     int64   // monotonic nanoseconds since epoch, cached per iteration
	left    int     // events of this iteration not handled yet
	quit    bool

	// The input lent to the OnData callback running now.
	viewConn *Conn
	view     []byte
	lent     []byte // all the input lent to viewConn's OnData (view is what is left)
	pend     []byte // viewConn's only write of its OnData, not copied yet: see Conn.Write

	// Options.IOUring: reads and writes batched through the ring; see
	// ring.go.
	ur uring

	// Test hook: called after every writev with the number of buffers.
	onWritev func(fd, nbufs, n int)
}

func newLoop(g *Group, idx int) (*Loop, error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	l := &Loop{
		g:       g,
		idx:     idx,
		opts:    &g.opts,
		p:       p,
		epoch:   time.Now(),
		done:    make(chan struct{}),
		pool:    buffer.NewPool(16 << 20),
		events:  make([]poller.Event, 1024),
		scratch: make([]byte, g.opts.ReadBufferSize),
		iov:     make([][]byte, 0, sock.MaxIovecs),
	}
	l.flow = buffer.Flow{High: g.opts.HighWater, Low: g.opts.LowWater}
	if g.opts.IOUring {
		l.initRing()
	}
	l.mb = mailbox.New(g.opts.MailboxSize, l.wake)
	l.ctx = async.WithExecutor(context.Background(), l)
	return l, nil
}

func (l *Loop) wake() { _ = l.p.Wake() }

// Index returns the loop's position in its Group, from 0. Safe from any goroutine.
func (l *Loop) Index() int { return l.idx }

// Group returns the Group the loop belongs to. Safe from any goroutine.
func (l *Loop) Group() *Group { return l.g }

// NumConns returns the number of connections the loop owns now. Safe from any goroutine.
func (l *Loop) NumConns() int { return int(l.nconns.Load()) }

// Post queues fn to run on the loop; it returns at once. Tasks posted by one
// goroutine run in the order posted. Safe from any goroutine, including the
// loop's own callbacks (fn then runs later in the same or the next
// iteration). It fails with ErrGroupClosed after the group closed, and with
// ErrMailboxFull when Options.MailboxSize tasks already wait: backpressure
// for the caller to act on (see ErrMailboxFull); fn is then not queued. A
// panic in fn is recovered and logged. Cost: one lock and, when the loop
// sleeps, one wake-up write.
func (l *Loop) Post(fn func()) error {
	switch err := l.mb.Post(fn); err {
	case nil:
		return nil
	case mailbox.ErrFull:
		return ErrMailboxFull
	default:
		return ErrGroupClosed
	}
}

// push queues the library's own work on the loop: it is never refused for
// fullness (see Options.MailboxSize). After the loop stopped, t runs once
// the loop goroutine has ended, one at a time with the other late tasks
// (runLate), so it still never runs beside the loop's own code. Safe from
// any goroutine.
func (l *Loop) push(t mailbox.Task) {
	if l.mb.Push(t) != nil {
		l.runLate(t)
	}
}

// pushUrgent is push for requests whose delay a backlog must not set: t
// runs at the start of the loop's next drain of its mailbox, before the
// tasks already queued (Conn.Close from another goroutine, Group.Close).
// Safe from any goroutine.
func (l *Loop) pushUrgent(t mailbox.Task) {
	if l.mb.PushUrgent(t) != nil {
		l.runLate(t)
	}
}

// runLate runs t after the loop goroutine ended: in FIFO order with the
// other late tasks, one at a time, on a goroutine that starts once the loop
// is done. Whatever t touches of the loop's objects is closed by then, and
// the loop's end happens before t runs. Safe from any goroutine.
func (l *Loop) runLate(t mailbox.Task) {
	l.lateMu.Lock()
	l.late = append(l.late, t)
	start := !l.lateRun
	l.lateRun = true
	l.lateMu.Unlock()
	if start {
		go l.drainLate()
	}
}

func (l *Loop) drainLate() {
	<-l.done
	for {
		l.lateMu.Lock()
		if len(l.late) == 0 {
			l.late, l.lateRun = nil, false
			l.lateMu.Unlock()
			return
		}
		t := l.late[0]
		l.late[0] = nil
		l.late = l.late[1:]
		l.lateMu.Unlock()
		l.runTask(t)
	}
}

// stopped reports whether the loop goroutine has ended. Safe from any
// goroutine.
func (l *Loop) stopped() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Now returns the time cached at the start of the current loop iteration.
// It carries a monotonic reading. Loop only; cost: none.
func (l *Loop) Now() time.Time {
	l.mustOwn("Loop.Now")
	return l.epoch.Add(time.Duration(l.now))
}

func (l *Loop) clock() int64 { return int64(time.Since(l.epoch)) }

// run is the loop goroutine.
func (l *Loop) run() {
	defer close(l.done)
	id := onloop.Enter()
	defer onloop.Leave(id)
	l.owner.Store(id)
	if l.opts.LockOSThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	l.now = l.clock()
	for !l.quit {
		n, err := l.poll()
		l.now = l.clock()
		if err != nil {
			l.opts.Logger.Error("ioloop: poller wait failed", "loop", l.idx, "err", err)
			time.Sleep(time.Millisecond) // never spin on a broken poller
		}
		for i, ev := range l.events[:n] {
			l.left = n - i - 1
			slot, gen := int(uint32(ev.Tag)), uint16(ev.Tag>>32)
			o := l.slots.get(slot)
			if o == nil || o.generation() != gen {
				continue
			}
			if l.ur.batching() {
				if c, ok := o.(*Conn); ok && c.batchable(ev.Flags) {
					l.queueRead(c)
					continue
				}
				if len(l.ur.rq) > 0 {
					l.runReads() // before any other callback, which could close a queued socket
				}
			}
			o.onEvent(ev.Flags)
		}
		if len(l.ur.rq) > 0 {
			l.runReads()
		}
		l.left = 0
		l.runReady()
		if !l.mb.Empty() {
			l.drainMailbox()
		}
		l.runTimers()
		l.flushDirty()
	}
	l.exit()
}

// poll collects ready events into l.events. It sleeps when nothing is
// ready, no task is queued and no timer is due: until an event, a posted
// task or the next timer. Posts wake the poller only while the loop
// sleeps, so tasks queued from the loop's own callbacks cost no system
// call.
//
// A loop that is not locked to its thread parks in the Go runtime's
// poller (poller.Park, which polls first): its thread and P go on at once
// with the goroutines this iteration's callbacks woke (a channel send, a
// future completed for a goroutine in Await) and with other loops, and
// the runtime's poller wakes the loop. Blocking in epoll_wait instead
// would keep the P inside the system call, and those goroutines would
// wait until the runtime's monitor took it back at one of its periodic
// ticks (bench/RESULTS.md has measurements). A locked loop polls without blocking and then blocks in the
// poller: parking it would park its thread too.
func (l *Loop) poll() (int, error) {
	if len(l.ready) > 0 || !l.mb.Empty() {
		return l.p.Wait(l.events, 0)
	}
	when, timed := l.timers.Next()
	if timed && when <= l.now {
		return l.p.Wait(l.events, 0)
	}
	if l.opts.LockOSThread {
		n, err := l.p.Wait(l.events, 0)
		if n > 0 || err != nil || !l.mb.Sleep() {
			return n, err
		}
		timeout := time.Duration(-1)
		if timed {
			timeout = max(time.Duration(when-l.clock()), 0)
		}
		n, err = l.p.Wait(l.events, timeout)
		l.mb.Awake()
		return n, err
	}
	if !l.mb.Sleep() {
		return l.p.Wait(l.events, 0)
	}
	var until time.Time
	if timed {
		until = l.epoch.Add(time.Duration(when))
	}
	n, err := l.p.Park(l.events, until)
	l.mb.Awake()
	return n, err
}

// exit closes everything the loop still owns and runs the tasks left in the
// mailbox, so that their callbacks see closed connections instead of never
// running.
func (l *Loop) exit() {
	l.closeAll(ErrServerClosed)
	for _, t := range l.mb.Close() {
		l.runTask(t)
	}
	l.flushDirty()
	_ = l.p.Close()
	l.ur.close()
}

// closeAll closes every socket the loop owns.
func (l *Loop) closeAll(err error) {
	for i := range l.slots.len() {
		switch o := l.slots.get(i).(type) {
		case *Conn:
			o.destroy(err)
		case *lnSock:
			o.close()
		case *PacketConn:
			o.close()
		}
	}
}

// register adds fd to the loop's table and poller, tagged with the next
// generation, which the caller must store before any event can arrive (it
// stores it right after register returns: events arrive only in the loop's
// next Wait). Generations start at 1, so a zero gen means "not registered".
func (l *Loop) register(fd int, obj pollable) (slot int32, gen uint16, err error) {
	if n := len(l.free); n > 0 {
		slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		slot = l.slots.add()
	}
	if l.gen++; l.gen == 0 {
		l.gen = 1
	}
	gen = l.gen
	l.slots.set(slot, obj)
	if err := l.p.Add(fd, uint64(gen)<<32|uint64(uint32(slot))); err != nil {
		l.unregister(slot)
		return 0, 0, err
	}
	return slot, gen, nil
}

// unregister frees a slot. The caller closes the descriptor, which also
// removes it from the poller; events already returned for it are dropped by
// their generation.
func (l *Loop) unregister(slot int32) {
	l.slots.set(slot, nil)
	l.free = append(l.free, slot)
}

// slotPage is the number of entries in one page of a slotTable.
const slotPage = 512

// slotTable maps a loop's slots to its sockets. It grows by pages of
// slotPage entries, never copying and never holding the slack of a doubled
// slice: one interface value per slot ever used, plus one page pointer per
// slotPage, which matters at hundreds of thousands of mostly idle
// connections. Loop only.
type slotTable struct {
	pages [][]pollable
	n     int // slots handed out by add
}

// len returns the number of slots handed out by add.
func (t *slotTable) len() int { return t.n }

// add returns a new slot, holding nil.
func (t *slotTable) add() int32 {
	if t.n%slotPage == 0 {
		t.pages = append(t.pages, make([]pollable, slotPage))
	}
	t.n++
	return int32(t.n - 1)
}

// get returns the socket in slot i, nil if none (or if i was never handed
// out).
func (t *slotTable) get(i int) pollable {
	if u := uint(i); u/slotPage < uint(len(t.pages)) {
		return t.pages[u/slotPage][u%slotPage]
	}
	return nil
}

// set stores o in slot i, which add handed out.
func (t *slotTable) set(i int32, o pollable) { t.pages[uint32(i)/slotPage][uint32(i)%slotPage] = o }

// maxPooledIO bounds the connection buffers a loop keeps for reuse (each
// is a connIO of at most 80 bytes, plus its segment ring): enough for a broadcast to a few
// thousand connections without allocating.
const maxPooledIO = 4096

func (l *Loop) getIO() *connIO {
	if n := len(l.ios); n > 0 {
		io := l.ios[n-1]
		l.ios[n-1] = nil
		l.ios = l.ios[:n-1]
		return io
	}
	return new(connIO)
}

func (l *Loop) putIO(io *connIO) {
	if len(l.ios) < maxPooledIO {
		l.ios = append(l.ios, io)
	}
}

func (l *Loop) addReady(p pollable) { l.ready = append(l.ready, p) }

func (l *Loop) runReady() {
	if len(l.ready) == 0 {
		return
	}
	ready := l.ready
	l.ready = l.ready2[:0]
	for i, p := range ready {
		ready[i] = nil
		p.onEvent(poller.Readable)
	}
	l.ready2 = ready[:0]
}

// drainMailbox runs up to a batch of posted tasks. One deferred recovery
// covers the whole batch: a task that panics is reported, and the tasks
// after it (which Drain leaves queued) run in a new batch right away.
func (l *Loop) drainMailbox() {
	for i := 0; i < mailboxBatch && !l.drainBatch(); i++ {
	}
}

// drainBatch runs one batch and reports whether it ended without a panic.
func (l *Loop) drainBatch() (ok bool) {
	defer l.recoverTask("posted task")
	l.mb.Drain(mailboxBatch, nil)
	return true
}

func (l *Loop) runTask(t mailbox.Task) {
	defer l.recoverTask("posted task")
	t.Run()
}

func (l *Loop) runTimer(t timer.Task) {
	defer l.recoverTask("timer")
	t.Run()
}

func (l *Loop) recoverTask(what string) {
	if r := recover(); r != nil {
		l.opts.Logger.Error("ioloop: panic in "+what+" recovered", "loop", l.idx, "panic", r, "stack", string(debug.Stack()))
	}
}

func (l *Loop) runTimers() {
	for {
		f, ok := l.timers.PopExpired(l.now)
		if !ok {
			return
		}
		l.runTimer(f)
	}
}

// flushDirty hands the output queued this iteration to the kernel: with a
// ring, as one batch of sends.
func (l *Loop) flushDirty() {
	for len(l.dirty) > 0 {
		for i := 0; i < len(l.dirty); i++ { // callbacks may add connections
			c := l.dirty[i]
			l.dirty[i] = nil
			c.flags &^= fDirty
			batch := l.ur.batching()
			if batch {
				l.reserve()
			}
			if c.state != StateClosed && !c.is(fWriteBlocked) && (!batch || !l.queueFlush(c)) {
				c.flush()
			}
		}
		l.dirty = l.dirty[:0]
		if len(l.ur.wq) == 0 {
			return
		}
		l.finishWrites()
	}
}

// stop closes everything and ends the loop goroutine. Runs on the loop.
func (l *Loop) stop() { l.quit = true }

// Timer is a timer on a loop, returned by AfterFunc, AtFunc and EveryFunc. The
// zero Timer is not pending. A Timer must be used on its loop only.
type Timer struct {
	l *Loop
	h timer.Handle
}

// AfterFunc runs f on the loop once, d from now (from the iteration's cached
// time). Loop only. Cost: O(log n) in the loop's pending timers, no
// allocation once the loop has held that many timers before.
func (l *Loop) AfterFunc(d time.Duration, f func()) Timer {
	l.mustOwn("Loop.AfterFunc")
	return Timer{l, l.timers.Schedule(l.now+int64(max(d, 0)), 0, f)}
}

// AtFunc runs f on the loop once at t (by the monotonic clock when t has a
// monotonic reading). Loop only; cost as AfterFunc.
func (l *Loop) AtFunc(t time.Time, f func()) Timer {
	l.mustOwn("Loop.AtFunc")
	return l.AfterFunc(t.Sub(l.Now()), f)
}

// EveryFunc runs f on the loop every d (d > 0), first d from now. A loop that
// fell behind runs f once, not once per missed period. Loop only; cost as
// AfterFunc.
func (l *Loop) EveryFunc(d time.Duration, f func()) Timer {
	l.mustOwn("Loop.EveryFunc")
	if d <= 0 {
		d = time.Millisecond
	}
	return Timer{l, l.timers.Schedule(l.now+int64(d), int64(d), f)}
}

// Stop cancels the timer. It reports whether it was pending: false if it
// already ran (a one-shot timer) or was stopped. Loop only; O(log n).
func (t Timer) Stop() bool {
	if t.l != nil {
		t.l.mustOwn("Timer.Stop")
	}
	return t.l != nil && t.l.timers.Cancel(t.h)
}

// Reset moves a pending timer to d from now; it reports false, and does
// nothing, when the timer is no longer pending. Loop only; O(log n).
func (t Timer) Reset(d time.Duration) bool {
	if t.l != nil {
		t.l.mustOwn("Timer.Reset")
	}
	return t.l != nil && t.l.timers.Reset(t.h, t.l.now+int64(max(d, 0)))
}

// Pending reports whether the timer will still run. Loop only.
func (t Timer) Pending() bool {
	if t.l != nil {
		t.l.mustOwn("Timer.Pending")
	}
	return t.l != nil && t.l.timers.Pending(t.h)
}
