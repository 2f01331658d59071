package timer

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkScheduleCancel measures one Schedule plus one Cancel with 10k
// other timers pending.
func BenchmarkScheduleCancel(b *testing.B) {
	var h Heap
	f := func() {}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		h.Schedule(rng.Int64N(1_000_000), 0, f)
	}
	whens := make([]int64, 1024)
	for i := range whens {
		whens[i] = rng.Int64N(1_000_000)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := h.Schedule(whens[i&1023], 0, f)
		h.Cancel(t)
	}
}

// BenchmarkReset measures moving one of 10k pending timers, the common
// "extend the idle deadline" operation.
func BenchmarkReset(b *testing.B) {
	var h Heap
	f := func() {}
	rng := rand.New(rand.NewPCG(5, 6))
	hs := make([]Handle, 10_000)
	for i := range hs {
		hs[i] = h.Schedule(rng.Int64N(1_000_000), 0, f)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Reset(hs[i%len(hs)], int64(1_000_000+i))
	}
}

// BenchmarkPopExpired measures the steady state of a loop with 10k pending
// timers: each op pops one expired timer and schedules a replacement.
func BenchmarkPopExpired(b *testing.B) {
	var h Heap
	f := func() {}
	for i := range 10_000 {
		h.Schedule(int64(i), 0, f)
	}
	now := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.PopExpired(now); !ok {
			b.Fatal("nothing expired")
		}
		h.Schedule(now+10_000, 0, f)
		now++
	}
}

// BenchmarkPopExpiredRepeating measures the tick of repeating timers with
// 10k of them pending.
func BenchmarkPopExpiredRepeating(b *testing.B) {
	var h Heap
	f := func() {}
	for i := range 10_000 {
		h.Schedule(int64(i), 10_000, f)
	}
	now := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.PopExpired(now); !ok {
			b.Fatal("nothing expired")
		}
		now++
	}
}
