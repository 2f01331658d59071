package buffer

import "errors"

// ErrReset is given to pending WriteRef done callbacks when Output.Reset is
// called with a nil error, so that a dropped buffer is never reported as
// written.
var ErrReset = errors.New("buffer: output reset")

// Chunk sizing for Output.Write: a new chunk holds at least minChunk bytes,
// grows with the bytes already queued (so a long burst of small writes uses
// few, larger chunks and few iovecs), and is at most maxChunk so that every
// chunk stays in a recyclable class.
const (
	minChunk = 4 << 10
	maxChunk = 64 << 10
)

// Ring sizing for the segment queue: it starts at minRing entries, doubles
// when full, and a ring larger than keepRing entries is dropped when the
// queue empties, so that an idle connection keeps at most a small ring.
const (
	minRing  = 4
	keepRing = 32
)

// segment is one entry of an Output: a pooled chunk holding copies of
// writes, or a caller's slice queued by reference with its done callback.
type segment struct {
	buf    []byte      // the queued bytes are buf[off:]
	off    int         // bytes of buf already advanced past
	done   func(error) // WriteRef callback, nil for chunks
	pooled bool        // buf is a Pool chunk (Write), returned on Advance
}

func (s *segment) rem() int { return len(s.buf) - s.off }

// Output is a connection's queue of outgoing bytes: a ring of segments,
// each a pooled chunk of copied writes or a slice queued by reference. The
// zero value is empty and holds no memory. It belongs to the connection's
// loop: only that goroutine may call its methods, always with that loop's
// Pool.
type Output struct {
	segs []segment // ring buffer; len is 0 or a power of two
	head int       // index of the first segment
	n    int       // number of queued segments
	size int       // number of queued bytes
}

// Len returns the number of queued bytes not yet advanced past. Cost O(1).
// Loop goroutine only.
func (o *Output) Len() int { return o.size }

// Segments returns the number of queued segments, an upper bound on the
// iovecs needed to write everything. Cost O(1). Loop goroutine only.
func (o *Output) Segments() int { return o.n }

func (o *Output) at(i int) *segment { return &o.segs[(o.head+i)&(len(o.segs)-1)] }

// grow doubles the segment ring when it is full.
func (o *Output) grow() {
	if o.n == len(o.segs) {
		ns := make([]segment, max(minRing, 2*len(o.segs)))
		for i := 0; i < o.n; i++ {
			ns[i] = *o.at(i)
		}
		o.segs, o.head = ns, 0
	}
}

// push appends a segment, growing the ring when full.
func (o *Output) push(s segment) {
	o.grow()
	*o.at(o.n) = s
	o.n++
}

// pushFront inserts a segment ahead of all others, growing the ring when
// full.
func (o *Output) pushFront(s segment) {
	o.grow()
	o.head = (o.head - 1) & (len(o.segs) - 1)
	o.segs[o.head] = s
	o.n++
}

// pop removes and returns the first segment, clearing its slot.
func (o *Output) pop() segment {
	s := &o.segs[o.head]
	v := *s
	*s = segment{}
	o.head = (o.head + 1) & (len(o.segs) - 1)
	o.n--
	if o.n == 0 {
		o.head = 0
		if len(o.segs) > keepRing {
			o.segs = nil
		}
	}
	return v
}

// Write copies b to the end of the queue. It fills the free capacity of the
// last chunk first, then takes new chunks from p, each sized to the rest of
// b but at least 4 KiB, at least the bytes already queued (so chunks grow
// during a burst) and at most 64 KiB. Cost O(len(b)); no allocation when p
// has free chunks and the segment ring has room. Loop goroutine only.
func (o *Output) Write(p *Pool, b []byte) {
	for len(b) > 0 {
		if o.n > 0 {
			if t := o.at(o.n - 1); t.pooled && len(t.buf) < cap(t.buf) {
				k := copy(t.buf[len(t.buf):cap(t.buf)], b)
				t.buf = t.buf[:len(t.buf)+k]
				o.size += k
				b = b[k:]
				continue
			}
		}
		want := min(max(len(b), minChunk, min(o.size, maxChunk)), maxChunk)
		c := p.Get(want)
		k := min(len(b), cap(c))
		c = append(c, b[:k]...)
		o.push(segment{buf: c, pooled: true})
		o.size += k
		b = b[k:]
	}
}

