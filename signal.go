package ioloop

import (
	"context"

	"github.com/ioloop/ioloop/internal/poller"
)

// Signal hands a result from a loop callback to a goroutine that blocks
// for it: the goroutine calls Wait, the callback calls Notify. The waiting
// goroutine sleeps in the Go runtime's own poller, as one reading a
// net.Conn does, and runs again when a thread next polls it, which is the
// notifying loop's own thread when that loop is about to sleep. A channel
// send from the callback would make the goroutine runnable at once and
// also wake an idle thread to run it: on a lightly loaded machine, a
// thread wake-up and a move to another CPU per result. (http1.Client's
// DoContext waits this way.) Under a CPU-bound load the goroutine waits,
// like network I/O does, until a thread polls (at the latest when the
// runtime's monitor next polls the network).
//
// A Notify before Wait is kept, and Notifies that arrive before Wait
// returns are merged into one; one goroutine waits at a time. Close must
// not race with Wait; a Notify after Close does nothing, so the waiter may
// close the Signal as soon as Wait returns. On Linux a Signal holds an eventfd; on the
// kqueue systems, or when no descriptor is left, it is a channel.
type Signal struct{ s *poller.Signal }

// NewSignal returns a Signal. It costs one descriptor on Linux and never
// fails. Any goroutine.
func NewSignal() *Signal { return &Signal{poller.NewSignal()} }

// Wait blocks until Notify is called, or returns at once when it was called
// since the last Wait. No allocation. Any goroutine but a loop's.
func (s *Signal) Wait() { s.s.Wait() }

// WaitContext is Wait bounded by ctx (nil: no bound): it reports whether
// Notify was called (true) or ctx ended first (false, and a later Notify is
// kept for the next Wait). A ctx that can end costs one allocation (its
// context.AfterFunc). Any goroutine but a loop's.
func (s *Signal) WaitContext(ctx context.Context) bool { return s.s.WaitContext(ctx) }

// Notify wakes the goroutine in Wait, or the next Wait. Any goroutine
// (usually a loop callback); it never blocks: one system call on Linux.
func (s *Signal) Notify() { s.s.Notify() }

// NotifyNow is Notify for a loop that has more work before it sleeps: no
// system call; the goroutine becomes runnable at once and the runtime may
// wake an idle thread to run it. Any goroutine.
func (s *Signal) NotifyNow() { s.s.NotifyNow() }

// Close releases the Signal's descriptor. Not concurrently with Wait; a
// later Notify does nothing.
func (s *Signal) Close() error { return s.s.Close() }
