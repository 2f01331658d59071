//go:build !linux

package sock

import "errors"

// ErrRingUnavailable reports that the system offers no io_uring: only Linux
// has one.
var ErrRingUnavailable = errors.New("sock: io_uring unavailable")

// Ring is Linux's batch of socket reads and writes; elsewhere NewRing
// always fails and a loop makes one system call per read and write.
type Ring struct{}

// NewRing fails with ErrRingUnavailable: only Linux has io_uring.
func NewRing(entries int) (*Ring, error) { return nil, ErrRingUnavailable }

// Cap is Linux's; unreachable here.
func (r *Ring) Cap() int { return 0 }

// Queued is Linux's; unreachable here.
func (r *Ring) Queued() int { return 0 }

// Read is Linux's; unreachable here.
func (r *Ring) Read(fd int, p []byte) int { panic("sock: no io_uring") }

// Write is Linux's; unreachable here.
func (r *Ring) Write(fd int, p []byte) int { panic("sock: no io_uring") }

// RingIovecs is Linux's.
const RingIovecs = 16

// Writev is Linux's; unreachable here.
func (r *Ring) Writev(fd int, bufs [][]byte) int { panic("sock: no io_uring") }

// Submit is Linux's; unreachable here.
func (r *Ring) Submit() []int32 { panic("sock: no io_uring") }

// Err is Linux's; unreachable here.
func (r *Ring) Err() error { return nil }

// Break is Linux's; unreachable here.
func (r *Ring) Break() error { return nil }

// Close is Linux's; unreachable here.
func (r *Ring) Close() error { return nil }

// RingResult is Linux's; unreachable here.
func RingResult(call string, res int32) (int, error) { panic("sock: no io_uring") }