// Prepend copies b to the front of the queue, ahead of every byte queued
// before: for bytes that were to go out before them but that a write took
// only in part. Cost O(len(b)); no allocation when p has free chunks and
// the segment ring has room. Loop goroutine only.
func (o *Output) Prepend(p *Pool, b []byte) {
	if o.n == 0 {
		o.Write(p, b)
		return
	}
	for len(b) > 0 { // from the end of b, each chunk in front of the last
		c := p.Get(min(max(len(b), minChunk), maxChunk))
		k := min(len(b), cap(c))
		c = append(c, b[len(b)-k:]...)
		o.pushFront(segment{buf: c, pooled: true})
		o.size += k
		b = b[:len(b)-k]
	}
}

// WriteRef queues b by reference, without copying. The caller gives b up:
// it must not modify b until done runs. done (may be nil) is called exactly
// once, on the loop goroutine: with nil once every byte of b was advanced
// past, or with the Reset error if the queue is dropped first. An empty b
// completes when every byte queued before it has been advanced past, at
// once if the queue is empty. Meant for large buffers (the caller picks the
// threshold, e.g. 16 KiB) and for bytes handed over by other goroutines.
// Cost O(1); no allocation when the segment ring has room. Loop goroutine
// only.
func (o *Output) WriteRef(b []byte, done func(error)) {
	if len(b) == 0 && o.n == 0 {
		if done != nil {
			done(nil)
		}
		return
	}
	o.push(segment{buf: b, done: done})
	o.size += len(b)
}

// Iovecs appends to dst up to max non-empty slices that cover the queued
// bytes in order (max <= 0: no limit) and returns the extended dst. The
// slices alias the queue: they are valid until the next Advance or Reset
// and must not be modified. Cost O(number of slices); no allocation when dst
// has capacity. Loop goroutine only.
func (o *Output) Iovecs(dst [][]byte, max int) [][]byte {
	k := 0
	for i := 0; i < o.n; i++ {
		if max > 0 && k >= max {
			break
		}
		s := o.at(i)
		if s.rem() == 0 {
			continue
		}
		dst = append(dst, s.buf[s.off:])
		k++
	}
	return dst
}

// Advance drops the first n queued bytes, normally the count a writev
// reported. Emptied chunks go back to p, and the done callbacks of
// WriteRef buffers now fully advanced past run with nil, in queue order.
// The bytes are accounted before any callback runs, so a callback may use
// this Output, and a panicking callback leaves the queue consistent (the
// remaining completed callbacks then run at the next Advance). It panics if
// n < 0 or n > Len(). Cost O(segments completed); no allocation. Loop
// goroutine only.
func (o *Output) Advance(p *Pool, n int) {
	if n < 0 || n > o.size {
		panic("buffer: Output.Advance out of range")
	}
	o.size -= n
	for i := 0; i < o.n && n > 0; i++ {
		s := o.at(i)
		r := s.rem()
		if n < r {
			s.off += n
			break
		}
		s.off = len(s.buf)
		n -= r
	}
	for o.n > 0 && o.at(0).rem() == 0 {
		s := o.pop()
		if s.pooled {
			p.Put(s.buf)
		}
		if s.done != nil {
			s.done(nil)
		}
	}
}

// Reset drops every queued byte, returns chunks to p, and calls each pending
// done callback with err (ErrReset if err is nil), in queue order. Bytes
// queued by those callbacks while Reset runs are dropped too, so the Output
// is empty when Reset returns. Cost O(segments); no allocation. Loop
// goroutine only.
func (o *Output) Reset(p *Pool, err error) {
	if err == nil {
		err = ErrReset
	}
	for o.n > 0 {
		s := o.pop()
		o.size -= s.rem()
		if s.pooled {
			p.Put(s.buf)
		}
		if s.done != nil {
			s.done(err)
		}
	}
	o.size = 0
}
