package buffer

// DefaultMaxPooled is the byte budget of free chunks that NewPool uses when
// given a budget <= 0: 16 MiB per pool (that is, per loop).
const DefaultMaxPooled = 16 << 20

// classSizes are the chunk capacities the pool recycles, smallest first.
var classSizes = [...]int{256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

const numClasses = len(classSizes)

// MaxClass is the largest chunk size the pool recycles (1 MiB). Get(n) with
// n > MaxClass allocates exactly n bytes of capacity that Put drops.
const MaxClass = 1 << 20

// classFor returns the index of the smallest class holding n bytes, or -1
// if n is larger than every class.
func classFor(n int) int {
	for i, c := range classSizes {
		if n <= c {
			return i
		}
	}
	return -1
}

// classOf returns the index of the class whose size is exactly c, or -1.
func classOf(c int) int {
	for i, s := range classSizes {
		if c == s {
			return i
		}
		if c < s {
			return -1
		}
	}
	return -1
}

// Pool recycles byte chunks in size classes (256 B, 1 KiB, 4 KiB, 16 KiB,
// 64 KiB, 256 KiB, 1 MiB). It belongs to one loop: it is not safe for
// concurrent use. The free lists are bounded by a total byte budget; chunks
// Put beyond it are dropped to the garbage collector. A nil *Pool is valid
// and pools nothing; the zero Pool uses DefaultMaxPooled.
type Pool struct {
	free   [numClasses][][]byte // per-class stacks of free chunks
	pooled int                  // bytes held in free
	max    int                  // budget; 0 means DefaultMaxPooled
}

// NewPool returns an empty pool that keeps at most maxPooled bytes of free
// chunks (maxPooled <= 0: DefaultMaxPooled). A budget below 256 pools
// nothing. It allocates only the Pool itself; free chunks are kept as they
// are Put. Any goroutine may create a pool; then only its loop uses it.
func NewPool(maxPooled int) *Pool {
	if maxPooled <= 0 {
		maxPooled = DefaultMaxPooled
	}
	return &Pool{max: maxPooled}
}

func (p *Pool) budget() int {
	if p.max <= 0 {
		return DefaultMaxPooled
	}
	return p.max
}

// Get returns a chunk of length 0 and capacity at least n: the smallest class
// size >= n (n <= 0 counts as 1), or exactly n if n > MaxClass. It reuses a
// free chunk of that class when one exists and otherwise allocates. The
// bytes beyond the length are not cleared. Loop goroutine only.
func (p *Pool) Get(n int) []byte {
	ci := classFor(max(n, 1))
	if ci < 0 {
		return make([]byte, 0, n)
	}
	if p != nil {
		if s := p.free[ci]; len(s) > 0 {
			b := s[len(s)-1]
			s[len(s)-1] = nil
			p.free[ci] = s[:len(s)-1]
			p.pooled -= classSizes[ci]
			return b
		}
	}
	return make([]byte, 0, classSizes[ci])
}

// Put gives chunk b back to the pool for reuse. Chunks whose capacity is not
// exactly a class size, and chunks that would take the pool over its byte
// budget, are dropped (left to the garbage collector). The caller must not
// use b afterwards, nor Put it twice. Cost O(1); it allocates only when a
// free list grows past its previous peak. Loop goroutine only.
func (p *Pool) Put(b []byte) {
	if p == nil {
		return
	}
	c := cap(b)
	ci := classOf(c)
	if ci < 0 || p.pooled+c > p.budget() {
		return
	}
	p.free[ci] = append(p.free[ci], b[:0])
	p.pooled += c
}

// Pooled returns the number of bytes currently held in free chunks. Cost
// O(1). Loop goroutine only.
func (p *Pool) Pooled() int {
	if p == nil {
		return 0
	}
	return p.pooled
}
