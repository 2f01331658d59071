package async

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var errBoom = errors.New("boom")

func TestThenMapCatchCompose(t *testing.T) {
	checkGoroutines(t)
	loop := newTestLoop(t)
	p := NewPromise[int](loop)
	var onLoop atomic.Bool
	s := Then(p.Future(), func(v int) (string, error) {
		onLoop.Store(loop.onLoop())
		return strconv.Itoa(v * 2), nil
	})
	m := Map(s, func(s string) string { return s + "!" })
	c := Compose(m, func(s string) *Future[int] { return Resolved(len(s)) })
	p.Resolve(21)
	if v, err := await(t, m); v != "42!" || err != nil {
		t.Fatalf("Map = (%q, %v)", v, err)
	}
	if v, err := await(t, c); v != 3 || err != nil {
		t.Fatalf("Compose = (%d, %v)", v, err)
	}
	if !onLoop.Load() {
		t.Fatal("Then ran off the future's executor")
	}
	if m.Executor() != Executor(loop) {
		t.Fatal("derived future lost the executor")
	}

	// Failure skips Then/Map and reaches Catch, which can recover or fail again.
	q := NewPromise[int](nil)
	called := atomic.Bool{}
	th := Then(q.Future(), func(v int) (int, error) { called.Store(true); return v, nil })
	rec := Catch(th, func(err error) (int, error) {
		if err != errBoom {
			t.Errorf("Catch got %v", err)
		}
		return -1, nil
	})
	again := Catch(th, func(err error) (int, error) { return 0, errors.New("again: " + err.Error()) })
	pass := Catch(Resolved(5), func(error) (int, error) { return 0, errBoom })
	q.Reject(errBoom)
	if _, err := await(t, th); err != errBoom || called.Load() {
		t.Fatalf("Then on failure: err=%v called=%v", err, called.Load())
	}
	if v, err := await(t, rec); v != -1 || err != nil {
		t.Fatalf("Catch recover = (%d, %v)", v, err)
	}
	if _, err := await(t, again); err == nil || err.Error() != "again: boom" {
		t.Fatalf("Catch rethrow = %v", err)
	}
	if v, err := await(t, pass); v != 5 || err != nil {
		t.Fatalf("Catch on success = (%d, %v)", v, err)
	}

	// Panics become *PanicError.
	var pe *PanicError
	pt := Then(Resolved(1), func(int) (int, error) { panic("then") })
	if _, err := await(t, pt); !errors.As(err, &pe) || pe.Value != "then" {
		t.Fatalf("Then panic = %v", err)
	}
	pc := Catch(Failed[int](errBoom), func(error) (int, error) { panic(errBoom) })
	if _, err := await(t, pc); !errors.As(err, &pe) || !errors.Is(err, errBoom) {
		t.Fatalf("Catch panic = %v", err)
	}
	pco := Compose(Resolved(1), func(int) *Future[int] { panic("compose") })
	if _, err := await(t, pco); !errors.As(err, &pe) || pe.Value != "compose" {
		t.Fatalf("Compose panic = %v", err)
	}
	cf := Compose(Failed[int](errBoom), func(int) *Future[int] { t.Error("called"); return nil })
	if _, err := await(t, cf); err != errBoom {
		t.Fatalf("Compose on failure = %v", err)
	}
	cn := Compose(Resolved(1), func(int) *Future[int] { return nil })
	if _, err := await(t, cn); !errors.Is(err, ErrNilError) {
		t.Fatalf("Compose nil = %v", err)
	}
}

// blocker returns a Go future whose work waits for its context and reports
// that it saw the cancellation.
func blocker(pool *Pool, cancelled *atomic.Int32) *Future[int] {
	return Go(context.Background(), pool, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		cancelled.Add(1)
		return 0, ctx.Err()
	})
}

func TestAll(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(4, 8)
	defer pool.Close()
	ps := []*Promise[int]{NewPromise[int](nil), NewPromise[int](nil), NewPromise[int](nil)}
	all := All(ps[0].Future(), ps[1].Future(), ps[2].Future())
	ps[2].Resolve(3)
	ps[0].Resolve(1)
	if _, _, ok := all.Result(); ok {
		t.Fatal("All settled early")
	}
	ps[1].Resolve(2)
	if v, err := await(t, all); err != nil || !slices.Equal(v, []int{1, 2, 3}) {
		t.Fatalf("All = (%v, %v)", v, err)
	}

	// First failure fails All and cancels the others.
	var cancelled atomic.Int32
	a, b := blocker(pool, &cancelled), blocker(pool, &cancelled)
	f := NewPromise[int](nil)
	res := All(a, f.Future(), b)
	f.Reject(errBoom)
	if _, err := await(t, res); err != errBoom {
		t.Fatalf("All failure = %v", err)
	}
	// Each input is cancelled either while running or before it started.
	for _, in := range []*Future[int]{a, b} {
		if _, err := await(t, in); !errors.Is(err, context.Canceled) {
			t.Fatalf("input not cancelled: %v", err)
		}
	}

	if v, err := await(t, All[int]()); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("All() = (%v, %v)", v, err)
	}

	// Cancelling the result cancels the inputs.
	c := blocker(pool, &cancelled)
	r := All(c)
	r.Cancel()
	if _, err := await(t, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled All = %v", err)
	}
}

