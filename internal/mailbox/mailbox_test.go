package mailbox

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkGoroutines fails t if goroutines started by the test are still alive
// when it ends.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 200 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Errorf("goroutine leak: %d goroutines, %d before the test", runtime.NumGoroutine(), before)
	})
}

func TestFIFOAndDrainBudget(t *testing.T) {
	m := New(0, nil)
	var log []int
	for i := range 10 {
		if err := m.Post(func() { log = append(log, i) }); err != nil {
			t.Fatal(err)
		}
	}
	if m.Empty() || m.Len() != 10 {
		t.Fatalf("Empty %v Len %d after 10 posts", m.Empty(), m.Len())
	}
	if n := m.Drain(3, nil); n != 3 || m.Len() != 7 {
		t.Fatalf("Drain(3) ran %d, Len %d", n, m.Len())
	}
	// Posts after a budgeted drain run after the leftovers.
	m.Post(func() { log = append(log, 10) })
	if n := m.Drain(4, nil); n != 4 {
		t.Fatalf("Drain(4) ran %d", n)
	}
	if n := m.Drain(0, nil); n != 4 || !m.Empty() {
		t.Fatalf("Drain(0) ran %d, Empty %v", n, m.Empty())
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(log, want) {
		t.Fatalf("order %v", log)
	}
	if n := m.Drain(0, nil); n != 0 {
		t.Fatalf("empty Drain ran %d", n)
	}
}

func TestTasksPostedDuringDrainRunLater(t *testing.T) {
	m := New(0, nil)
	var log []string
	m.Post(func() {
		log = append(log, "a")
		m.Post(func() { log = append(log, "c") })
	})
	m.Post(func() { log = append(log, "b") })
	if n := m.Drain(0, nil); n != 2 {
		t.Fatalf("first Drain ran %d, want 2", n)
	}
	if m.Len() != 1 {
		t.Fatalf("Len %d, want the task posted during Drain", m.Len())
	}
	m.Drain(0, nil)
	if !slices.Equal(log, []string{"a", "b", "c"}) {
		t.Fatalf("log %v", log)
	}
}

func TestRunnerReceivesEveryTask(t *testing.T) {
	m := New(0, nil)
	ran := 0
	for range 5 {
		m.Post(func() { ran++ })
	}
	calls := 0
	m.Drain(0, func(fn Task) { calls++; fn.Run() })
	if calls != 5 || ran != 5 {
		t.Fatalf("runner called %d times, tasks ran %d", calls, ran)
	}
}

func TestPanickingTaskLeavesRestQueued(t *testing.T) {
	m := New(0, nil)
	var log []int
	m.Post(func() { log = append(log, 1) })
	m.Post(func() { panic("task bug") })
	m.Post(func() { log = append(log, 3) })
	func() {
		defer func() {
			if r := recover(); r != "task bug" {
				t.Fatalf("recover() = %v", r)
			}
		}()
		m.Drain(0, nil)
	}()
	if m.Len() != 1 || m.Empty() {
		t.Fatalf("Len %d after a panic, want 1", m.Len())
	}
	if n := m.Drain(0, nil); n != 1 || !slices.Equal(log, []int{1, 3}) {
		t.Fatalf("ran %d, log %v", n, log)
	}
	// A recovering runner keeps going past the panic.
	m.Post(func() { panic("again") })
	m.Post(func() { log = append(log, 5) })
	recovered := 0
	n := m.Drain(0, func(fn Task) {
		defer func() {
			if recover() != nil {
				recovered++
			}
		}()
		fn.Run()
	})
	if n != 2 || recovered != 1 || !slices.Equal(log, []int{1, 3, 5}) {
		t.Fatalf("ran %d recovered %d log %v", n, recovered, log)
	}
	if m.Len() != 0 || !m.Empty() {
		t.Fatalf("Len %d after draining everything", m.Len())
	}
	// A panic with more posted after it: the leftovers run first.
	m.Post(func() { panic("third") })
	m.Post(func() { log = append(log, 7) })
	func() {
		defer func() { _ = recover() }()
		m.Drain(0, nil)
	}()
	m.Post(func() { log = append(log, 8) })
	if m.Len() != 2 {
		t.Fatalf("Len %d, want 2 (the one left by the panic, the new post)", m.Len())
	}
	if n := m.Drain(1, nil); n != 1 || m.Len() != 1 || !slices.Equal(log, []int{1, 3, 5, 7}) {
		t.Fatalf("budgeted drain ran %d, Len %d, log %v", n, m.Len(), log)
	}
	if n := m.Drain(0, nil); n != 1 || m.Len() != 0 || !slices.Equal(log, []int{1, 3, 5, 7, 8}) {
		t.Fatalf("drain ran %d, Len %d, log %v", n, m.Len(), log)
	}
}

func TestWakeOnlyWhileSleeping(t *testing.T) {
	var wakes int
	m := New(0, func() { wakes++ })
	for range 100 {
		m.Post(func() {})
	}
	if wakes != 0 {
		t.Fatalf("%d wakes for posts to a consumer that is not sleeping, want 0", wakes)
	}
	if m.Sleep() {
		t.Fatal("Sleep with 100 tasks queued said the consumer may block")
	}
	m.Post(func() {})
	if wakes != 0 {
		t.Fatal("a refused Sleep left its announcement: Post woke")
	}
	m.Drain(0, nil)
	if !m.Sleep() {
		t.Fatal("Sleep on an empty mailbox said the consumer may not block")
	}
	for range 100 {
		m.Post(func() {})
	}
	if wakes != 1 {
		t.Fatalf("%d wakes for 100 posts to a sleeping consumer, want 1", wakes)
	}
	m.Awake()
	m.Drain(0, nil)
	if wakes != 1 {
		t.Fatal("Drain or Awake called wake")
	}
	m.Sleep()
	m.Awake() // woke for another reason (a timer, I/O): no wake owed
	m.Post(func() {})
	if wakes != 1 {
		t.Fatalf("wakes %d after Awake, want 1", wakes)
	}
	m.Drain(1, nil)
	if !m.Sleep() {
		t.Fatal("Sleep refused on an empty mailbox")
	}
	m.Post(func() {})
	m.Post(func() {})
	if wakes != 2 {
		t.Fatalf("wakes %d, want 2 (one per sleep)", wakes)
	}
}

func TestBoundGivesErrFull(t *testing.T) {
	m := New(3, nil)
	for i := range 3 {
		if err := m.Post(func() {}); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if err := m.Post(func() {}); !errors.Is(err, ErrFull) {
		t.Fatalf("4th Post: %v, want ErrFull", err)
	}
	if m.Len() != 3 {
		t.Fatalf("Len %d: the rejected task was queued", m.Len())
	}
	m.Drain(1, nil)
	if err := m.Post(func() {}); err != nil {
		t.Fatalf("Post after making room: %v", err)
	}
	if New(0, nil).max != DefaultMax || New(-1, nil).max != DefaultMax {
		t.Fatal("max <= 0 must select DefaultMax")
	}
	if ErrFull.Error() != "mailbox: full" || ErrClosed.Error() != "mailbox: closed" {
		t.Fatal("error texts changed")
	}
}

func TestClose(t *testing.T) {
	m := New(0, nil)
	var log []int
	for i := range 5 {
		m.Post(func() { log = append(log, i) })
	}
	m.Drain(2, nil)
	m.Post(func() { log = append(log, 5) })
	rest := m.Close()
	if len(rest) != 4 || !m.Empty() || m.Len() != 0 {
		t.Fatalf("Close returned %d tasks, Len %d", len(rest), m.Len())
	}
	for _, fn := range rest {
		fn.Run()
	}
	if !slices.Equal(log, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("order %v", log)
	}
	if err := m.Post(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Post after Close: %v", err)
	}
	if m.Close() != nil || m.Drain(0, nil) != 0 {
		t.Fatal("second Close or Drain after Close found tasks")
	}
	if New(0, nil).Close() != nil {
		t.Fatal("Close of an empty mailbox returned tasks")
	}
}

func TestNilTaskPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "mailbox: Post of a nil task" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	New(0, nil).Post(nil)
}

// TestConcurrentPostersOrdering has 8 goroutines post 10k numbered tasks
// each while the consumer drains, sleeping on the wake channel when empty:
// every poster's numbers must arrive strictly increasing, none lost or
// duplicated, and a lost wake-up would hang the consumer.
func TestConcurrentPostersOrdering(t *testing.T) {
	checkGoroutines(t)
	const posters, each = 8, 10_000
	wakeCh := make(chan struct{}, 1)
	var wakes atomic.Int64
	m := New(0, func() {
		wakes.Add(1)
		select {
		case wakeCh <- struct{}{}:
		default:
		}
	})
	last := make([]int, posters) // consumer-owned
	for i := range last {
		last[i] = -1
	}
	received := 0
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := range each {
				for {
					err := m.Post(func() {
						if i != last[p]+1 {
							t.Errorf("poster %d: got %d after %d", p, i, last[p])
						}
						last[p] = i
						received++
					})
					if err == nil {
						break
					}
					t.Errorf("Post: %v", err)
					return
				}
			}
		})
	}
	sleeps := 0
	for received < posters*each {
		if m.Drain(0, nil) > 0 {
			continue
		}
		sleeps++ // every announcement may be taken by a Post, refused or not
		if !m.Sleep() {
			continue
		}
		select {
		case <-wakeCh:
		case <-time.After(20 * time.Second):
			t.Fatalf("consumer starved with %d/%d tasks: lost wake-up", received, posters*each)
		}
		m.Awake()
	}
	wg.Wait()
	for p, l := range last {
		if l != each-1 {
			t.Fatalf("poster %d: last task %d, want %d", p, l, each-1)
		}
	}
	if received != posters*each || !m.Empty() {
		t.Fatalf("received %d, Len %d", received, m.Len())
	}
	if w := wakes.Load(); w > int64(sleeps) {
		t.Fatalf("%d wakes for %d announced sleeps: not deduplicated", w, sleeps)
	}
}

