package buffer

// Input holds the unconsumed input bytes of one connection in one pooled
// chunk. The zero value is empty and holds no memory. When it becomes empty
// its chunk goes back to the pool, so an idle connection holds no buffer.
// It belongs to the connection's loop: only that goroutine may call its
// methods, always with that loop's Pool.
type Input struct {
	buf []byte // the chunk; buf[off:] are the unconsumed bytes
	off int
}

// Len returns the number of unconsumed bytes. Cost O(1). Loop goroutine
// only.
func (in *Input) Len() int { return len(in.buf) - in.off }

// Cap returns the capacity of the chunk currently held, 0 when none: the
// memory this input costs. Cost O(1). Loop goroutine only.
func (in *Input) Cap() int { return cap(in.buf) }

// Bytes returns the unconsumed bytes without copying. The slice is borrowed:
// it is valid only until the next call of Append, Discard or Release, and
// must not be modified by anyone but the loop. It is nil when the input is
// empty. Cost O(1). Loop goroutine only.
func (in *Input) Bytes() []byte {
	if in.buf == nil {
		return nil
	}
	return in.buf[in.off:]
}

// Append copies data after the unconsumed bytes. If the chunk lacks room at
// its end it first moves the unconsumed bytes to the front of the chunk when
// that makes room; otherwise it moves them to a bigger chunk from p (at
// least twice the current capacity, so repeated appends cost amortized O(1)
// per byte) and returns the old chunk to p. Cost O(len(data)) plus any move;
// no allocation when p has a free chunk of the needed class. Loop goroutine
// only.
func (in *Input) Append(p *Pool, data []byte) {
	if len(data) == 0 {
		return
	}
	if in.buf == nil {
		in.buf = append(p.Get(len(data)), data...)
		in.off = 0
		return
	}
	if len(data) <= cap(in.buf)-len(in.buf) {
		in.buf = append(in.buf, data...)
		return
	}
	n := in.Len()
	need := n + len(data)
	if need <= cap(in.buf) {
		// Compact: the consumed prefix makes room.
		copy(in.buf[:n], in.buf[in.off:])
		in.buf = append(in.buf[:n], data...)
		in.off = 0
		return
	}
	nb := p.Get(max(need, 2*cap(in.buf)))
	nb = append(nb, in.buf[in.off:]...)
	nb = append(nb, data...)
	p.Put(in.buf)
	in.buf, in.off = nb, 0
}

// Discard consumes the first n unconsumed bytes. When that empties the
// input its chunk goes back to p. It panics if n < 0 or n > Len(): the
// caller's parser would otherwise lose its place in the stream. Cost O(1).
// Loop goroutine only.
func (in *Input) Discard(p *Pool, n int) {
	if n < 0 || n > in.Len() {
		panic("buffer: Input.Discard out of range")
	}
	in.off += n
	if in.off == len(in.buf) {
		in.Release(p)
	}
}

// Release drops every unconsumed byte and returns the chunk to p, leaving
// the zero Input. Cost O(1). Loop goroutine only.
func (in *Input) Release(p *Pool) {
	if in.buf != nil {
		p.Put(in.buf)
	}
	in.buf, in.off = nil, 0
}
