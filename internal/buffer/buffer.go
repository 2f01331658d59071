// Package buffer holds the byte buffers of the event loop: a pool of chunks
// in size classes, the per-connection input buffer, the per-connection
// output queue, and the water-mark accounting used for backpressure.
//
// # Contract
//
// Ownership. Every type here belongs to one event loop and is used only
// from that loop's goroutine. Nothing takes a lock and nothing is safe for
// concurrent use; a loop owns one Pool and passes it to the Input and Output
// methods of its connections. Bytes queued from other goroutines reach an
// Output only after the loop received them through its mailbox.
//
// Chunks. A chunk is a []byte whose capacity is exactly one of the size
// classes (256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB). Pool.Get
// hands out chunks of length 0; Pool.Put takes them back. The pool keeps at
// most its byte budget (default 16 MiB) of free chunks and drops the rest to
// the garbage collector, so a burst does not pin memory forever. A request
// larger than the largest class is allocated at its exact size and is never
// pooled. Pooled chunks are not cleared: a chunk from Get may hold bytes of
// an earlier user beyond its length, which the types here never expose. A
// chunk must be Put at most once, and not used after being Put. A nil *Pool
// is valid everywhere a *Pool is taken: it allocates every chunk and pools
// nothing.
//
// Input. An Input is the unconsumed input of one connection, one chunk at a
// time. It holds no memory while empty: the moment the last byte is
// consumed its chunk goes back to the pool, so an idle connection costs no
// buffer. Bytes returned by Input.Bytes are borrowed: they stay valid only
// until the next call of a mutating method (Append, Discard, Release).
//
// Output. An Output is a FIFO of segments, each either a pooled chunk that
// holds copies of small writes (Write) or a caller's slice queued by
// reference (WriteRef). Iovecs lends the queued bytes in order, without
// copying, for one writev; Advance then drops as many bytes as the kernel
// took. A WriteRef's done callback runs exactly once: with nil after all its
// bytes were advanced past, or with the error given to Reset. Done
// callbacks run in queue order, after the Output's own state is consistent,
// so a callback may Write or WriteRef to the same Output, and even Advance
// or Reset it. The segment ring is reused: once it has grown to the peak
// number of segments, Write, WriteRef, Iovecs and Advance allocate nothing.
//
// Flow. A Flow is the water-mark state of one direction of one connection:
// paused above High, resumed at or below Low. It is pure arithmetic on sizes
// and is tested without sockets.
//
// Errors. Misuse that would corrupt a stream (discarding or advancing more
// bytes than are queued) panics with a message starting "buffer: ": the
// owner's state is wrong and continuing would send or parse wrong bytes.
package buffer
