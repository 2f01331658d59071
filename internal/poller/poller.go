// Package poller is the readiness reactor under every ioloop Loop: epoll on
// Linux, kqueue on darwin, FreeBSD, NetBSD and OpenBSD, behind one contract.
//
// Linux is the reference backend and the one the tests exercise most; the
// kqueue backend builds for darwin, freebsd, netbsd and openbsd. Other
// systems are not supported: the package does not build there.
//
// # Contract
//
// Every backend implements exactly this.
//
// Ownership. A Poller belongs to one loop goroutine. New, Add, Del, Wait and
// Close are called by that goroutine only and never concurrently with each
// other. Wake is the single door for other goroutines: it may be called from
// any goroutine at any time, also concurrently with Wait and with Close.
//
// Registration. Add registers a file descriptor once, for its whole life, for
// both read and write readiness, edge-triggered (EPOLLET; EV_CLEAR). There is
// no re-arming and no per-direction interest: the loop keeps both directions
// armed and ignores what it does not need. Each registration carries a 64-bit
// tag chosen by the caller; every Event for that descriptor carries the tag
// back unchanged. The loop packs the descriptor and a generation number into
// the tag so that an event for a descriptor that was closed and reused in the
// meantime is recognised and dropped. The tag ReservedTag is used internally
// and is refused by Add. Closing a registered descriptor ends its
// registration: the kernel drops it (kqueue at once; epoll once no other
// descriptor refers to the same open file, which holds for the loop's
// sockets: they are close-on-exec and never duplicated). That is how the
// loop unregisters a socket; it never calls Del. Del removes the
// registration of a descriptor that stays open. Either way, events returned
// by an earlier Wait may still carry the tag, which is why the loop checks
// the generation packed into it.
//
// Edge-triggered reports. A descriptor is reported when its readiness rises:
// when it is first registered and is already ready, when new data arrives,
// when send-buffer room appears, when the peer shuts down or resets. It is
// NOT reported again merely because unread data is still there: after a
// Readable report the loop must read until EAGAIN (or keep its own note that
// more input is pending), otherwise it will not hear about that data again
// until more arrives. The Flags of one report are hints, not a diff: epoll
// reports the whole current readiness at the moment of the report (a report
// caused by new input also carries Writable when there is room to write),
// kqueue reports the filter that fired. A spurious flag costs the loop one
// read or write that returns EAGAIN, never correctness.
//
// Flag mapping. epoll: EPOLLIN -> Readable; EPOLLOUT -> Writable;
// EPOLLRDHUP -> ReadHangUp|Readable; EPOLLHUP -> HangUp|Readable|Writable;
// EPOLLERR -> Error|Readable|Writable. kqueue: EVFILT_READ -> Readable, with
// EV_EOF also ReadHangUp; EVFILT_WRITE -> Writable, with EV_EOF also HangUp;
// EV_ERROR, or EV_EOF carrying an errno in fflags, -> Error. The read and
// write filters of one descriptor are separate kqueue events; Wait merges
// them into one Event when the kernel returns them next to each other, and
// otherwise reports them separately, so the loop must accept the same tag
// more than once in one batch.
//
// Waiting. Wait blocks until at least one registered descriptor is reported,
// a Wake happens, or the timeout passes: timeout < 0 waits forever, 0 polls
// without blocking, and a positive timeout is rounded UP to whole
// milliseconds so that a timer deadline is never reached early. Wait fills
// events[:n] and returns n; n may be 0 after a wake-up, a timeout or an
// interrupted system call (EINTR is not an error). At most min(len(events),
// MaxEvents) events are returned per call. Wait allocates nothing.
//
// Wake-ups. Wake makes the current Wait return, or the next one if no Wait is
// running. Wake-ups are deduplicated by an atomic flag: the Wake that flips
// it from clear to set writes to the wake descriptor (eventfd, EVFILT_USER
// trigger, or a pipe); every other Wake returns at once without a system
// call. Wait consumes the wake-up itself: it collects the wake
// descriptor's report (and, where the descriptor must be emptied to report
// again, a pipe, drains it) first and only then clears the flag, so a Wake
// that races with it either is seen by this Wait or arms the next one; none
// is lost. The eventfd is edge-triggered and not read back: each write is
// a new report. A wake-up is never reported as an Event. The loop
// therefore drains its task queue after every Wait, whatever n is.
//
// Parking. Park(events, until) has Wait's results but, where the backend
// can, parks the calling goroutine in the Go runtime's own poller instead
// of blocking its thread: it polls first, returns at once when anything is
// ready, and otherwise sleeps until an event, a Wake or the deadline until
// (zero: none; not rounded). While the caller is not parked, events do not
// wake the runtime's poller. Wait's wake-up and edge-trigger rules hold
// unchanged. The epoll backend implements it (see Poller.Park); kqueue
// yields to the Go scheduler (runtime.Gosched) and then blocks in kevent
// as Wait does.
//
// Errors. Every error starts with "poller: "; system call failures are
// *os.SyscallError values naming the system call, so errors.Is works with
// the errno.
package poller

