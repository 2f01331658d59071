package async

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// chanLoop is a loop-like Executor for benchmarks: one goroutine draining a
// buffered channel of tasks.
type chanLoop struct {
	tasks chan Task
	wg    sync.WaitGroup
}

func newChanLoop() *chanLoop {
	l := &chanLoop{tasks: make(chan Task, 1024)}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for t := range l.tasks {
			t.Run()
		}
	}()
	return l
}

func (l *chanLoop) Execute(t Task) { l.tasks <- t }
func (l *chanLoop) close()         { close(l.tasks); l.wg.Wait() }

var benchCount atomic.Int64

func benchCont(int, error) { benchCount.Add(1) }

// BenchmarkFutureResolveContinuation measures create + one continuation +
// resolve, the continuation running on a loop-like executor goroutine. Compare
// with BenchmarkChannelHandoff, the same hand-off done with a buffered
// channel.
func BenchmarkFutureResolveContinuation(b *testing.B) {
	l := newChanLoop()
	benchCount.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := NewPromise[int](l)
		p.Future().OnComplete(benchCont)
		p.Resolve(i)
	}
	for benchCount.Load() != int64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	l.close()
}

// BenchmarkChannelHandoff is the baseline: one value handed to another
// goroutine through a buffered channel, which counts it.
func BenchmarkChannelHandoff(b *testing.B) {
	ch := make(chan int, 1024)
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		for range ch {
			n.Add(1)
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ch <- i
	}
	for n.Load() != int64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	close(ch)
	<-done
}

// queueExec runs tasks when drained by the caller: it isolates the cost of the
// future itself from the cross-goroutine hand-off.
type queueExec struct{ tasks []Task }

func (q *queueExec) Execute(t Task) { q.tasks = append(q.tasks, t) }

func BenchmarkFutureResolveContinuationSameGoroutine(b *testing.B) {
	ex := &queueExec{tasks: make([]Task, 0, 1)}
	benchCount.Store(0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p := NewPromise[int](ex)
		p.Future().OnComplete(benchCont)
		p.Resolve(i)
		for _, t := range ex.tasks {
			t.Run()
		}
		clear(ex.tasks)
		ex.tasks = ex.tasks[:0]
	}
	if benchCount.Load() != int64(b.N) {
		b.Fatalf("%d continuations for %d futures", benchCount.Load(), b.N)
	}
}

func BenchmarkFutureAwaitResolved(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		p := NewPromise[int](nil)
		p.Resolve(i)
		if v, _ := p.Future().Await(ctx); v != i {
			b.Fatal(v)
		}
	}
}

func BenchmarkSemaphoreAcquireRelease(b *testing.B) {
	s := NewSemaphore(1)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Acquire(ctx, 1).Await(ctx); err != nil {
			b.Fatal(err)
		}
		s.Release(1)
	}
}

func BenchmarkSemaphoreTryAcquireRelease(b *testing.B) {
	s := NewSemaphore(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !s.TryAcquire(1) {
			b.Fatal("TryAcquire failed")
		}
		s.Release(1)
	}
}

// BenchmarkChanSemaphore is the buffered-channel baseline for the semaphore.
func BenchmarkChanSemaphore(b *testing.B) {
	s := make(chan struct{}, 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s <- struct{}{}
		<-s
	}
}

// queuePutGet moves b.N items from producers to consumers through q, using the
// non-blocking methods first and the futures when they must wait.
func queuePutGet(b *testing.B, producers, consumers int, q *Queue[int]) {
	ctx := context.Background()
	var wg sync.WaitGroup
	per := b.N / producers
	total := per * producers
	var got atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := q.TryGet()
				if err == ErrQueueEmpty {
					_, err = q.Get(ctx).Await(ctx)
				}
				if err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	var pw sync.WaitGroup
	for range producers {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for i := range per {
				if q.TryPut(i) == ErrQueueFull {
					if _, err := q.Put(ctx, i).Await(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	pw.Wait()
	q.Shutdown()
	wg.Wait()
	b.StopTimer()
	if got.Load() != int64(total) {
		b.Fatalf("got %d of %d", got.Load(), total)
	}
}

func chanPutGet(b *testing.B, producers, consumers int) {
	ch := make(chan int, 1024)
	var wg sync.WaitGroup
	per := b.N / producers
	b.ReportAllocs()
	b.ResetTimer()
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
	}
	var pw sync.WaitGroup
	for range producers {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for i := range per {
				ch <- i
			}
		}()
	}
	pw.Wait()
	close(ch)
	wg.Wait()
}

func BenchmarkQueuePutGet1x1(b *testing.B) { queuePutGet(b, 1, 1, NewQueue[int](1024)) }
func BenchmarkQueuePutGet8x8(b *testing.B) { queuePutGet(b, 8, 8, NewQueue[int](1024)) }
func BenchmarkChanPutGet1x1(b *testing.B)  { chanPutGet(b, 1, 1) }
func BenchmarkChanPutGet8x8(b *testing.B)  { chanPutGet(b, 8, 8) }

// BenchmarkQueueFuturesPutGet1x1 always goes through the futures (Put and Get
// awaited), the cost of the generic path.
func BenchmarkQueueFuturesPutGet1x1(b *testing.B) {
	q := NewQueue[int](1024)
	ctx := context.Background()
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		defer close(done)
		for {
			if _, err := q.Get(ctx).Await(ctx); err != nil {
				return
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		if _, err := q.Put(ctx, i).Await(ctx); err != nil {
			b.Fatal(err)
		}
	}
	q.Shutdown()
	<-done
}

func benchBatcher(b *testing.B, producers int) {
	var flushed atomic.Int64
	bt := NewBatcher(func(batch []int) error {
		flushed.Add(int64(len(batch)))
		return nil
	}, BatcherOptions[int]{MaxItems: 1000, Overflow: OverflowWait})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var fails atomic.Int64
	if producers == 1 {
		for i := 0; i < b.N; i++ {
			if _, err, ok := bt.Add(ctx, i).Result(); ok && err != nil {
				fails.Add(1)
			}
		}
	} else {
		b.SetParallelism((producers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err, ok := bt.Add(ctx, i).Result(); ok && err != nil {
					fails.Add(1)
				}
				i++
			}
		})
	}
	bt.Close().Await(ctx)
	b.StopTimer()
	if fails.Load() != 0 || flushed.Load() != int64(b.N) {
		b.Fatalf("flushed %d of %d, %d failures", flushed.Load(), b.N, fails.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkBatcher1Producer(b *testing.B)   { benchBatcher(b, 1) }
func BenchmarkBatcher64Producers(b *testing.B) { benchBatcher(b, 64) }

func BenchmarkPoolGo(b *testing.B) {
	pool := NewPool(2, 1024)
	defer pool.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Go(ctx, pool, func(context.Context) (int, error) { return 1, nil }).Await(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