func TestConcurrentBoundNeverExceeded(t *testing.T) {
	checkGoroutines(t)
	const max = 64
	m := New(max, nil)
	var accepted, rejected atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				switch err := m.Post(func() {}); err {
				case nil:
					accepted.Add(1)
				case ErrFull:
					rejected.Add(1)
				default:
					t.Errorf("Post: %v", err)
				}
			}
		})
	}
	ran := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		if l := m.Len(); l > max {
			t.Fatalf("Len %d over the bound %d", l, max)
		}
		ran += m.Drain(7, nil)
		runtime.Gosched()
	}
	ran += m.Drain(0, nil)
	if int64(ran) != accepted.Load() || accepted.Load()+rejected.Load() != 8000 {
		t.Fatalf("ran %d, accepted %d, rejected %d", ran, accepted.Load(), rejected.Load())
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	m := New(0, func() {})
	task := func() {}
	for range 64 {
		m.Post(task)
	}
	m.Drain(0, nil)
	for range 64 {
		m.Post(task)
	}
	m.Drain(0, nil)
	a := testing.AllocsPerRun(100, func() {
		for range 64 {
			m.Post(task)
		}
		m.Drain(0, nil)
	})
	if a != 0 {
		t.Fatalf("Post+Drain allocated %.1f times per run", a)
	}
}

