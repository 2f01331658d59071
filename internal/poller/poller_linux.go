package poller

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller is the epoll backend: one epoll instance plus one eventfd for
// wake-ups. One Poller belongs to one loop; see the package contract for
// which goroutine may call what.
type Poller struct {
	// epfd is the epoll descriptor. Owned by the loop goroutine; -1 after
	// Close.
	epfd int
	// buf receives the kernel's events; allocated once by New, used only
	// inside Wait (loop goroutine).
	buf []unix.EpollEvent

	// woken is the wake-up deduplication flag: 0 clear, 1 a wake-up is
	// pending. Set by CAS in Wake (any goroutine), cleared by Wait when it
	// collects wakefd's report.
	woken atomic.Uint32
	// mu keeps wakefd open while a Wake writes to it: Wake holds it for
	// reading, Close for writing.
	mu sync.RWMutex
	// wakefd is the eventfd registered with ReservedTag. Immutable until
	// Close; read by Wake under mu.
	wakefd int
	// closed is set by Close while holding mu for writing; Wake reads it.
	closed atomic.Bool

	// wakeWrites counts writes to wakefd; a test hook proving
	// deduplication.
	wakeWrites atomic.Uint64

	// park is the state of Park; nil until its first call. Loop goroutine
	// only.
	park *parker
}

// parker lets the loop goroutine wait in the Go runtime's own poller. An
// epoll descriptor is readable while events are ready in it, so the
// runtime could watch the loop's epoll descriptor itself; but then every
// event of every connection would also wake the thread the runtime keeps
// in its own epoll_wait, also while the loop is busy and will find the
// event anyway. So the runtime watches a gate instead: a second epoll
// instance holding the loop's epoll descriptor with EPOLLONESHOT, armed
// (one epoll_ctl) each time the loop is about to park, and disarmed when
// the loop runs again after it fired (one epoll_wait on the gate collects
// its report, which is when EPOLLONESHOT takes effect). A variant that
// kept the gate armed across short bursts of work, saving both calls,
// lost a wake-up now and then in a stress run of the client benchmark:
// instrumented, the stalled loop's epoll descriptor and the gate both
// polled readable while the goroutine stayed parked, so the runtime's
// poller had missed the gate's edge (the kernel path was not pinned
// down; collecting the gate's stale report before each sleep did not
// help: 4 stalls in 36 runs). Re-arming on every sleep re-reads the
// readiness each time (0 stalls in 66 runs), and every sleep pays the
// two calls.
type parker struct {
	f      *os.File // the gate, registered with the runtime's poller
	rc     syscall.RawConn
	gate   int                // the gate's descriptor (f's)
	arm    unix.EpollEvent    // EPOLLIN|EPOLLONESHOT
	armed  bool               // the gate may fire: disarm it before running on
	step   func(uintptr) bool // p.parkStep, bound once: no allocation per Park
	until  time.Time          // the read deadline set on f, zero: none; may be earlier than asked
	want   time.Time          // the deadline this Park asked for
	broken bool               // the runtime refused: Park falls back to Wait
	// sparse counts the last Parks in a row that slept and then
	// returned at most one event: a loop serving one exchange at a time
	// (a request, its response) finds nothing in the poll before it
	// parks, so from the second such Park on it arms the gate without
	// that poll (see parkStep). A loop under load, which sleeps now and
	// then, breaks the run at once. slept and fresh are per Park: it
	// parked; its first step is still to come.
	sparse       int
	slept, fresh bool
	events       []Event
	n            int
	err          error
}

// epollEvents is the interest set of every registration: both directions,
// peer half-close, edge-triggered.
const epollEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// New creates an epoll instance (epoll_create1 with EPOLL_CLOEXEC) and a
// non-blocking close-on-exec eventfd registered for wake-ups, and allocates
// the MaxEvents-entry event buffer. It costs three system
// calls. Any goroutine may call New; the Poller then belongs to the
// goroutine that runs its loop.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}
	setTag(&ev, ReservedTag)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &Poller{
		epfd:   epfd,
		buf:    make([]unix.EpollEvent, MaxEvents),
		wakefd: wakefd,
	}, nil
}

