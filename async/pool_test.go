package async

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestPoolGoAndSubmit(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(2, 2)
	defer pool.Close()
	if pool.Workers() != 2 {
		t.Fatalf("Workers = %d", pool.Workers())
	}
	f := Go(context.Background(), pool, func(context.Context) (string, error) { return "ok", nil })
	if v, err := await(t, f); v != "ok" || err != nil {
		t.Fatalf("Go = (%q, %v)", v, err)
	}
	s := pool.Submit(func() error { return errBoom })
	if _, err := await(t, s); err != errBoom {
		t.Fatalf("Submit = %v", err)
	}
	var pe *PanicError
	pf := Go(context.Background(), pool, func(context.Context) (int, error) { panic("task") })
	if _, err := await(t, pf); !errors.As(err, &pe) || pe.Value != "task" {
		t.Fatalf("panic = %v", err)
	}
	// The worker survived the panic.
	if _, err := await(t, pool.Submit(func() error { return nil })); err != nil {
		t.Fatal(err)
	}
}

func TestPoolFullAndCancelledBeforeStart(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(1, 1)
	defer pool.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	busy := pool.Submit(func() error { close(started); <-release; return nil })
	<-started
	var ran atomic.Bool
	queued := Go(context.Background(), pool, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	full := Go(context.Background(), pool, func(context.Context) (int, error) { return 2, nil })
	if _, err := await(t, full); err != ErrPoolFull {
		t.Fatalf("third task = %v, want ErrPoolFull", err)
	}
	queued.Cancel()
	close(release)
	await(t, busy)
	if _, err := await(t, queued); !errors.Is(err, context.Canceled) || ran.Load() {
		t.Fatalf("cancelled queued task: err=%v ran=%v", err, ran.Load())
	}
}

func TestPoolCloseDrains(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(3, 100)
	var n atomic.Int32
	var fs []*Future[struct{}]
	for range 100 {
		fs = append(fs, pool.Submit(func() error { n.Add(1); return nil }))
	}
	pool.Close()
	if n.Load() != 100 {
		t.Fatalf("ran %d of 100 queued tasks", n.Load())
	}
	for _, f := range fs {
		if _, err, ok := f.Result(); !ok || err != nil {
			t.Fatalf("task future after Close: ok=%v err=%v", ok, err)
		}
	}
	if _, err := await(t, pool.Submit(func() error { return nil })); err != ErrClosed {
		t.Fatalf("Submit after Close = %v", err)
	}
	pool.Close() // idempotent
}

func TestPoolConcurrentSubmitClose(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(2, 16)
	var wg sync.WaitGroup
	var ran, accepted atomic.Int32
	var fs sync.Map
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				f := pool.Submit(func() error { ran.Add(1); return nil })
				fs.Store(g*1000+i, f)
			}
		}()
	}
	wg.Wait()
	pool.Close()
	fs.Range(func(_, v any) bool {
		_, err := await(t, v.(*Future[struct{}]))
		switch err {
		case nil:
			accepted.Add(1)
		case ErrPoolFull, ErrClosed:
		default:
			t.Errorf("unexpected %v", err)
		}
		return true
	})
	if ran.Load() != accepted.Load() {
		t.Fatalf("ran %d tasks but %d succeeded", ran.Load(), accepted.Load())
	}
}

func TestDefaultPool(t *testing.T) {
	p := DefaultPool()
	if p != DefaultPool() || p.Workers() < 4 {
		t.Fatal("DefaultPool not shared or too small")
	}
	p.Close() // ignored
	if v, err := await(t, Go(context.Background(), nil, func(context.Context) (int, error) { return 1, nil })); v != 1 || err != nil {
		t.Fatalf("Go on default pool = (%d, %v)", v, err)
	}
}

func TestPoolCloseOnLoopFailsAtOnce(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(1, 1)
	var err error
	onLoopGoroutine(t, func() { err = pool.Close() })
	if err != ErrOnLoop {
		t.Fatalf("Close on a loop = %v, want ErrOnLoop", err)
	}
	// Nothing was closed: the pool still runs tasks.
	if _, err := await(t, pool.Submit(func() error { return nil })); err != nil {
		t.Fatalf("Submit after a refused Close = %v", err)
	}
	if err := pool.Close(); err != nil {
		t.Fatalf("Close off the loop = %v", err)
	}
}
