//go:build darwin || freebsd || netbsd || openbsd

package poller

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Poller is the kqueue backend: one kqueue, a table from descriptor to tag,
// and a wake-up source (an EVFILT_USER event on darwin and FreeBSD, a
// non-blocking pipe on NetBSD and OpenBSD). One Poller belongs to one loop;
// see the package contract for which goroutine may call what.
type Poller struct {
	// kq is the kqueue descriptor. Owned by the loop goroutine; -1 after
	// Close.
	kq int
	// buf receives the kernel's events; allocated once by New, used only
	// inside Wait.
	buf []unix.Kevent_t
	// tags maps a registered descriptor to its tag. kqueue's udata is a
	// pointer on most of these systems, which must not carry an arbitrary
	// integer, so the tag lives here instead. Loop goroutine only.
	tags []registration
	// ts is Wait's timeout argument, kept here so that passing its address
	// to kevent does not allocate.
	ts unix.Timespec

	// woken is the wake-up deduplication flag, as in the contract.
	woken atomic.Uint32
	// mu keeps the wake source open while a Wake uses it.
	mu sync.RWMutex
	// closed is set by Close while holding mu for writing; Wake reads it.
	closed atomic.Bool
	// wake is the platform's wake-up source; immutable until Close.
	wake wakeSource

	// wakeWrites counts wake-source triggers; a test hook proving
	// deduplication.
	wakeWrites atomic.Uint64
}

// registration is one entry of Poller.tags.
type registration struct {
	tag uint64
	ok  bool
}

// New creates a close-on-exec kqueue and registers the wake-up source. Any
// goroutine may call New; the Poller then belongs to its loop goroutine.
func New() (*Poller, error) {
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	p := &Poller{kq: kq, buf: make([]unix.Kevent_t, MaxEvents)}
	if err := p.wake.open(kq); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return p, nil
}

// Add registers fd for edge-triggered read and write readiness (EVFILT_READ
// and EVFILT_WRITE with EV_ADD|EV_CLEAR) and remembers tag for it. One
// kevent system call; allocates only when the tag table must grow past the
// largest descriptor seen so far. Loop goroutine only.
func (p *Poller) Add(fd int, tag uint64) error {
	if p.kq < 0 {
		return ErrClosed
	}
	if tag == ReservedTag {
		return ErrReservedTag
	}
	if fd < 0 {
		return errBadFD
	}
	if fd >= len(p.tags) {
		grown := make([]registration, max(fd+1, 2*len(p.tags), 64))
		copy(grown, p.tags)
		p.tags = grown
	}
	var ch [2]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR)
	unix.SetKevent(&ch[1], fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(p.kq, ch[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	p.tags[fd] = registration{tag: tag, ok: true}
	return nil
}

// Del removes both filters of fd, which stays open, and forgets its tag;
// events for fd already in the kernel buffer of a later Wait are dropped.
// Closing fd removes its filters too (see the package contract); its tag
// is then replaced when the descriptor number is next added. One kevent
// system call, no allocation. Loop goroutine only.
func (p *Poller) Del(fd int) error {
	if p.kq < 0 {
		return ErrClosed
	}
	if fd < 0 {
		return errBadFD
	}
	if fd < len(p.tags) {
		p.tags[fd] = registration{}
	}
	var ch [2]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, unix.EVFILT_READ, unix.EV_DELETE)
	unix.SetKevent(&ch[1], fd, unix.EVFILT_WRITE, unix.EV_DELETE)
	if _, err := unix.Kevent(p.kq, ch[:], nil, nil); err != nil && err != unix.ENOENT {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// Wait blocks in kevent until at least one event, a Wake, or the timeout
// (timeout < 0: forever; 0: do not block; > 0: rounded up to whole
// milliseconds, like the epoll backend). It fills events[:n] and returns n,
// at most min(len(events), MaxEvents); a read and a write report for the
// same descriptor that the kernel returns next to each other are merged
// into one Event. A wake-up is consumed here and not reported, so n may be
// 0; EINTR also returns 0, nil. No allocation. Loop goroutine only.
func (p *Poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.kq < 0 {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	buf := p.buf
	if len(events) < len(buf) {
		buf = buf[:len(events)]
	}
	var ts *unix.Timespec
	if ms := timeoutMillis(timeout); ms >= 0 {
		p.ts = unix.NsecToTimespec(int64(ms) * int64(time.Millisecond))
		ts = &p.ts
	}
	n, err := unix.Kevent(p.kq, nil, buf, ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("kevent", err)
	}
	j := 0
	for i := range n {
		ev := &buf[i]
		if p.wake.is(ev) {
			p.wake.drain()
			p.woken.Store(0)
			continue
		}
		fd := int(ev.Ident)
		if fd >= len(p.tags) || !p.tags[fd].ok {
			continue // deregistered after the kernel queued the event
		}
		tag := p.tags[fd].tag
		f := keventFlags(ev)
		if j > 0 && events[j-1].Tag == tag {
			events[j-1].Flags |= f
			continue
		}
		events[j] = Event{Tag: tag, Flags: f}
		j++
	}
	return j, nil
}

// keventFlags maps one kevent to Flags as the contract says.
func keventFlags(ev *unix.Kevent_t) Flags {
	var f Flags
	eof := ev.Flags&unix.EV_EOF != 0
	switch ev.Filter {
	case unix.EVFILT_READ:
		f = Readable
		if eof {
			f |= ReadHangUp
		}
	case unix.EVFILT_WRITE:
		f = Writable
		if eof {
			f |= HangUp
		}
	}
	if eof && ev.Fflags != 0 {
		f |= Error // fflags holds the socket error, e.g. ECONNRESET
	}
	if ev.Flags&unix.EV_ERROR != 0 {
		f |= Error | Readable | Writable
	}
	return f
}

// Wake makes the current or next Wait return. Safe from any goroutine and
// concurrently with Wait and Close. Deduplicated: only the call that sets
// the wake flag (by CAS) triggers the wake source, so a burst of Wakes costs
// one system call. Returns ErrClosed after Close.
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
	if err := p.wake.trigger(p.kq); err != nil {
		p.woken.Store(0)
		return err
	}
	p.wakeWrites.Add(1)
	return nil
}

// Close releases the kqueue and the wake source. Registered descriptors are
// not closed. Later calls of any method return ErrClosed. Loop goroutine
// only.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	p.closed.Store(true)
	err1 := p.wake.close()
	err2 := unix.Close(p.kq)
	p.kq = -1
	if err1 != nil {
		return err1
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}

// Park is Wait on this backend, after a yield: the loop goroutine blocks
// its thread in kevent. The yield (runtime.Gosched) first lets goroutines
// that the loop's callbacks woke run on this thread; behind a blocking
// kevent they would wait until the runtime's monitor took the thread's P
// back. See the Linux backend for what Park does where it can.
func (p *Poller) Park(events []Event, until time.Time) (int, error) {
	return p.waitYield(events, until)
}
