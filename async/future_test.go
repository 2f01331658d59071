package async

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func TestResolveExactlyOnceUnderRace(t *testing.T) {
	checkGoroutines(t)
	for round := 0; round < 50; round++ {
		p := NewPromise[int](nil)
		f := p.Future()
		const resolvers, awaiters = 16, 16
		var wins atomic.Int32
		var winner atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]int, awaiters)
		errs := make([]error, awaiters)
		for i := range awaiters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = f.Await(context.Background())
			}()
		}
		for i := range resolvers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var ok bool
				if i%2 == 0 {
					ok = p.Resolve(i)
				} else {
					ok = p.Reject(fmt.Errorf("r%d", i))
				}
				if ok {
					wins.Add(1)
					winner.Store(int64(i))
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d resolvers won", round, wins.Load())
		}
		w := int(winner.Load())
		for i := range awaiters {
			if w%2 == 0 {
				if errs[i] != nil || results[i] != w {
					t.Fatalf("awaiter %d got (%d, %v), want (%d, nil)", i, results[i], errs[i], w)
				}
			} else if errs[i] == nil || errs[i].Error() != fmt.Sprintf("r%d", w) || results[i] != 0 {
				t.Fatalf("awaiter %d got (%d, %v), want error r%d", i, results[i], errs[i], w)
			}
		}
		if p.Resolve(99) || p.Reject(errors.New("late")) || p.Complete(1, nil) {
			t.Fatal("settling a settled future reported true")
		}
	}
}

func TestContinuationsOrderedExactlyOnceOnExecutor(t *testing.T) {
	checkGoroutines(t)
	loop := newTestLoop(t)
	p := NewPromise[string](loop)
	f := p.Future()
	var mu sync.Mutex
	var got []int
	offLoop := atomic.Int32{}
	done := make(chan struct{})
	const n = 200
	add := func(i int) {
		f.OnComplete(func(v string, err error) {
			if !loop.onLoop() {
				offLoop.Add(1)
			}
			if v != "x" || err != nil {
				t.Errorf("continuation %d got (%q, %v)", i, v, err)
			}
			mu.Lock()
			got = append(got, i)
			if len(got) == n {
				close(done)
			}
			mu.Unlock()
		})
	}
	for i := range n / 2 {
		add(i)
	}
	p.Resolve("x")
	for i := n / 2; i < n; i++ {
		add(i)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("continuation order %v", got)
		}
	}
	if offLoop.Load() != 0 {
		t.Fatalf("%d continuations ran off the executor", offLoop.Load())
	}
}

func TestContinuationNeverInline(t *testing.T) {
	checkGoroutines(t)
	for _, ex := range []Executor{nil, newTestLoop(t)} {
		p := NewPromise[int](ex)
		ran := make(chan uint64, 1)
		p.Future().OnComplete(func(int, error) { ran <- goid() })
		me := goid()
		p.Resolve(1)
		// Registering on a settled future must not run inline either.
		p.Future().OnComplete(func(int, error) { ran <- goid() })
		for range 2 {
			if g := <-ran; g == me {
				t.Fatalf("executor %T: continuation ran inline on the resolver's goroutine", ex)
			}
		}
	}
}

func TestRejectNil(t *testing.T) {
	p := NewPromise[int](nil)
	p.Reject(nil)
	if _, err := p.Future().Await(nil); !errors.Is(err, ErrNilError) {
		t.Fatalf("err = %v, want ErrNilError", err)
	}
}

