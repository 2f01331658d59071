package ioloop

import (
	"errors"
	"fmt"
	"os"

	"github.com/ioloop/ioloop/async"
)

// Errors reported to OnClose and returned by Conn methods. Each one says what
// broke: all of them end only the connection they are reported for, except
// ErrGroupClosed, which means the whole Group is gone.
var (
	// ErrClosed is returned by Conn methods called after the connection
	// started closing.
	ErrClosed = errors.New("ioloop: connection closed")
	// ErrGroupClosed is returned when the Group was closed or shut down.
	ErrGroupClosed = errors.New("ioloop: group closed")
	// ErrInputLimit closes a connection whose unconsumed input grew past
	// Options.MaxInput: the handler did not consume what the peer sent.
	ErrInputLimit = errors.New("ioloop: unconsumed input over the limit")
	// ErrOutputLimit closes a connection whose queued output grew past
	// Options.MaxOutput: the peer does not read what is written to it.
	ErrOutputLimit = errors.New("ioloop: queued output over the limit")
	// ErrIdleTimeout closes a connection that had no reads or writes for
	// Options.IdleTimeout.
	ErrIdleTimeout = errors.New("ioloop: idle timeout")
	// ErrLingerTimeout is reported when a graceful Close could not flush the
	// queued output within Options.Linger; the rest was dropped.
	ErrLingerTimeout = errors.New("ioloop: linger timeout: queued output dropped")
	// ErrReadDeadline closes a connection whose read deadline passed with no
	// input; it wraps os.ErrDeadlineExceeded.
	ErrReadDeadline = fmt.Errorf("ioloop: read deadline: %w", os.ErrDeadlineExceeded)
	// ErrWriteDeadline closes a connection whose write deadline passed with
	// output still queued; it wraps os.ErrDeadlineExceeded.
	ErrWriteDeadline = fmt.Errorf("ioloop: write deadline: %w", os.ErrDeadlineExceeded)
	// ErrDialTimeout is reported when a dialed connection did not connect
	// within its timeout; it wraps os.ErrDeadlineExceeded.
	ErrDialTimeout = fmt.Errorf("ioloop: dial timeout: %w", os.ErrDeadlineExceeded)
	// ErrAborted is reported to OnClose after Conn.Abort.
	ErrAborted = errors.New("ioloop: connection aborted")
	// ErrServerClosed is reported to OnClose for connections still open when
	// a Shutdown's context ended or the Group was closed.
	ErrServerClosed = errors.New("ioloop: server closed")
	// ErrMailboxFull is returned by Loop.Post (and fails Submit's future)
	// when Options.MailboxSize tasks already wait on the loop: the loop is
	// behind. It is backpressure, not a fault: shed the work, fail the
	// request it serves, or retry once earlier work has completed (a future
	// of it resolved) — never retry in a tight loop, which only keeps the
	// loop's inbox full.
	ErrMailboxFull = errors.New("ioloop: loop mailbox full")
	// ErrOnLoop is returned at once by a call that would block (Listen,
	// ListenPacket, Shutdown, Close, Future.Await, http1's Listen and
	// DoContext, ...) when it is made from a loop callback: the loop would
	// wait for itself. Call it from another goroutine, or use the
	// non-blocking form (a future, a callback). It is async.ErrOnLoop, so
	// errors.Is matches it whichever package reported it.
	ErrOnLoop = async.ErrOnLoop
)