func TestBurstMemoryReleased(t *testing.T) {
	m := New(0, nil)
	task := func() {}
	for range 100_000 {
		m.Post(task)
	}
	m.Drain(0, nil)
	for range 4 * shrinkAfter {
		m.Post(task)
		m.Drain(0, nil)
	}
	if c := cap(m.in) + cap(m.out); c > shrinkCap {
		t.Fatalf("slices keep %d entries after the burst", c)
	}
}

// TestPushNeverRefusedForFullness: the library's own work is queued past
// the bound, counts towards it for Post, runs in FIFO order with posted
// tasks, and is refused only after Close.
func TestPushNeverRefusedForFullness(t *testing.T) {
	m := New(2, nil)
	var order []int
	for i := range 2 {
		if err := m.Post(func() { order = append(order, i) }); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	for i := 2; i < 10; i++ {
		if err := m.Push(Func(func() { order = append(order, i) })); err != nil {
			t.Fatalf("push %d at the bound: %v", i, err)
		}
	}
	if err := m.Post(func() {}); !errors.Is(err, ErrFull) {
		t.Fatalf("Post behind pushed work: %v, want ErrFull", err)
	}
	if n := m.Drain(0, nil); n != 10 {
		t.Fatalf("drained %d, want 10", n)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v, want 0..9", order)
		}
	}
	m.Close()
	if err := m.Push(Func(func() {})); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close: %v, want ErrClosed", err)
	}
}