// setTag stores tag in the 64-bit user data of ev. The two halves go into
// the two 32-bit fields that overlay epoll_data; the kernel treats the eight
// bytes as opaque, so the tag comes back unchanged on every architecture.
func setTag(ev *unix.EpollEvent, tag uint64) {
	ev.Fd = int32(uint32(tag))
	ev.Pad = int32(uint32(tag >> 32))
}

// getTag is the inverse of setTag.
func getTag(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Add registers fd for edge-triggered read, write and peer half-close
// readiness (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET); every Event for fd will
// carry tag. A descriptor is registered once for its whole life: adding it
// twice fails with EEXIST. One epoll_ctl system call, no allocation. Loop
// goroutine only.
func (p *Poller) Add(fd int, tag uint64) error {
	if p.epfd < 0 {
		return ErrClosed
	}
	if tag == ReservedTag {
		return ErrReservedTag
	}
	if fd < 0 {
		return errBadFD
	}
	ev := unix.EpollEvent{Events: epollEvents}
	setTag(&ev, tag)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Del removes the registration of fd, which stays open (closing fd removes
// it too; see the package contract). Events already collected by an
// earlier Wait may still name its tag, which is why the loop checks the
// generation packed into the tag. One epoll_ctl system call, no
// allocation. Loop goroutine only.
func (p *Poller) Del(fd int) error {
	if p.epfd < 0 {
		return ErrClosed
	}
	if fd < 0 {
		return errBadFD
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wait blocks in epoll_wait until at least one event, a Wake, or the
// timeout (timeout < 0: forever; 0: do not block; > 0: rounded up to whole
// milliseconds so that timers never fire early). It fills events[:n] and
// returns n, at most min(len(events), MaxEvents). A wake-up is consumed here
// (the eventfd is read, then the wake flag cleared) and not reported, so n
// may be 0; an interrupted call (EINTR) also returns 0, nil. One system call
// plus one read when woken; no allocation. Loop goroutine only.
func (p *Poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.epfd < 0 {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	buf := p.buf
	if len(events) < len(buf) {
		buf = buf[:len(events)]
	}
	var n int
	if timeout == 0 {
		// A wait that cannot block skips the scheduler's system call
		// bookkeeping: under load most waits are of this kind.
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if e != 0 {
			if e == unix.EINTR {
				return 0, nil
			}
			return 0, os.NewSyscallError("epoll_wait", e)
		}
		n = int(r)
	} else {
		var err error
		n, err = unix.EpollWait(p.epfd, buf, timeoutMillis(timeout))
		if err != nil {
			if err == unix.EINTR {
				return 0, nil
			}
			return 0, os.NewSyscallError("epoll_wait", err)
		}
	}
	j, _ := p.collect(events, buf[:n])
	return j, nil
}

// collect converts the kernel's events into events, consuming a wake-up
// (reported as woke) instead of passing it on.
func (p *Poller) collect(events []Event, buf []unix.EpollEvent) (n int, woke bool) {
	for i := range buf {
		ev := &buf[i]
		tag := getTag(ev)
		if tag == ReservedTag {
			p.drainWake()
			woke = true
			continue
		}
		events[n] = Event{Tag: tag, Flags: epollFlags(ev.Events)}
		n++
	}
	return n, woke
}

// poll is Wait(events, 0) that also reports whether a wake-up was
// consumed.
func (p *Poller) poll(events []Event) (n int, woke bool, err error) {
	buf := p.buf
	if len(events) < len(buf) {
		buf = buf[:len(events)]
	}
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
	if e != 0 {
		if e == unix.EINTR {
			return 0, true, nil // let the caller look around before waiting again
		}
		return 0, false, os.NewSyscallError("epoll_wait", e)
	}
	n, woke = p.collect(events, buf[:r])
	return n, woke, nil
}

// Park waits like Wait, with the same results, but parks the calling
// goroutine in the Go runtime's poller instead of blocking its thread in
// epoll_wait: the thread and its P go on running other goroutines, and the
// runtime makes the goroutine runnable again when an event or a Wake
// arrives or the deadline until passes (zero: none; it is not rounded to
// milliseconds). It polls first and parks only when nothing is ready, so
// a loop may call it instead of its non-blocking Wait; then it costs one
// epoll_wait, like Wait(events, 0). In a run of Parks that each slept and
// returned at most one event (a loop serving one exchange at a time) it
// arms the gate without that poll, which would find nothing: an event
// already waiting then comes back through the runtime's poller. A sleep
// costs, on top of the two epoll_waits before and after it, the arming
// and disarming of a gate (see parker) and the runtime's own epoll_wait,
// shared by every parked goroutine. A deadline earlier than the one set costs a runtime timer
// update; a later one costs a spurious wake-up when the earlier passes.
// It allocates nothing after the first call, which creates the gate and
// registers it with the runtime; if that fails, Park yields to the
// scheduler and then Waits. Loop goroutine only; a goroutine locked to
// its thread should use Wait, since parking it parks its thread too.
func (p *Poller) Park(events []Event, until time.Time) (int, error) {
	if p.epfd < 0 {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	if p.park == nil {
		p.park = p.newParker()
	}
	k := p.park
	if k.broken {
		return p.waitYield(events, until)
	}
	k.events, k.want, k.n, k.err = events, until, 0, nil
	k.fresh, k.slept = true, false
	err := k.rc.Read(k.step)
	n, werr := k.n, k.err
	k.events = nil
	if k.broken {
		return p.waitYield(events, until)
	}
	if err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			k.broken = true // the runtime's poller failed: later Parks are Waits
		}
		// Past the deadline the runtime does not call step, and a
		// deadline once passed stays passed: poll now, and make the
		// next Park set its deadline again.
		k.until = time.Time{}
		_ = k.f.SetReadDeadline(time.Time{})
		if k.armed {
			k.disarm()
		}
		n, _, werr = p.poll(events)
	}
	if n <= 1 && k.slept {
		k.sparse++
	} else {
		k.sparse = 0
	}
	return n, werr
}

// parkStep runs inside RawConn.Read: it polls without blocking and asks
// the runtime to park the goroutine (false) only when nothing happened.
// The runtime clears the descriptor's readiness before the first call, so
// an event that arrives after this poll always wakes the goroutine.
func (p *Poller) parkStep(uintptr) bool {
	k := p.park
	// A disarmed gate may be armed without polling first: arming checks
	// the loop's epoll descriptor, and one that is ready already makes
	// the gate fire at once, so an event that came in the meantime costs
	// a round through the runtime's poller instead of being lost. In a
	// run of sparse Parks that saves the poll that would find nothing;
	// otherwise (events are likely waiting) the poll comes first.
	skip := k.fresh && k.sparse >= 2 && !k.armed
	k.fresh = false
	if !skip {
		if k.armed {
			k.disarm()
		}
		n, woke, err := p.poll(k.events)
		k.n, k.err = n, err
		if n > 0 || woke || err != nil {
			return true
		}
	}
	// Nothing ready. The runtime timer behind the deadline moves only
	// when the new deadline is earlier: one that is later (a connection's
	// idle timer pushed out by its traffic, the usual case) would cost a
	// timer update per sleep, while keeping the earlier one costs one
	// spurious wake-up, after which the deadline is set afresh.
	if !k.want.IsZero() && (k.until.IsZero() || k.want.Before(k.until)) {
		if k.f.SetReadDeadline(k.want) != nil {
			k.broken = true // Park falls back to Wait
			return true
		}
		k.until = k.want
	}
	// Arm the gate, then park. An event that arrives between the poll
	// above (if any) and the arming makes the gate fire at once, and the
	// runtime calls step again. The gate is disarmed again when this step
	// runs after it fired.
	if e := unix.EpollCtl(k.gate, unix.EPOLL_CTL_MOD, p.epfd, &k.arm); e != nil {
		k.err = os.NewSyscallError("epoll_ctl", e)
		return true
	}
	k.armed, k.slept = true, true
	return false
}

// disarm takes the gate's pending report, if any, which disarms it
// (EPOLLONESHOT takes effect when a report is collected, not when it
// fires); an armed gate that has not fired stays armed but quiet until
// the loop's epoll gets an event, and the next disarm takes that one.
// One epoll_wait that does not block.
func (k *parker) disarm() {
	var ev [1]unix.EpollEvent
	r, _, _ := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(k.gate), uintptr(unsafe.Pointer(&ev[0])), 1, 0, 0, 0)
	if r == 1 {
		k.armed = false
	}
}

// newParker prepares Park; on any failure Park falls back to Wait.
func (p *Poller) newParker() *parker {
	k := &parker{broken: true, arm: unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT}}
	gate, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return k
	}
	// Registered disarmed (no events wanted) until the first park.
	if err := unix.EpollCtl(gate, unix.EPOLL_CTL_ADD, p.epfd, &unix.EpollEvent{Events: unix.EPOLLONESHOT}); err != nil {
		unix.Close(gate)
		return k
	}
	if err := unix.SetNonblock(gate, true); err != nil {
		unix.Close(gate)
		return k
	}
	f := os.NewFile(uintptr(gate), "epoll-gate")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return k
	}
	// A descriptor the runtime could not register reports an error from
	// its deadline calls: keep Wait then.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return k
	}
	k.f, k.rc, k.gate, k.broken = f, rc, gate, false
	k.step = p.parkStep
	return k
}