import (
	"errors"
	"math"
	"runtime"
	"time"
)

// Flags is a set of readiness conditions reported for one descriptor.
type Flags uint8

const (
	// Readable: data or a pending connection can be read, or EOF.
	Readable Flags = 1 << iota
	// Writable: the send buffer has room, or a connect finished.
	Writable
	// ReadHangUp: the peer shut down its write side (EPOLLRDHUP; EV_EOF on
	// the read filter). Reads return the remaining data and then 0.
	ReadHangUp
	// HangUp: both directions are closed (EPOLLHUP; EV_EOF on the write
	// filter).
	HangUp
	// Error: an error is pending on the socket (EPOLLERR; EV_ERROR). Read it
	// with SO_ERROR or let the next read or write return it.
	Error
)

// String returns the set flags joined by '|', for logs and test failures.
// It allocates; do not call it on a hot path. Safe from any goroutine.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	names := [...]string{"Readable", "Writable", "ReadHangUp", "HangUp", "Error"}
	var b []byte
	for i, name := range names {
		if f&(1<<i) == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, name...)
	}
	if rest := f &^ (1<<len(names) - 1); rest != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, "0x"...)
		const hex = "0123456789abcdef"
		b = append(b, hex[rest>>4], hex[rest&0xf])
	}
	return string(b)
}

// Event is one readiness report. Tag is the value given to Add for the
// descriptor (the loop packs the fd and a generation in it, to drop events
// for a closed and reused fd); Flags says what became ready.
type Event struct {
	Tag   uint64
	Flags Flags
}

// MaxEvents is the largest number of events one Wait call returns. Wait uses
// at most this many entries of the slice it is given; the kernel buffer for
// them is allocated once, by New.
const MaxEvents = 1024

// ReservedTag is used by the poller for its own wake-up registration. Add
// refuses it with ErrReservedTag.
const ReservedTag = math.MaxUint64

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("poller: poller is closed")
	// ErrReservedTag is returned by Add for the tag ReservedTag.
	ErrReservedTag = errors.New("poller: tag is reserved")
	// ErrNoRoom is returned by Wait when events is empty: the kernel could
	// report an edge that the caller would then never see.
	ErrNoRoom = errors.New("poller: Wait needs a non-empty events slice")
	// errBadFD is returned by Add and Del for a negative descriptor.
	errBadFD = errors.New("poller: negative file descriptor")
)

// timeoutMillis converts a Wait timeout into the millisecond argument of
// epoll_wait: -1 for forever, 0 for no blocking, otherwise the duration
// rounded up to a whole millisecond and capped at math.MaxInt32.
func timeoutMillis(d time.Duration) int {
	switch {
	case d < 0:
		return -1
	case d == 0:
		return 0
	}
	if d >= math.MaxInt32*time.Millisecond {
		return math.MaxInt32
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// waitYield is Park without the runtime's poller: a yield, so that the
// goroutines the loop's callbacks woke run on this thread first, then a
// blocking Wait.
func (p *Poller) waitYield(events []Event, until time.Time) (int, error) {
	runtime.Gosched()
	return p.Wait(events, untilTimeout(until))
}

// untilTimeout converts Park's deadline into Wait's timeout.
func untilTimeout(until time.Time) time.Duration {
	if until.IsZero() {
		return -1
	}
	return max(time.Until(until), 0)
}
