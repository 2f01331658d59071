package buffer

import (
	"testing"
	"unsafe"
)

// base returns the address of b's backing array, to tell chunks apart.
func base(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func TestPoolGetClassSizes(t *testing.T) {
	p := NewPool(0)
	cases := []struct{ n, cap int }{
		{n: -5, cap: 256}, {n: 0, cap: 256}, {n: 1, cap: 256}, {n: 256, cap: 256},
		{n: 257, cap: 1024}, {n: 4096, cap: 4096}, {n: 4097, cap: 16384},
		{n: 65536, cap: 65536}, {n: 300 << 10, cap: 1 << 20}, {n: 1 << 20, cap: 1 << 20},
		{n: 1<<20 + 1, cap: 1<<20 + 1},
	}
	for _, c := range cases {
		b := p.Get(c.n)
		if len(b) != 0 || cap(b) != c.cap {
			t.Errorf("Get(%d): len %d cap %d, want len 0 cap %d", c.n, len(b), cap(b), c.cap)
		}
	}
}

func TestPoolReuse(t *testing.T) {
	p := NewPool(0)
	a := p.Get(1000)
	a = append(a, "hello"...)
	p.Put(a)
	if p.Pooled() != 1024 {
		t.Fatalf("Pooled = %d, want 1024", p.Pooled())
	}
	b := p.Get(600)
	if base(b) != base(a) || len(b) != 0 || cap(b) != 1024 {
		t.Fatal("Get did not reuse the free chunk of its class")
	}
	if p.Pooled() != 0 {
		t.Fatalf("Pooled = %d after reuse, want 0", p.Pooled())
	}
	// A different class does not take it.
	p.Put(b)
	if c := p.Get(100); base(c) == base(b) {
		t.Fatal("a 1 KiB chunk was handed out for the 256 B class")
	}
}

func TestPoolDropsNonClassChunks(t *testing.T) {
	p := NewPool(0)
	p.Put(make([]byte, 0, 1000))
	p.Put(make([]byte, 10, 2<<20))
	p.Put(nil)
	c := p.Get(1024)
	p.Put(c[1:1]) // capacity 1023: not a class
	if p.Pooled() != 0 {
		t.Fatalf("Pooled = %d, want 0", p.Pooled())
	}
}

func TestPoolBudget(t *testing.T) {
	p := NewPool(10 << 10) // 10 KiB
	var chunks [][]byte
	for range 5 {
		chunks = append(chunks, p.Get(4<<10))
	}
	for _, c := range chunks {
		p.Put(c)
		if p.Pooled() > 10<<10 {
			t.Fatalf("Pooled = %d over budget", p.Pooled())
		}
	}
	if p.Pooled() != 8<<10 {
		t.Fatalf("Pooled = %d, want 8192 (two chunks kept, three dropped)", p.Pooled())
	}
	p.Put(p.Get(1 << 10)) // a smaller class still fits
	if p.Pooled() != 9<<10 {
		t.Fatalf("Pooled = %d, want 9216", p.Pooled())
	}
	tiny := NewPool(100) // below the smallest class: pools nothing
	tiny.Put(tiny.Get(1))
	if tiny.Pooled() != 0 {
		t.Fatal("pool under 256 bytes kept a chunk")
	}
}

func TestPoolZeroAndNil(t *testing.T) {
	var z Pool
	z.Put(z.Get(10 << 20))
	for range 100 {
		z.Put(make([]byte, 0, 1<<20))
	}
	if z.Pooled() != DefaultMaxPooled {
		t.Fatalf("zero Pool holds %d, want the default budget %d", z.Pooled(), DefaultMaxPooled)
	}
	var np *Pool
	b := np.Get(10)
	if cap(b) != 256 {
		t.Fatalf("nil pool Get cap %d", cap(b))
	}
	np.Put(b)
	if np.Pooled() != 0 {
		t.Fatal("nil pool reports pooled bytes")
	}
}

func TestPoolSteadyStateAllocatesNothing(t *testing.T) {
	p := NewPool(0)
	p.Put(p.Get(4096))
	if a := testing.AllocsPerRun(100, func() { p.Put(p.Get(3000)) }); a != 0 {
		t.Fatalf("Get+Put allocated %.1f times", a)
	}
}