// TestBatchBeingRunDoesNotCount: with a bound of 1, a task of the batch
// may post its successor, and tasks a budgeted Drain left still count.
func TestBatchBeingRunDoesNotCount(t *testing.T) {
	m := New(1, nil)
	var errs []error
	if err := m.Post(func() { errs = append(errs, m.Post(func() {})) }); err != nil {
		t.Fatal(err)
	}
	m.Drain(0, nil)
	if len(errs) != 1 || errs[0] != nil {
		t.Fatalf("Post from the running batch: %v, want nil", errs)
	}
	if err := m.Post(func() {}); !errors.Is(err, ErrFull) {
		t.Fatalf("second Post while one waits: %v, want ErrFull", err)
	}
	m.Drain(0, nil)
	// A budgeted Drain: the task it leaves still waits.
	m2 := New(2, nil)
	m2.Post(func() {})
	m2.Post(func() {})
	m2.Drain(1, nil)
	if err := m2.Post(func() {}); err != nil {
		t.Fatalf("Post with one task left: %v", err)
	}
	if err := m2.Post(func() {}); !errors.Is(err, ErrFull) {
		t.Fatalf("Post with two waiting: %v, want ErrFull", err)
	}
}

// TestPushUrgentRunsFirst: urgent tasks run before the backlog, in their own
// order, whatever the budget, and a panicking one leaves the rest queued
// ahead of the backlog.
func TestPushUrgentRunsFirst(t *testing.T) {
	m := New(0, nil)
	var order []string
	for i := range 3 {
		m.Post(func() { order = append(order, fmt.Sprint("p", i)) })
	}
	m.PushUrgent(Func(func() { order = append(order, "u0") }))
	m.PushUrgent(Func(func() { panic("boom") }))
	m.PushUrgent(Func(func() { order = append(order, "u2") }))
	if m.Len() != 6 {
		t.Fatalf("Len %d, want 6", m.Len())
	}
	run := func(t Task) {
		defer func() { recover() }()
		t.Run()
	}
	// The panic ends this Drain's urgent run inside run; the rest goes on.
	m.Drain(1, run)
	m.Drain(0, run)
	want := "u0 u2 p0 p1 p2"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
	if !m.Empty() {
		t.Fatal("not empty after draining")
	}
	m.PushUrgent(Func(func() {}))
	m.Post(func() {})
	if rest := m.Close(); len(rest) != 2 {
		t.Fatalf("Close returned %d tasks, want 2", len(rest))
	}
	if err := m.PushUrgent(Func(func() {})); !errors.Is(err, ErrClosed) {
		t.Fatalf("PushUrgent after Close: %v", err)
	}

	// A panic that leaves Drain (as the loop's does): the urgent tasks after
	// it stay first.
	m = New(0, nil)
	order = nil
	m.Post(func() { order = append(order, "p") })
	m.PushUrgent(Func(func() { panic("boom") }))
	m.PushUrgent(Func(func() { order = append(order, "u1") }))
	func() {
		defer func() { recover() }()
		m.Drain(0, nil)
	}()
	m.PushUrgent(Func(func() { order = append(order, "u2") }))
	m.Drain(0, nil)
	if got := strings.Join(order, " "); got != "u1 u2 p" {
		t.Fatalf("order after a panic %q, want %q", got, "u1 u2 p")
	}
}
