package async

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ioloop/ioloop/internal/onloop"
)

// chanWaiter is a Waiter made of a one-slot channel; Wake fails the test
// when a Wake is already pending (the future wakes a waiter at most once
// per Wait).
type chanWaiter struct {
	t  *testing.T
	ch chan struct{}
}

func (w *chanWaiter) Wait(ctx context.Context) bool {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-w.ch:
		return true
	case <-done:
		return false
	}
}

func (w *chanWaiter) Wake() {
	select {
	case w.ch <- struct{}{}:
	default:
		w.t.Error("Wake with a Wake pending")
	}
}

// waitExec is a WaiterSource that runs tasks on new goroutines and counts
// the waiters it lends; PutWaiter fails the test when a waiter comes back
// with a Wake pending or was not lent.
type waitExec struct {
	t          *testing.T
	mu         sync.Mutex
	free       []*chanWaiter
	lent       map[*chanWaiter]bool
	gets, puts atomic.Int64
}

func newWaitExec(t *testing.T) *waitExec {
	return &waitExec{t: t, lent: map[*chanWaiter]bool{}}
}

func (e *waitExec) Execute(t Task) { go t.Run() }

func (e *waitExec) GetWaiter() Waiter {
	e.gets.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	var w *chanWaiter
	if n := len(e.free); n > 0 {
		w, e.free = e.free[n-1], e.free[:n-1]
	} else {
		w = &chanWaiter{t: e.t, ch: make(chan struct{}, 1)}
	}
	e.lent[w] = true
	return w
}

