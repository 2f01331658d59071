package async

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

func TestTaskGroupLimitAndWait(t *testing.T) {
	checkGoroutines(t)
	g := NewTaskGroup(context.Background(), 3)
	var running, peak, done atomic.Int32
	gate := make(chan struct{})
	var fs []*Future[struct{}]
	for range 10 {
		fs = append(fs, g.Go(func(context.Context) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-gate
			running.Add(-1)
			done.Add(1)
			return nil
		}))
	}
	w := g.Wait()
	close(gate)
	if _, err := await(t, w); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 10 || peak.Load() > 3 {
		t.Fatalf("done=%d peak=%d (limit 3)", done.Load(), peak.Load())
	}
	for _, f := range fs {
		if _, err, ok := f.Result(); !ok || err != nil {
			t.Fatalf("task future ok=%v err=%v", ok, err)
		}
	}
	if _, err := await(t, g.Go(func(context.Context) error { return nil })); err != ErrClosed {
		t.Fatalf("Go after Wait = %v", err)
	}
	if g.Context().Err() == nil {
		t.Fatal("group context alive after Wait")
	}
}

func TestTaskGroupFirstErrorCancelsRest(t *testing.T) {
	checkGoroutines(t)
	g := NewTaskGroup(context.Background(), 2)
	started := make(chan struct{})
	var queuedRan atomic.Bool
	long := g.Go(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	failing := g.Go(func(context.Context) error { return errBoom })
	queued := g.Go(func(context.Context) error { queuedRan.Store(true); return nil })
	if _, err := await(t, g.Wait()); err != errBoom {
		t.Fatalf("Wait = %v, want the first error", err)
	}
	if _, err := await(t, failing); err != errBoom {
		t.Fatalf("failing task = %v", err)
	}
	if _, err := await(t, long); !errors.Is(err, context.Canceled) {
		t.Fatalf("running task not cancelled: %v", err)
	}
	if _, err := await(t, queued); err != errBoom || queuedRan.Load() {
		t.Fatalf("queued task: err=%v ran=%v", err, queuedRan.Load())
	}
	if context.Cause(g.Context()) != errBoom {
		t.Fatalf("cause = %v", context.Cause(g.Context()))
	}
}

func TestTaskGroupPanicAndGoAfterFailure(t *testing.T) {
	checkGoroutines(t)
	g := NewTaskGroup(context.Background(), 0)
	f := g.Go(func(context.Context) error { panic("grp") })
	var pe *PanicError
	if _, err := await(t, f); !errors.As(err, &pe) {
		t.Fatalf("panic = %v", err)
	}
	if _, err := await(t, g.Go(func(context.Context) error { return nil })); !errors.As(err, &pe) {
		t.Fatalf("Go after failure = %v, want the group's error", err)
	}
	if _, err := await(t, g.Wait()); !errors.As(err, &pe) {
		t.Fatalf("Wait = %v", err)
	}
}

func seq(n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

func TestMapOrdered(t *testing.T) {
	checkGoroutines(t)
	var inflight, peak atomic.Int32
	fn := func(_ context.Context, v int) (string, error) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		defer inflight.Add(-1)
		return fmt.Sprint(v * v), nil
	}
	var got []string
	for r, err := range MapOrdered(context.Background(), seq(50), 4, fn) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 50 || peak.Load() > 4 {
		t.Fatalf("len=%d peak=%d", len(got), peak.Load())
	}
	for i, r := range got {
		if r != fmt.Sprint(i*i) {
			t.Fatalf("result %d = %s: out of order", i, r)
		}
	}

	// The first error in input order ends the iteration, after the results
	// before it; calls in flight are cancelled and waited for.
	var cancelled atomic.Int32
	var out []int
	var errs []error
	for r, err := range MapOrdered(context.Background(), seq(100), 3, func(ctx context.Context, v int) (int, error) {
		if v == 5 {
			return 0, errBoom
		}
		if v > 5 {
			<-ctx.Done()
			cancelled.Add(1)
			return 0, ctx.Err()
		}
		return v, nil
	}) {
		if err != nil {
			errs = append(errs, err)
		} else {
			out = append(out, r)
		}
	}
	if !slices.Equal(out, []int{0, 1, 2, 3, 4}) || len(errs) != 1 || errs[0] != errBoom {
		t.Fatalf("out=%v errs=%v", out, errs)
	}
	if cancelled.Load() > 2 {
		t.Fatalf("%d calls beyond the window started", cancelled.Load())
	}

	// Stopping early waits for the calls in flight.
	var active atomic.Int32
	for r := range MapOrdered(context.Background(), seq(1000), 8, func(_ context.Context, v int) (int, error) {
		active.Add(1)
		defer active.Add(-1)
		return v, nil
	}) {
		if r == 10 {
			break
		}
	}
	if active.Load() != 0 {
		t.Fatal("calls still running after the iterator returned")
	}
}

func TestMapUnordered(t *testing.T) {
	checkGoroutines(t)
	var got []int
	for r, err := range MapUnordered(context.Background(), seq(200), 5, func(_ context.Context, v int) (int, error) { return v + 1, nil }) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	sort.Ints(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("got[%d]=%d: lost or duplicated", i, v)
		}
	}
	if len(got) != 200 {
		t.Fatalf("len = %d", len(got))
	}
	var mu sync.Mutex
	var seen []error
	for _, err := range MapUnordered(context.Background(), seq(50), 4, func(_ context.Context, v int) (int, error) {
		if v == 7 {
			panic("unordered")
		}
		return v, nil
	}) {
		if err != nil {
			mu.Lock()
			seen = append(seen, err)
			mu.Unlock()
		}
	}
	var pe *PanicError
	if len(seen) != 1 || !errors.As(seen[0], &pe) {
		t.Fatalf("errors = %v", seen)
	}
	n := 0
	for range MapUnordered(context.Background(), seq(100), 4, func(_ context.Context, v int) (int, error) { return v, nil }) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("n = %d", n)
	}
}

func TestMapOnLoopFailsAtOnce(t *testing.T) {
	var called atomic.Int32
	fn := func(_ context.Context, v int) (int, error) { called.Add(1); return v, nil }
	for name, m := range map[string]func() iter.Seq2[int, error]{
		"MapOrdered":   func() iter.Seq2[int, error] { return MapOrdered(context.Background(), seq(3), 2, fn) },
		"MapUnordered": func() iter.Seq2[int, error] { return MapUnordered(context.Background(), seq(3), 2, fn) },
	} {
		var errs []error
		onLoopGoroutine(t, func() {
			for _, err := range m() {
				errs = append(errs, err)
			}
		})
		if len(errs) != 1 || errs[0] != ErrOnLoop {
			t.Fatalf("%s on a loop yielded %v, want [ErrOnLoop]", name, errs)
		}
	}
	if called.Load() != 0 {
		t.Fatalf("fn called %d times on a refused iteration", called.Load())
	}
}
