// Package ioloop is an event-loop I/O runtime: a few loops (one per core) wait
// on epoll (Linux) or kqueue (BSD, macOS) and run callbacks when sockets are
// ready, so that a program can hold 10^5–10^6 mostly idle connections without
// a goroutine, a stack and buffers for each.
//
// # The one rule of threads
//
// Each connection, timer and listener belongs to exactly one Loop for its
// whole life, and all its callbacks, and the continuations of futures made
// on that loop, run on that loop's goroutine, one at a time: callbacks need
// no locks. Methods end their doc with "Loop only." or "Safe from any
// goroutine.". Other goroutines reach in only through the doors that say so:
// Loop.Post, Submit, Conn.AsyncWrite and WriteFuture, Conn.Close (and
// CloseWrite, Abort), futures, and Group methods. A callback must never
// block; hand blocking work to Offload or a goroutine and come back with a
// future, Post or AsyncWrite.
//
// The doors keep the rule under overload. Options.MailboxSize bounds the
// tasks waiting on a loop, but only outside work (Post, Submit) is refused,
// with ErrMailboxFull; the library's own work (continuations, handed-over
// writes, close requests, dials) is never refused nor moved to another
// goroutine. A call that would wait for a loop (Listen, Shutdown, Close,
// Await, ...) fails at once with ErrOnLoop from a loop callback. The debug
// build (-tags ioloopdebug) makes every loop-only method check its caller.
//
// # Writing
//
// Write copies (loop only); WriteRef hands a buffer over and gives it back
// in a completion (loop only); AsyncWrite and WriteFuture do the same from
// any goroutine. The loop decides how the bytes reach the kernel.
//
// # One loop iteration
//
//  1. Wait in the poller until a socket is ready, a task is posted, or the
//     next timer is due. The time is cached once (Loop.Now).
//  2. Handle ready sockets within budgets: at most 128 accepts per listener,
//     16 reads or 64 KiB per connection, so no peer starves the others.
//  3. Run posted tasks (up to 4096).
//  4. Run due timers.
//  5. Flush every connection with queued output: one writev of up to 1024
//     buffers each.
//
// With Options.IOUring (Linux) steps 2 and 5 batch their system calls: the
// connections found readable are read with one io_uring_enter per 32 of
// them, and the echoes of their input and the flushes with one more,
// instead of one read and one write each. Order and semantics stay those of
// plain calls.
//
// # Memory
//
// Input is read into the loop's shared buffer and lent to OnData; only the
// bytes the handler leaves are copied into a pooled per-connection buffer,
// so an idle connection holds no buffer. Output written in a callback is
// copied into pooled chunks and sent at the end of the iteration. Every
// buffer a peer can fill is bounded (Options.MaxInput, Options.MaxOutput),
// and the output water marks (Options.HighWater, Options.LowWater) pause
// reading from a connection whose peer does not read.
//
// # Closing
//
// Close is graceful (stop delivering input, flush, FIN, wait for the peer's
// FIN within Options.Linger), CloseWrite half-closes, Abort resets. The
// peer's FIN is reported by OnEOF, not as a close. OnClose runs exactly once
// per connection, with nil after a clean close or the error that ended it.
// A panic in a callback is recovered, logged with its stack, and closes that
// connection only.
package ioloop
