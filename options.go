package ioloop

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Balance says how a Group spreads the connections of one listener over its
// loops.
type Balance int

const (
	// BalanceDefault is BalanceReusePort on Linux for TCP and
	// BalanceRoundRobin elsewhere and for Unix sockets.
	BalanceDefault Balance = iota
	// BalanceReusePort gives every loop its own listening socket bound with
	// SO_REUSEPORT; the kernel spreads connections by hash. No hand-off
	// between loops, so it is the cheapest.
	BalanceReusePort
	// BalanceRoundRobin accepts on one loop and hands connections to the
	// loops in turn.
	BalanceRoundRobin
	// BalanceLeastConns accepts on one loop and hands each connection to the
	// loop with the fewest connections.
	BalanceLeastConns
)

func (b Balance) String() string {
	switch b {
	case BalanceDefault:
		return "default"
	case BalanceReusePort:
		return "reuseport"
	case BalanceRoundRobin:
		return "round-robin"
	case BalanceLeastConns:
		return "least-conns"
	}
	return fmt.Sprintf("Balance(%d)", int(b))
}

// Options configure a Group. The zero value is valid: every field states its
// default, used when the field is zero. Negative durations disable a timeout
// where the field says so.
type Options struct {
	// Loops is the number of event loops. Default: runtime.GOMAXPROCS(0).
	Loops int
	// LockOSThread locks each loop's goroutine to one OS thread. Default:
	// unlocked, and an unlocked loop sleeps parked in the Go runtime's
	// poller, like a goroutine blocked on a net.Conn, instead of in a
	// blocking epoll_wait.
	//
	// Why unlocked is the default: a goroutine woken by a loop callback (a
	// future completed for a goroutine in Await, a client's DoContext, a
	// channel send, the net/http adapter's workers) is queued on the loop
	// thread's scheduler slot (P). A parked loop gives the P up at once, so
	// that goroutine runs without delay, on the same thread; a loop blocked
	// in epoll_wait keeps the P inside the system call until the runtime's
	// monitor takes it back at one of its periodic ticks. Loops that hand
	// work to each other in one process (a client and a server, a proxy's
	// two sides) also pass it on without thread hand-offs, which shortens
	// each request and response between a client loop and a server loop
	// (bench/RESULTS.md has measurements of both). A sleep costs two system
	// calls more than a blocking epoll_wait (arming and disarming the gate
	// the runtime watches, see internal/poller), plus the runtime's own
	// epoll_wait, shared by every parked goroutine. Lock for thread-bound
	// state (a C library that keeps per-thread state, a thread pinned with
	// sched_setaffinity); a locked loop blocks in epoll_wait, since parking
	// it would park its thread too.
	LockOSThread bool
	// IOUring makes each loop batch its socket reads and writes through
	// io_uring (Linux): readiness still comes from the poller, but the
	// connections found readable in one wake-up are read with one system
	// call, and the echoes of their input (a write of the bytes OnData was
	// lent, as an echo or a proxy does) are written with one more, instead
	// of two system calls per connection. Order and semantics are those of
	// plain reads and writes. Cost: one more descriptor and a read area of
	// at most 512 KiB per loop. Where the kernel has no usable io_uring
	// (not Linux, too old, or a seccomp filter refuses it) loops make plain
	// system calls. Default off: epoll with plain calls is the reference.
	IOUring bool
	// Balance spreads accepted connections over the loops. Default:
	// BalanceDefault.
	Balance Balance
	// ReadBufferSize is the size of each loop's shared read buffer, and so the
	// most bytes one read can return. Default 64 KiB.
	ReadBufferSize int
	// MaxInput bounds a connection's unconsumed input. Past it the
	// connection closes with ErrInputLimit. Default 1 MiB.
	MaxInput int
	// HighWater and LowWater are the output water marks: when a connection's
	// queued output goes above HighWater the loop stops reading from it and
	// calls OnBackpressure(c, true); when it falls to LowWater or below,
	// reading resumes and OnBackpressure(c, false) is called. Defaults 64 KiB
	// and 16 KiB.
	HighWater, LowWater int
	// MaxOutput bounds a connection's queued output. A write past it closes
	// the connection with ErrOutputLimit. Default 16 MiB.
	MaxOutput int
	// IdleTimeout closes a connection with ErrIdleTimeout after that long
	// without a read or a write. Default 0: no idle timeout.
	IdleTimeout time.Duration
	// Linger bounds how long a graceful Close waits for queued output to
	// reach the kernel and for the peer to finish. Default 5 s.
	Linger time.Duration
	// MaxConns bounds the connections a Group holds (accepted and dialed).
	// Connections accepted past it are closed at once. Default 0: bounded by
	// the process's file descriptor limit only.
	MaxConns int
	// TCPKeepAlive is the keep-alive probe period of TCP connections.
	// Default 15 s; negative disables keep-alive.
	TCPKeepAlive time.Duration
	// TCPDelay leaves Nagle's algorithm on. By default TCP_NODELAY is set,
	// since the loop already batches writes.
	TCPDelay bool
	// MailboxSize bounds the tasks that other code posts to one loop
	// (Loop.Post, Submit) and that wait to run: the batch the loop is
	// running does not count, so a task may always post its successor. A
	// Post past it fails with ErrMailboxFull. The library's own work
	// (continuations of loop futures, Close/CloseWrite/Abort requests,
	// AsyncWrite, dials, listener registration, stopping) is never refused:
	// it counts towards the bound but is queued past it, and each object it
	// serves has a bounded number of such tasks in flight. Default 1<<20.
	MailboxSize int
	// HandshakeTimeout bounds a TLS handshake (ListenTLS, DialTLS), from
	// the accept (or the connect) to the end of the handshake, time in the
	// queue for a handshake goroutine included. Past it the connection
	// closes with ErrTLSHandshakeTimeout. Default 10 s; negative: none.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds the goroutines that run TLS handshakes, the
	// group's handshake pool: crypto/tls's handshake blocks while it waits
	// for the peer, so it runs on a goroutine, started once the peer's
	// first record arrived. Connections past the bound wait for a free
	// goroutine, in arrival order, without one of their own. Whatever the
	// bound, only half the CPUs (at least one) compute handshakes at once,
	// so that a flood of handshakes leaves the loops CPU time. Default 1024.
	MaxHandshakes int
	// Logger receives recovered panics (with their stacks) and accept errors.
	// Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultReadBufferSize = 64 << 10
	defaultMaxInput       = 1 << 20
	defaultHighWater      = 64 << 10
	defaultLowWater       = 16 << 10
	defaultMaxOutput      = 16 << 20
	defaultLinger         = 5 * time.Second
	defaultKeepAlive      = 15 * time.Second
	defaultMailbox        = 1 << 20
	defaultHandshake      = 10 * time.Second
	defaultMaxHandshakes  = 1024

	readBudget      = 16       // reads per connection per loop iteration
	readBytesBudget = 64 << 10 // bytes per connection per loop iteration
	acceptBudget    = 128      // accepts per listener per loop iteration
	mailboxBatch    = 4096     // posted tasks run per loop iteration
)

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	neg := func(name string, v int) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("ioloop: Options.%s = %d: must not be negative", name, v))
		}
	}
	neg("Loops", o.Loops)
	neg("ReadBufferSize", o.ReadBufferSize)
	neg("MaxInput", o.MaxInput)
	neg("HighWater", o.HighWater)
	neg("LowWater", o.LowWater)
	neg("MaxOutput", o.MaxOutput)
	neg("MaxConns", o.MaxConns)
	neg("MailboxSize", o.MailboxSize)
	neg("MaxHandshakes", o.MaxHandshakes)
	if o.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("ioloop: Options.IdleTimeout = %v: must not be negative", o.IdleTimeout))
	}
	if o.Linger < 0 {
		errs = append(errs, fmt.Errorf("ioloop: Options.Linger = %v: must not be negative", o.Linger))
	}
	if o.Balance < BalanceDefault || o.Balance > BalanceLeastConns {
		errs = append(errs, fmt.Errorf("ioloop: Options.Balance = %v: unknown", o.Balance))
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	if o.Loops == 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.ReadBufferSize == 0 {
		o.ReadBufferSize = defaultReadBufferSize
	}
	if o.MaxInput == 0 {
		o.MaxInput = defaultMaxInput
	}
	if o.HighWater == 0 {
		o.HighWater = defaultHighWater
	}
	if o.LowWater == 0 {
		o.LowWater = min(defaultLowWater, o.HighWater/4)
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = max(defaultMaxOutput, 2*o.HighWater)
	}
	if o.Linger == 0 {
		o.Linger = defaultLinger
	}
	if o.TCPKeepAlive == 0 {
		o.TCPKeepAlive = defaultKeepAlive
	}
	if o.MailboxSize == 0 {
		o.MailboxSize = defaultMailbox
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = defaultHandshake
	}
	if o.MaxHandshakes == 0 {
		o.MaxHandshakes = defaultMaxHandshakes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LowWater >= o.HighWater {
		return o, fmt.Errorf("ioloop: Options.LowWater (%d) must be below HighWater (%d)", o.LowWater, o.HighWater)
	}
	if o.MaxOutput < o.HighWater {
		return o, fmt.Errorf("ioloop: Options.MaxOutput (%d) must not be below HighWater (%d)", o.MaxOutput, o.HighWater)
	}
	return o, nil
}