func (e *waitExec) PutWaiter(aw Waiter) {
	e.puts.Add(1)
	w := aw.(*chanWaiter)
	if len(w.ch) != 0 {
		e.t.Error("waiter given back with a Wake pending")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.lent[w] {
		e.t.Error("waiter given back twice or never lent")
	}
	delete(e.lent, w)
	e.free = append(e.free, w)
}

// balanced checks that every waiter lent came back.
func (e *waitExec) balanced(t *testing.T) {
	t.Helper()
	if g, p := e.gets.Load(), e.puts.Load(); g != p || len(e.lent) != 0 {
		t.Fatalf("%d waiters lent, %d given back, %d out", g, p, len(e.lent))
	}
}

// TestAwaitWithLentWaiter: the first awaiter of a pending future sleeps in
// the executor's waiter, a second one on the Done channel; both get the
// value and the waiter comes back.
func TestAwaitWithLentWaiter(t *testing.T) {
	checkGoroutines(t)
	ex := newWaitExec(t)
	p := NewPromise[int](ex)
	f := p.Future()
	got := make(chan int, 2)
	for range 2 {
		go func() {
			v, err := f.Await(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	// Both awaiters have asked for a waiter, and one gave its back (the
	// future had one already), before the future settles.
	deadline := time.Now().Add(5 * time.Second)
	for (ex.gets.Load() < 2 || ex.puts.Load() < 1) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if ex.gets.Load() != 2 || ex.puts.Load() != 1 || len(got) != 0 {
		t.Fatalf("gets %d, puts %d, %d returned before settling: want one waiter in use, one refused, none returned",
			ex.gets.Load(), ex.puts.Load(), len(got))
	}
	p.Resolve(42)
	for range 2 {
		if v := <-got; v != 42 {
			t.Fatalf("awaited %d, want 42", v)
		}
	}
	ex.balanced(t)
	if v, err := f.Await(nil); v != 42 || err != nil {
		t.Fatalf("settled Await: %d, %v", v, err)
	}
	if ex.gets.Load() != 2 {
		t.Fatal("a settled future lent a waiter")
	}
}

// TestAwaitWithLentWaiterContextEnds: an awaiter whose context ends gets
// the context's error, its waiter comes back with no Wake pending, and the
// later settling wakes nobody; a new Await then gets the value.
func TestAwaitWithLentWaiterContextEnds(t *testing.T) {
	checkGoroutines(t)
	ex := newWaitExec(t)
	p := NewPromise[string](ex)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Future().Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await: %v, want the deadline", err)
	}
	ex.balanced(t)
	p.Resolve("late")
	if v, err := p.Future().Await(context.Background()); v != "late" || err != nil {
		t.Fatalf("Await after settling: %q, %v", v, err)
	}
	ex.balanced(t)
}

// TestAwaitWithLentWaiterRace settles futures while their awaiters'
// contexts end, many times: every Await returns either the value or the
// context's error (the value whenever the future had settled before the
// awaiter withdrew), every waiter comes back exactly once with no Wake
// pending, and a rejected future's error arrives as such.
func TestAwaitWithLentWaiterRace(t *testing.T) {
	checkGoroutines(t)
	ex := newWaitExec(t)
	const rounds = 3000
	var values, timeouts atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds / 4 {
				p := NewPromise[int](ex)
				ctx, cancel := context.WithCancel(context.Background())
				want := g*rounds + i
				fail := i%7 == 0
				go func() {
					switch i % 3 {
					case 0: // the context ends well before the future settles
						cancel()
						time.Sleep(20 * time.Microsecond)
					case 1: // just before
						cancel()
					}
					if fail {
						p.Reject(errors.New("failed"))
					} else {
						p.Resolve(want)
					}
					cancel()
				}()
				v, err := p.Future().Await(ctx)
				switch {
				case errors.Is(err, context.Canceled):
					timeouts.Add(1)
					// The future settles anyway: a second Await sees it.
					v, err = p.Future().Await(nil)
					if fail != (err != nil) || !fail && v != want {
						t.Errorf("second Await: %d, %v", v, err)
					}
				case fail:
					if err == nil || err.Error() != "failed" {
						t.Errorf("rejected future awaited as %d, %v", v, err)
					}
				case err != nil || v != want:
					t.Errorf("Await: %d, %v, want %d", v, err, want)
				default:
					values.Add(1)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	ex.balanced(t)
	t.Logf("%d values, %d context ends", values.Load(), timeouts.Load())
}

func TestAwaitCancelledContext(t *testing.T) {
	checkGoroutines(t)
	p := NewPromise[int](nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := p.Future().Await(ctx)
	if v != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Await(cancelled) = (%d, %v), want (0, context.Canceled)", v, err)
	}
	// The future is still usable.
	if _, _, ok := p.Future().Result(); ok {
		t.Fatal("future settled by a cancelled Await")
	}
	go p.Resolve(7)
	if v, err := p.Future().Await(context.Background()); v != 7 || err != nil {
		t.Fatalf("Await = (%d, %v), want (7, nil)", v, err)
	}
	// Settled wins over a cancelled context.
	if v, err := p.Future().Await(ctx); v != 7 || err != nil {
		t.Fatalf("Await(cancelled) on settled = (%d, %v), want (7, nil)", v, err)
	}
}

func TestAwaitContextEndsWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPromise[int](nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := p.Future().Await(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Await returned after %v, want 1s", d)
		}
		p.Resolve(3)
		if v, err := p.Future().Await(nil); v != 3 || err != nil {
			t.Fatalf("Await = (%d, %v)", v, err)
		}
	})
}

func TestDoneAndResult(t *testing.T) {
	p := NewPromise[int](nil)
	f := p.Future()
	if _, _, ok := f.Result(); ok {
		t.Fatal("pending future reported a result")
	}
	d1, d2 := f.Done(), f.Done()
	if d1 != d2 {
		t.Fatal("Done returned different channels")
	}
	select {
	case <-d1:
		t.Fatal("Done closed while pending")
	default:
	}
	boom := errors.New("boom")
	p.Reject(boom)
	<-d1
	if v, err, ok := f.Result(); !ok || v != 0 || err != boom {
		t.Fatalf("Result = (%d, %v, %v)", v, err, ok)
	}
	select {
	case <-f.Done():
	default:
		t.Fatal("Done on settled future not closed")
	}
	if _, err := Failed[int](nil).Await(nil); !errors.Is(err, ErrNilError) {
		t.Fatalf("Failed(nil) = %v, want ErrNilError", err)
	}
}

func TestAwaitOnLoopFailsAtOnce(t *testing.T) {
	p := NewPromise[int](nil)
	ws := NewPromise[int](newWaitExec(t)) // the lent-waiter path checks too
	settled := Resolved(7)
	var errPending, errWaiter, errCtx error
	var vSettled int
	var errSettled error
	onLoopGoroutine(t, func() {
		_, errPending = p.Future().Await(nil)
		_, errWaiter = ws.Future().Await(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, errCtx = p.Future().Await(ctx)
		vSettled, errSettled = settled.Await(nil)
	})
	if errPending != ErrOnLoop || errWaiter != ErrOnLoop || errCtx != ErrOnLoop {
		t.Fatalf("Await of a pending future on a loop = %v, %v, %v; want ErrOnLoop", errPending, errWaiter, errCtx)
	}
	if vSettled != 7 || errSettled != nil {
		t.Fatalf("Await of a settled future on a loop = %d, %v; want 7, nil", vSettled, errSettled)
	}
	if _, _, ok := p.Future().Result(); ok {
		t.Fatal("ErrOnLoop settled the future")
	}
	// Off the loop the same futures are awaited as usual.
	go p.Resolve(3)
	if v, err := p.Future().Await(nil); v != 3 || err != nil {
		t.Fatalf("Await off the loop = %d, %v", v, err)
	}
	go ws.Resolve(4)
	if v, err := ws.Future().Await(nil); v != 4 || err != nil {
		t.Fatalf("Await off the loop (lent waiter) = %d, %v", v, err)
	}
}

func TestAwaitInLoopContinuationFailsAtOnce(t *testing.T) {
	// A continuation running on a loop that awaits a future only the loop
	// could settle: without the check, the loop would wait for itself.
	loop := newTestLoop(t)
	loop.Execute(TaskFunc(func() { onloop.Enter() })) // the loop goroutine registers, as a Loop does
	defer loop.Execute(TaskFunc(func() { onloop.Leave(onloop.Self()) }))
	needsLoop := NewPromise[int](loop)
	p := NewPromise[int](loop)
	got := make(chan error, 1)
	p.Future().OnComplete(func(int, error) {
		_, err := needsLoop.Future().Await(nil)
		got <- err
		needsLoop.Resolve(1)
	})
	p.Resolve(0)
	select {
	case err := <-got:
		if err != ErrOnLoop {
			t.Fatalf("Await in a loop continuation = %v, want ErrOnLoop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Await in a loop continuation blocked the loop")
	}
	if v, err := await(t, needsLoop.Future()); v != 1 || err != nil {
		t.Fatalf("needsLoop = %d, %v", v, err)
	}
}
