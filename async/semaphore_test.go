package async

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestSemaphoreFIFOFairness(t *testing.T) {
	checkGoroutines(t)
	s := NewSemaphore(10)
	ctx := context.Background()
	if _, err := await(t, s.Acquire(ctx, 10)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var ran sync.WaitGroup
	weights := []int64{6, 1, 4, 2}
	fs := make([]*Future[struct{}], len(weights))
	for i, w := range weights {
		fs[i] = s.Acquire(ctx, w)
		ran.Add(1)
		fs[i].OnComplete(func(struct{}, error) { mu.Lock(); order = append(order, i); mu.Unlock(); ran.Done() })
	}
	// A small request that would fit must not barge ahead of waiters.
	if s.TryAcquire(1) {
		t.Fatal("TryAcquire barged ahead of waiters")
	}
	s.Release(5) // 5 free: the head (6) does not fit, so nobody may pass.
	if _, _, ok := fs[1].Result(); ok {
		t.Fatal("a later request was granted before the head")
	}
	s.Release(5) // 10 free: 6, 1 fit (7), then 4 does not fit (11).
	await(t, fs[0])
	await(t, fs[1])
	if _, _, ok := fs[2].Result(); ok || s.Available() != 3 || s.Waiting() != 2 {
		t.Fatalf("after release: avail=%d waiting=%d", s.Available(), s.Waiting())
	}
	s.Release(6)
	await(t, fs[2])
	await(t, fs[3])
	if s.Available() != 3 {
		t.Fatalf("Available = %d, want 3", s.Available())
	}
	ran.Wait()
	mu.Lock()
	got := slices.Clone(order)
	mu.Unlock()
	slices.Sort(got) // continuations run on separate goroutines; grant order is checked above
	if !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("granted %v", got)
	}
}

func TestSemaphoreCancelHeadUnblocksOthers(t *testing.T) {
	checkGoroutines(t)
	s := NewSemaphore(4)
	if !s.TryAcquire(3) {
		t.Fatal("TryAcquire(3) on empty semaphore failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	big := s.Acquire(ctx, 4)
	small := s.Acquire(context.Background(), 1)
	if _, _, ok := small.Result(); ok {
		t.Fatal("small barged")
	}
	cancel()
	if _, err := await(t, big); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire = %v", err)
	}
	if _, err := await(t, small); err != nil {
		t.Fatal(err)
	}
	if s.Available() != 0 {
		t.Fatalf("Available = %d, want 0", s.Available())
	}
	s.Release(4)
	if _, err := await(t, s.Acquire(context.Background(), 5)); err != ErrTooLarge {
		t.Fatalf("Acquire(5) of 4 = %v", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := await(t, s.Acquire(cctx, 1)); err != nil {
		t.Fatalf("free permits are granted even with an ended context: %v", err)
	}
	s.Release(1)
	defer func() {
		if recover() == nil {
			t.Fatal("over-release did not panic")
		}
	}()
	s.Release(1)
}

func TestSemaphoreNoLostPermitsUnderCancellation(t *testing.T) {
	checkGoroutines(t)
	const size = 5
	s := NewSemaphore(size)
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := int64(0)
	maxHeld := int64(0)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				n := int64(r.IntN(size) + 1)
				ctx, cancel := context.WithCancel(context.Background())
				f := s.Acquire(ctx, n)
				if r.IntN(3) == 0 {
					cancel()
				}
				_, err := f.Await(nil)
				cancel()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("acquire: %v", err)
					}
					continue
				}
				mu.Lock()
				held += n
				if held > maxHeld {
					maxHeld = held
				}
				mu.Unlock()
				mu.Lock()
				held -= n
				mu.Unlock()
				s.Release(n)
			}
		}()
	}
	wg.Wait()
	if s.Available() != size || s.Waiting() != 0 {
		t.Fatalf("after the storm: available=%d waiting=%d", s.Available(), s.Waiting())
	}
	if maxHeld > size {
		t.Fatalf("%d permits held at once, size %d", maxHeld, size)
	}
}

func TestSemaphoreAcquireTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSemaphore(1)
		s.TryAcquire(1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := s.Acquire(ctx, 1).Await(nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("err=%v after %v", err, time.Since(start))
		}
		if s.Waiting() != 0 {
			t.Fatal("timed-out request still waiting")
		}
	})
}

func TestEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e Event
		loop := newTestLoop(t)
		ctx := WithExecutor(context.Background(), loop)
		w1 := e.Wait(context.Background())
		w2 := e.Wait(ctx)
		tctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w3 := e.Wait(tctx)
		if _, err := w3.Await(nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("timed wait = %v", err)
		}
		synctest.Wait()
		if _, _, ok := w1.Result(); ok || e.IsSet() {
			t.Fatal("wait resolved before Set")
		}
		onLoop := make(chan bool, 1)
		w2.OnComplete(func(struct{}, error) { onLoop <- loop.onLoop() })
		e.Set()
		e.Set()
		if _, err := w1.Await(nil); err != nil {
			t.Fatal(err)
		}
		if !<-onLoop {
			t.Fatal("Wait continuation not on the context's executor")
		}
		if _, err, ok := e.Wait(context.Background()).Result(); !ok || err != nil || !e.IsSet() {
			t.Fatal("Wait on a set event not resolved at once")
		}
		e.Clear()
		w4 := e.Wait(context.Background())
		synctest.Wait()
		if _, _, ok := w4.Result(); ok {
			t.Fatal("Wait after Clear resolved")
		}
		e.Set()
		if _, err := w4.Await(nil); err != nil {
			t.Fatal(err)
		}
	})
}
