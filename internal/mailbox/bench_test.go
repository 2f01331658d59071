package mailbox

import (
	"runtime"
	"sync"
	"testing"
)

// BenchmarkPostDrain is one producer on the consumer's own goroutine: each
// op is one Post, with a Drain every 64 posts.
func BenchmarkPostDrain(b *testing.B) {
	m := New(0, func() {})
	task := func() {}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Post(task)
		i++
		if i&63 == 0 {
			m.Drain(0, nil)
		}
	}
	m.Drain(0, nil)
}

// BenchmarkPostDrain8Producers has 8 goroutines post b.N tasks in total
// while the benchmark goroutine drains them; each op is one task posted
// and run. The mailbox is bounded at 4096 tasks, so producers that outrun
// the consumer get ErrFull and yield instead of growing an ever larger
// backlog: the numbers are those of the steady state.
func BenchmarkPostDrain8Producers(b *testing.B) {
	const producers = 8
	m := New(4096, func() {})
	var ran int
	task := func() { ran++ }
	b.ReportAllocs()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p < b.N%producers {
			n++
		}
		wg.Go(func() {
			for range n {
				for m.Post(task) != nil {
					runtime.Gosched()
				}
			}
		})
	}
	for ran < b.N {
		if m.Drain(0, nil) == 0 {
			runtime.Gosched()
		}
	}
	wg.Wait()
}