// TestContinuationsOneAtATimeWhileRegistering registers continuations from
// several goroutines, and from inside continuations, while runs are ending,
// on the nil executor (each run on its own goroutine), so a run that ended
// while a registration was in flight would show up as two continuations
// running at once, a lost continuation, or one run twice.
func TestContinuationsOneAtATimeWhileRegistering(t *testing.T) {
	checkGoroutines(t)
	for round := range 50 {
		p := NewPromise[int](nil)
		f := p.Future()
		const writers, each = 4, 50
		var running atomic.Int32
		var overlap atomic.Int32
		var mu sync.Mutex
		seen := make(map[int]int)
		lastOf := make([]int, writers+1)
		for i := range lastOf {
			lastOf[i] = -1
		}
		var wg sync.WaitGroup
		wg.Add(writers*each + 2*writers) // registrars and nested ones too
		cont := func(w, i int) func(int, error) {
			return func(v int, err error) {
				defer wg.Done()
				if running.Add(1) != 1 {
					overlap.Add(1)
				}
				if v != round || err != nil {
					t.Errorf("continuation got (%d, %v), want (%d, nil)", v, err, round)
				}
				mu.Lock()
				seen[w*1000+i]++
				if i <= lastOf[w] {
					t.Errorf("writer %d: continuation %d ran after %d", w, i, lastOf[w])
				}
				lastOf[w] = i
				mu.Unlock()
				runtime.Gosched() // widen the window for an overlapping run
				running.Add(-1)
			}
		}
		var start sync.WaitGroup
		start.Add(1)
		for w := range writers {
			go func() {
				start.Wait()
				for i := range each {
					f.OnComplete(cont(w, i))
				}
			}()
			// One continuation per writer registers another from inside.
			f.OnComplete(func(int, error) {
				if running.Add(1) != 1 {
					overlap.Add(1)
				}
				f.OnComplete(cont(writers, w))
				runtime.Gosched()
				running.Add(-1)
				wg.Done()
			})
		}
		p.Resolve(round)
		start.Done() // the writers race with the runs
		wg.Wait()
		if overlap.Load() != 0 {
			t.Fatalf("round %d: %d continuations overlapped", round, overlap.Load())
		}
		mu.Lock()
		if len(seen) != writers*each+writers {
			t.Fatalf("round %d: %d distinct continuations ran, want %d", round, len(seen), writers*each+writers)
		}
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: continuation %d ran %d times", round, k, c)
			}
		}
		mu.Unlock()
	}
}

// countingExec records the tasks it is given; the test runs them.
type countingExec struct {
	mu    sync.Mutex
	tasks []Task
}

func (e *countingExec) Execute(t Task) {
	e.mu.Lock()
	e.tasks = append(e.tasks, t)
	e.mu.Unlock()
}

func (e *countingExec) take() []Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.tasks
	e.tasks = nil
	return ts
}

// TestRegistrationDuringRunJoinsTheRun checks, step by step, that a
// continuation registered while the last pending one runs (from inside it
// and from another goroutine) joins the current run instead of starting a
// second one, and that a registration after the run ended starts exactly one
// new run.
func TestRegistrationDuringRunJoinsTheRun(t *testing.T) {
	checkGoroutines(t)
	ex := &countingExec{}
	p := NewPromise[int](ex)
	f := p.Future()
	var got []string
	f.OnComplete(func(v int, err error) {
		got = append(got, fmt.Sprintf("a%d", v))
		f.OnComplete(func(v int, err error) { got = append(got, fmt.Sprintf("b%d", v)) })
		registered := make(chan struct{})
		go func() {
			f.OnComplete(func(v int, err error) { got = append(got, fmt.Sprintf("c%d", v)) })
			close(registered)
		}()
		<-registered
		if n := len(ex.take()); n != 0 {
			t.Errorf("registering during a run scheduled %d more runs, want 0", n)
		}
	})
	if n := len(ex.tasks); n != 0 {
		t.Fatalf("pending future scheduled %d runs", n)
	}
	p.Resolve(7)
	runs := ex.take()
	if len(runs) != 1 {
		t.Fatalf("Resolve scheduled %d runs, want 1", len(runs))
	}
	runs[0].Run()
	if want := "a7 b7 c7"; fmt.Sprint(got) != "["+want+"]" {
		t.Fatalf("continuations ran as %v, want [%s]", got, want)
	}
	if n := len(ex.take()); n != 0 {
		t.Fatalf("%d runs scheduled after the run ended, want 0", n)
	}
	for i := range 3 { // the run has ended: each registration starts one
		f.OnComplete(func(v int, err error) { got = append(got, fmt.Sprintf("d%d", i)) })
		runs = ex.take()
		if len(runs) != 1 {
			t.Fatalf("registration %d after the run scheduled %d runs, want 1", i, len(runs))
		}
		runs[0].Run()
	}
	if want := "[a7 b7 c7 d0 d1 d2]"; fmt.Sprint(got) != want {
		t.Fatalf("continuations ran as %v, want %s", got, want)
	}
}