func TestAllSettled(t *testing.T) {
	checkGoroutines(t)
	p := NewPromise[int](nil)
	res := AllSettled(Resolved(1), Failed[int](errBoom), p.Future())
	if _, _, ok := res.Result(); ok {
		t.Fatal("AllSettled settled early")
	}
	p.Resolve(3)
	v, err := await(t, res)
	want := []Settled[int]{{Value: 1}, {Err: errBoom}, {Value: 3}}
	if err != nil || !slices.Equal(v, want) {
		t.Fatalf("AllSettled = (%v, %v)", v, err)
	}
	if v, err := await(t, AllSettled[int]()); err != nil || len(v) != 0 {
		t.Fatalf("AllSettled() = (%v, %v)", v, err)
	}
}

func TestAny(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(2, 4)
	defer pool.Close()
	var cancelled atomic.Int32
	slow := blocker(pool, &cancelled)
	p := NewPromise[int](nil)
	res := Any(Failed[int](errBoom), slow, p.Future())
	p.Resolve(9)
	if v, err := await(t, res); v != 9 || err != nil {
		t.Fatalf("Any = (%d, %v)", v, err)
	}
	if _, err := await(t, slow); !errors.Is(err, context.Canceled) {
		t.Fatalf("Any did not cancel the loser: %v", err)
	}

	e2 := errors.New("e2")
	q := NewPromise[int](nil)
	all := Any(Failed[int](errBoom), q.Future())
	q.Reject(e2)
	_, err := await(t, all)
	var me *MultiError
	if !errors.As(err, &me) || !slices.Equal(me.Errs, []error{errBoom, e2}) || !errors.Is(err, e2) {
		t.Fatalf("Any all failed = %v", err)
	}
	if err.Error() != "async: all 2 futures failed: boom; e2" {
		t.Fatalf("MultiError text %q", err.Error())
	}
	if _, err := await(t, Any[int]()); err != ErrNoFutures {
		t.Fatalf("Any() = %v", err)
	}
}

func TestRace(t *testing.T) {
	checkGoroutines(t)
	pool := NewPool(2, 4)
	defer pool.Close()
	var cancelled atomic.Int32
	slow := blocker(pool, &cancelled)
	p := NewPromise[int](nil)
	res := Race(slow, p.Future())
	p.Reject(errBoom)
	if _, err := await(t, res); err != errBoom {
		t.Fatalf("Race = %v, want the first result (a failure)", err)
	}
	if _, err := await(t, slow); !errors.Is(err, context.Canceled) {
		t.Fatalf("Race did not cancel the loser: %v", err)
	}
	if v, err := await(t, Race(NewPromise[int](nil).Future(), Resolved(4))); v != 4 || err != nil {
		t.Fatalf("Race = (%d, %v)", v, err)
	}
	if _, err := await(t, Race[int]()); err != ErrNoFutures {
		t.Fatalf("Race() = %v", err)
	}
}

func TestWithTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := NewPool(2, 4)
		defer pool.Close()
		start := time.Now()
		var sawCancel atomic.Bool
		work := Go(context.Background(), pool, func(ctx context.Context) (int, error) {
			select {
			case <-ctx.Done():
				sawCancel.Store(true)
				return 0, ctx.Err()
			case <-time.After(time.Hour):
				return 1, nil
			}
		})
		res := WithTimeout(work, 50*time.Millisecond)
		_, err := res.Await(nil)
		if err != ErrTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("timed out after %v", d)
		}
		if _, err := work.Await(nil); !errors.Is(err, context.Canceled) || !sawCancel.Load() {
			t.Fatalf("work not cancelled: %v", err)
		}

		// Settling in time wins, and the timer is stopped.
		p := NewPromise[string](nil)
		res2 := WithTimeout(p.Future(), time.Second)
		time.Sleep(999 * time.Millisecond)
		p.Resolve("in time")
		if v, err := res2.Await(nil); v != "in time" || err != nil {
			t.Fatalf("WithTimeout = (%q, %v)", v, err)
		}
		// A failure in time is passed through.
		q := NewPromise[string](nil)
		res3 := WithTimeout(q.Future(), time.Second)
		q.Reject(errBoom)
		if _, err := res3.Await(nil); err != errBoom {
			t.Fatalf("WithTimeout failure = %v", err)
		}
		time.Sleep(2 * time.Second)
		if _, err, _ := res2.Result(); err != nil {
			t.Fatal("timer fired after success")
		}
	})
}

func TestAwaitFromLoopStyleAndGoroutineStyleAgree(t *testing.T) {
	loop := newTestLoop(t)
	ctx := WithExecutor(context.Background(), loop)
	if ExecutorFrom(ctx) != Executor(loop) || ExecutorFrom(context.Background()) != nil || ExecutorFrom(nil) != nil {
		t.Fatal("ExecutorFrom")
	}
	pool := NewPool(1, 1)
	defer pool.Close()
	f := Go(ctx, pool, func(context.Context) (int, error) { return 5, nil })
	got := make(chan bool, 1)
	f.OnComplete(func(v int, err error) { got <- v == 5 && err == nil && loop.onLoop() })
	if !<-got {
		t.Fatal("continuation of a Go future did not run on the context's executor with the value")
	}
	if v, err := f.Await(context.Background()); v != 5 || err != nil {
		t.Fatalf("Await = (%d, %v)", v, err)
	}
}
