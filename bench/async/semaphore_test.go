// Package async_test compares the ioloop async.Semaphore with
// golang.org/x/sync/semaphore on the uncontended path: permits are always
// free, so each benchmark measures one acquire and one release (one lock
// round trip each) and what the API costs around it — the async version
// returns an already resolved, shared future that the caller then reads.
//
//	cd bench && go test -bench . -benchmem ./async/
package async_test

import (
	"context"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/ioloop/ioloop/async"
)

// TestBothGrantAndReturnPermits checks the behaviour the benchmarks rely
// on: with permits free, an acquire succeeds at once (the async future is
// already resolved), and after as many releases all permits are free again.
func TestBothGrantAndReturnPermits(t *testing.T) {
	ctx := context.Background()
	a := async.NewSemaphore(4)
	x := semaphore.NewWeighted(4)
	for range 1000 {
		if _, err, ok := a.Acquire(ctx, 1).Result(); !ok || err != nil {
			t.Fatalf("async: free permit not granted at once (ok %v, err %v)", ok, err)
		}
		if err := x.Acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
		a.Release(1)
		x.Release(1)
	}
	if got := a.Available(); got != 4 {
		t.Fatalf("async: %d permits free after balanced use, want 4", got)
	}
	if !x.TryAcquire(4) {
		t.Fatal("x/sync: permits not all free after balanced use")
	}
	// A full semaphore refuses, and the async future stays pending until a
	// release.
	if x.TryAcquire(1) {
		t.Fatal("x/sync: acquired past its size")
	}
	if !a.TryAcquire(4) || a.TryAcquire(1) {
		t.Fatal("async: TryAcquire did not stop at the size")
	}
	f := a.Acquire(ctx, 1)
	if _, _, ok := f.Result(); ok {
		t.Fatal("async: acquire on a full semaphore resolved")
	}
	a.Release(1)
	if _, err := f.Await(ctx); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkUncontended(b *testing.B) {
	ctx := context.Background()
	b.Run("async/Acquire+Await", func(b *testing.B) {
		s := async.NewSemaphore(1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Acquire(ctx, 1).Await(ctx); err != nil {
				b.Fatal(err)
			}
			s.Release(1)
		}
	})
	b.Run("async/Acquire+Result", func(b *testing.B) {
		s := async.NewSemaphore(1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err, ok := s.Acquire(ctx, 1).Result(); !ok || err != nil {
				b.Fatal("not granted at once")
			}
			s.Release(1)
		}
	})
	b.Run("xsync/Acquire", func(b *testing.B) {
		s := semaphore.NewWeighted(1)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			s.Release(1)
		}
	})
	b.Run("async/TryAcquire", func(b *testing.B) {
		s := async.NewSemaphore(1)
		b.ReportAllocs()
		for b.Loop() {
			if !s.TryAcquire(1) {
				b.Fatal("TryAcquire failed")
			}
			s.Release(1)
		}
	})
	b.Run("xsync/TryAcquire", func(b *testing.B) {
		s := semaphore.NewWeighted(1)
		b.ReportAllocs()
		for b.Loop() {
			if !s.TryAcquire(1) {
				b.Fatal("TryAcquire failed")
			}
			s.Release(1)
		}
	})
}

// BenchmarkParallelFree runs acquire/release on every P with more permits
// than goroutines: nobody waits, but the semaphore's lock is shared.
func BenchmarkParallelFree(b *testing.B) {
	ctx := context.Background()
	b.Run("async/Acquire+Result", func(b *testing.B) {
		s := async.NewSemaphore(1 << 20)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err, ok := s.Acquire(ctx, 1).Result(); !ok || err != nil {
					b.Error("not granted at once")
					return
				}
				s.Release(1)
			}
		})
	})
	b.Run("xsync/Acquire", func(b *testing.B) {
		s := semaphore.NewWeighted(1 << 20)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Acquire(ctx, 1); err != nil {
					b.Error(err)
					return
				}
				s.Release(1)
			}
		})
	})
}