func TestContinuationNeverInlineOnItsOwnLoop(t *testing.T) {
	// The resolver is the loop itself: continuations run on the loop, later,
	// never inside the loop task that settled their future.
	loop := newTestLoop(t)
	ctx := WithExecutor(context.Background(), loop)
	sem := NewSemaphore(1)
	sem.TryAcquire(1)
	q := NewQueue[int](1)
	p := NewPromise[int](loop)
	inResolver := false // read and written on the loop only
	type report struct {
		name          string
		onLoop, early bool
	}
	reports := make(chan report, 8)
	cont := func(name string) func(int, error) {
		return func(int, error) { reports <- report{name, loop.onLoop(), inResolver} }
	}
	p.Future().OnComplete(cont("OnComplete"))
	Map(p.Future(), func(v int) int { return v }).OnComplete(cont("Map"))
	All(p.Future()).OnComplete(func([]int, error) { cont("All")(0, nil) })
	sem.Acquire(ctx, 1).OnComplete(func(struct{}, error) { cont("Semaphore.Acquire")(0, nil) })
	q.Get(ctx).OnComplete(cont("Queue.Get"))
	loop.Execute(TaskFunc(func() {
		inResolver = true
		p.Resolve(1)
		sem.Release(1)
		_ = q.TryPut(2)
		inResolver = false
	}))
	for range 5 {
		select {
		case r := <-reports:
			if !r.onLoop || r.early {
				t.Fatalf("%s: on loop %v, inside the resolver %v; want on the loop, later", r.name, r.onLoop, r.early)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a continuation did not run")
		}
	}
}

func TestNilExecutorIsTheGoroutineExecutor(t *testing.T) {
	// NewPromise(nil) made inside a loop task does not continue on the loop;
	// NewPromise(ExecutorFrom(ctx)) with a context carrying the loop does.
	loop := newTestLoop(t)
	ctx := WithExecutor(context.Background(), loop)
	got := make(chan [2]bool, 1)
	loop.Execute(TaskFunc(func() {
		onNil, onCtx := make(chan bool, 1), make(chan bool, 1)
		a, b := NewPromise[int](nil), NewPromise[int](ExecutorFrom(ctx))
		a.Future().OnComplete(func(int, error) { onNil <- loop.onLoop() })
		b.Future().OnComplete(func(int, error) { onCtx <- loop.onLoop() })
		a.Resolve(1)
		b.Resolve(1)
		go func() { got <- [2]bool{<-onNil, <-onCtx} }()
	}))
	select {
	case r := <-got:
		if r[0] || !r[1] {
			t.Fatalf("NewPromise(nil) continued on the loop: %v; NewPromise(ExecutorFrom(ctx)) on the loop: %v", r[0], r[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("continuations did not run")
	}
}

// slotExec keeps the one task it was given; the test runs it.
type slotExec struct{ t Task }

func (e *slotExec) Execute(t Task) { e.t = t }

func TestFutureCostsPinned(t *testing.T) {
	// The size the contract at the top of future.go states.
	if unsafe.Sizeof(uintptr(0)) == 8 {
		if n := unsafe.Sizeof(Future[int]{}); n != 64 {
			t.Fatalf("Future[int] is %d bytes, the contract says 64", n)
		}
	}
	// Create + resolve + one continuation: one allocation (the package doc).
	ex := &slotExec{}
	sum := 0
	cont := func(v int, _ error) { sum += v }
	if n := testing.AllocsPerRun(1000, func() {
		p := NewPromise[int](ex)
		p.Future().OnComplete(cont)
		p.Resolve(1)
		ex.t.Run()
	}); n != 1 {
		t.Fatalf("create + resolve + one continuation: %v allocations, want 1", n)
	}
	// Await and Result of a settled future: none.
	f := Resolved(1)
	if n := testing.AllocsPerRun(1000, func() {
		_, _ = f.Await(context.Background())
		_, _, _ = f.Result()
	}); n != 0 {
		t.Fatalf("Await/Result of a settled future: %v allocations, want 0", n)
	}
}