// epollFlags maps an epoll event mask to Flags as the contract says.
func epollFlags(e uint32) Flags {
	var f Flags
	if e&unix.EPOLLIN != 0 {
		f |= Readable
	}
	if e&unix.EPOLLOUT != 0 {
		f |= Writable
	}
	if e&unix.EPOLLRDHUP != 0 {
		f |= ReadHangUp | Readable
	}
	if e&unix.EPOLLHUP != 0 {
		f |= HangUp | Readable | Writable
	}
	if e&unix.EPOLLERR != 0 {
		f |= Error | Readable | Writable
	}
	return f
}

// drainWake consumes a wake-up: it clears the wake flag. The eventfd is
// not read: it is registered edge-triggered, and every write is an edge
// whatever the counter holds, so reading it back would only cost a system
// call per wake-up (the counter cannot reach its limit: one write per
// wake-up, 2^64-2 of them). A Wake racing with this either found the flag
// still set, and its task is seen by the loop that is running now, or
// finds it clear and writes again, which the next Wait reports.
func (p *Poller) drainWake() {
	p.woken.Store(0)
}

// Wake makes the current or next Wait return. Safe from any goroutine and
// concurrently with Wait and Close. Deduplicated: only the call that sets
// the wake flag (by CAS) writes to the eventfd, so a burst of Wakes costs
// one system call and every other call is one atomic operation. Returns
// ErrClosed after Close.
func (p *Poller) Wake() error {
	if !p.woken.CompareAndSwap(0, 1) {
		if p.closed.Load() {
			return ErrClosed
		}
		return nil // a wake-up is already pending
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		return ErrClosed
	}
	b := [8]byte{1} // any non-zero counter value wakes epoll
	for {
		_, err := unix.Write(p.wakefd, b[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: counter saturated, a wake-up is pending anyway
			p.wakeWrites.Add(1)
			return nil
		case unix.EINTR:
			continue
		}
		p.woken.Store(0) // nothing was written: let the next Wake try again
		return os.NewSyscallError("write", err)
	}
}

// Close releases the epoll descriptor and the eventfd. Registered
// descriptors are not closed. Later calls of any method return ErrClosed;
// a concurrent Wake either completes before the eventfd is closed or
// returns ErrClosed. Loop goroutine only.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	p.closed.Store(true)
	if p.park != nil && p.park.f != nil {
		p.park.f.Close()
		p.park = nil
	}
	err1 := unix.Close(p.wakefd)
	err2 := unix.Close(p.epfd)
	p.wakefd, p.epfd = -1, -1
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}
