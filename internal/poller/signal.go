package poller

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Signal wakes one goroutine blocked in Wait when another goroutine (a
// loop callback) calls Notify. Where the backend has a descriptor for it
// (an eventfd on Linux), the waiter sleeps in the Go runtime's own poller,
// like a goroutine reading a net.Conn: Notify makes the descriptor ready,
// and the goroutine runs again when a thread next polls the runtime's
// poller, which is the notifying loop's thread when that loop is about to
// sleep. A channel would instead make the goroutine runnable at once and
// wake a second, idle thread to run it (the scheduler's wakep), which on a
// lightly loaded machine costs a thread wake-up and a migration per
// notification. Elsewhere, or when no descriptor is available, Signal is a
// channel.
//
// A Notify before Wait is kept; Notifies that arrive before Wait returns
// are merged into one. One goroutine waits at a time. Close must not race
// with Wait; a Notify that races with Close, or comes after it, writes to
// the descriptor only while it is open (the write holds the os.File's
// reference), never to a number the system has handed out again.
type Signal struct {
	set  atomic.Bool
	f    *os.File // nil: the channel serves
	rc   syscall.RawConn
	step func(uintptr) bool // take, bound once
	ch   chan struct{}
}

// NewSignal returns a Signal. It costs one descriptor (an eventfd) where
// the backend has one, and never fails: without a descriptor the Signal is
// a channel. Any goroutine.
func NewSignal() *Signal {
	s := &Signal{}
	if fd, ok := signalFD(); ok {
		f := os.NewFile(uintptr(fd), "signal")
		if rc, err := f.SyscallConn(); err == nil && f.SetReadDeadline(time.Time{}) == nil {
			s.f, s.rc = f, rc
			s.step = s.take
			return s
		}
		f.Close()
	}
	s.ch = make(chan struct{}, 1)
	return s
}

// poke is Notify's step inside RawConn.Write: one write to the eventfd.
func poke(fd uintptr) bool {
	signalWrite(int(fd))
	return true
}

// take is Wait's step inside RawConn.Read: done when the flag was set.
func (s *Signal) take(uintptr) bool { return s.set.Swap(false) }

// Wait blocks until Notify is called, or returns at once if it was since
// the last Wait. No allocation; no system call when the Notify came first.
func (s *Signal) Wait() { s.WaitContext(nil) }

// WaitContext is Wait bounded by ctx (nil: no bound): it reports whether a
// Notify came (true) or ctx ended first (false). A ctx that can end costs
// one context.AfterFunc (an allocation); when it ends, the waiter is kicked
// as NotifyNow kicks it, without the flag.
func (s *Signal) WaitContext(ctx context.Context) bool {
	var cdone <-chan struct{}
	if ctx != nil {
		cdone = ctx.Done()
	}
	if s.f == nil {
		select {
		case <-s.ch:
			return true
		case <-cdone:
			select {
			case <-s.ch:
				return true
			default:
				return false
			}
		}
	}
	if cdone != nil {
		if s.set.Swap(false) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		stop := context.AfterFunc(ctx, s.kick)
		defer stop()
	}
	for {
		err := s.rc.Read(s.step)
		if err == nil {
			return true
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			// The runtime refused the descriptor: wait for the flag by
			// yielding (not expected on a working system).
			for !s.set.Swap(false) {
				if cdone != nil && ctx.Err() != nil {
					return false
				}
				runtime.Gosched()
			}
			return true
		}
		// A kick: NotifyNow's (this one's, or a late one of an earlier
		// Notify) or ctx's. Clear the deadline, then look at the flag.
		_ = s.f.SetReadDeadline(time.Time{})
		if s.set.Swap(false) {
			return true
		}
		if cdone != nil && ctx.Err() != nil {
			return false
		}
	}
}

// kick makes a Wait look at its flag and context again.
func (s *Signal) kick() { _ = s.f.SetReadDeadline(kicked) }

// NotifyNow is Notify without a system call: the runtime makes the waiting
// goroutine runnable at once (its read deadline moves into the past), and
// may wake an idle thread to run it. It suits a notifier that goes on
// working, whose thread would not run the goroutine soon.
func (s *Signal) NotifyNow() {
	if s.f == nil {
		s.Notify()
		return
	}
	s.set.Store(true)
	s.kick()
}

// kicked is the deadline NotifyNow sets: any time already gone.
var kicked = time.Unix(1, 0)

// Notify wakes the goroutine in Wait, or the next Wait. Safe from any
// goroutine; one system call (a write to the eventfd) where a descriptor
// serves, never blocking.
func (s *Signal) Notify() {
	if s.f == nil {
		select {
		case s.ch <- struct{}{}:
		default:
		}
		return
	}
	// The flag first: a waiter woken by the write must see it. The waiter
	// may return (seeing the flag) before the write, and close the Signal:
	// the write goes through the file, which stays open until it is done.
	s.set.Store(true)
	_ = s.rc.Write(poke)
}

// Close releases the descriptor. Not concurrently with Wait; a Notify
// after it does nothing.
func (s *Signal) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
