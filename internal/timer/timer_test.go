package timer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// recorder returns callbacks that append their id to a shared log.
type recorder struct{ log []int }

func (r *recorder) cb(id int) func() { return func() { r.log = append(r.log, id) } }

// drain pops and runs every timer expired at now and returns how many ran.
func drain(h *Heap, now int64) int {
	k := 0
	for {
		f, ok := h.PopExpired(now)
		if !ok {
			return k
		}
		f.Run()
		k++
	}
}

func TestZeroValue(t *testing.T) {
	var h Heap
	if h.Len() != 0 {
		t.Fatalf("Len = %d, want 0", h.Len())
	}
	if _, ok := h.Next(); ok {
		t.Fatal("Next on empty heap reported a deadline")
	}
	if f, ok := h.PopExpired(math.MaxInt64); ok || f != nil {
		t.Fatal("PopExpired on empty heap returned a timer")
	}
	var z Handle
	if !z.IsZero() || h.Pending(z) || h.Cancel(z) || h.Reset(z, 5) {
		t.Fatal("zero Handle must be 'no timer' for every method")
	}
}

func TestFireOrderRandomDeadlines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Heap
	var r recorder
	type sched struct {
		id   int
		when int64
	}
	const n = 5000
	want := make([]sched, n)
	whenOf := make([]int64, n)
	for i := range n {
		w := rng.Int64N(1000) // many equal deadlines on purpose
		want[i] = sched{id: i, when: w}
		whenOf[i] = w
		h.Schedule(w, 0, r.cb(i))
	}
	if h.Len() != n {
		t.Fatalf("Len = %d, want %d", h.Len(), n)
	}
	slices.SortStableFunc(want, func(a, b sched) int {
		switch {
		case a.when < b.when:
			return -1
		case a.when > b.when:
			return 1
		}
		return 0
	})
	// Advance time in steps and check that nothing fires early.
	for now := int64(-1); now < 1000; now += 7 {
		before := len(r.log)
		drain(&h, now)
		for _, id := range r.log[before:] {
			if w := whenOf[id]; w > now {
				t.Fatalf("timer %d with deadline %d fired at now=%d", id, w, now)
			}
		}
		if next, ok := h.Next(); ok && next <= now {
			t.Fatalf("Next = %d still expired after draining at %d", next, now)
		}
	}
	drain(&h, 1000)
	if len(r.log) != n {
		t.Fatalf("fired %d timers, want %d", len(r.log), n)
	}
	for i := range want {
		if r.log[i] != want[i].id {
			t.Fatalf("fire #%d: got timer %d, want %d (stable sort by deadline)", i, r.log[i], want[i].id)
		}
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d after all fired", h.Len())
	}
}

func TestFIFOForEqualDeadlines(t *testing.T) {
	var h Heap
	var r recorder
	// Interleave two deadlines so the heap must reorder, then check FIFO per deadline.
	for i := range 100 {
		when := int64(10)
		if i%2 == 1 {
			when = 5
		}
		h.Schedule(when, 0, r.cb(i))
	}
	drain(&h, 10)
	var want []int
	for i := 1; i < 100; i += 2 {
		want = append(want, i)
	}
	for i := 0; i < 100; i += 2 {
		want = append(want, i)
	}
	if !slices.Equal(r.log, want) {
		t.Fatalf("order = %v\nwant %v", r.log, want)
	}
}

func TestCancelledNeverFire(t *testing.T) {
	var h Heap
	var r recorder
	hs := make([]Handle, 200)
	for i := range hs {
		hs[i] = h.Schedule(int64(i%13), 0, r.cb(i))
	}
	for i := 0; i < len(hs); i += 3 {
		if !h.Cancel(hs[i]) {
			t.Fatalf("Cancel(%d) = false for a pending timer", i)
		}
		if h.Cancel(hs[i]) {
			t.Fatalf("second Cancel(%d) = true", i)
		}
		if h.Pending(hs[i]) {
			t.Fatalf("cancelled timer %d still pending", i)
		}
	}
	drain(&h, 100)
	seen := map[int]bool{}
	for _, id := range r.log {
		if id%3 == 0 {
			t.Fatalf("cancelled timer %d fired", id)
		}
		if seen[id] {
			t.Fatalf("timer %d fired twice", id)
		}
		seen[id] = true
	}
	if want := 200 - 67; len(r.log) != want {
		t.Fatalf("fired %d, want %d", len(r.log), want)
	}
}

func TestStaleHandleCannotTouchReusedNode(t *testing.T) {
	var h Heap
	var r recorder
	old := h.Schedule(1, 0, r.cb(1))
	if f, ok := h.PopExpired(1); !ok {
		t.Fatal("timer did not expire")
	} else {
		f.Run()
	}
	if h.Pending(old) {
		t.Fatal("fired one-shot timer still pending")
	}
	// The freed node is reused by the next Schedule.
	nw := h.Schedule(5, 0, r.cb(2))
	if nw.n != old.n {
		t.Fatal("node was not recycled through the free list")
	}
	if h.Cancel(old) || h.Reset(old, 0) || h.Pending(old) {
		t.Fatal("stale handle acted on the timer that reused its node")
	}
	if !h.Pending(nw) {
		t.Fatal("new timer lost")
	}
	// Same through cancellation instead of firing.
	if !h.Cancel(nw) {
		t.Fatal("Cancel of pending timer failed")
	}
	third := h.Schedule(7, 0, r.cb(3))
	if h.Cancel(nw) || h.Reset(nw, 1) {
		t.Fatal("stale cancelled handle acted on a reused node")
	}
	drain(&h, 100)
	if !slices.Equal(r.log, []int{1, 3}) {
		t.Fatalf("log = %v, want [1 3]", r.log)
	}
	if h.Pending(third) {
		t.Fatal("fired timer still pending")
	}
}

func TestHandleFromOtherHeap(t *testing.T) {
	var a, b Heap
	ha := a.Schedule(1, 0, func() {})
	b.Schedule(1, 0, func() {})
	if b.Pending(ha) || b.Cancel(ha) || b.Reset(ha, 3) {
		t.Fatal("a heap acted on another heap's handle")
	}
	if !a.Pending(ha) || b.Len() != 1 {
		t.Fatal("foreign handle disturbed a heap")
	}
}

func TestRepeating(t *testing.T) {
	var h Heap
	var r recorder
	tk := h.Schedule(10, 10, r.cb(1))
	h.Schedule(25, 0, r.cb(2))
	// Draining at 20 runs the tick due at 10 once; its next deadline, 20, is
	// already due, so it moves to now+period = 30 instead of firing twice.
	if n := drain(&h, 20); n != 1 {
		t.Fatalf("fired %d, want 1", n)
	}
	if next, _ := h.Next(); next != 25 {
		t.Fatalf("Next = %d, want 25", next)
	}
	// Exact steps: 25 (one-shot), 30 (tick -> 40), 40 (tick -> 50).
	drain(&h, 25)
	drain(&h, 30)
	drain(&h, 40)
	if !slices.Equal(r.log, []int{1, 2, 1, 1}) {
		t.Fatalf("log = %v", r.log)
	}
	if next, _ := h.Next(); next != 50 || !h.Pending(tk) {
		t.Fatalf("Next = %d pending=%v, want 50 true", next, h.Pending(tk))
	}
	// A stalled loop: now jumps far ahead; one tick only, next at now+period.
	r.log = nil
	if n := drain(&h, 1000); n != 1 {
		t.Fatalf("stalled loop fired %d ticks, want 1", n)
	}
	if next, _ := h.Next(); next != 1010 {
		t.Fatalf("Next = %d, want 1010", next)
	}
	if !h.Cancel(tk) || h.Pending(tk) || h.Len() != 0 {
		t.Fatal("cancel of repeating timer failed")
	}
	if n := drain(&h, 5000); n != 0 {
		t.Fatalf("cancelled repeating timer fired %d times", n)
	}
}

func TestRepeatingCancelsItselfFromCallback(t *testing.T) {
	var h Heap
	var tk Handle
	count := 0
	tk = h.Schedule(1, 1, func() {
		count++
		if count == 3 && !h.Cancel(tk) {
			t.Error("self-cancel failed")
		}
	})
	for now := int64(1); now < 20; now++ {
		drain(&h, now)
	}
	if count != 3 {
		t.Fatalf("repeating timer ran %d times, want 3", count)
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d", h.Len())
	}
}

func TestCallbackSchedulesDuringDrain(t *testing.T) {
	var h Heap
	var r recorder
	h.Schedule(5, 0, func() {
		r.log = append(r.log, 1)
		h.Schedule(5, 0, r.cb(3)) // same deadline, later in FIFO order
		h.Schedule(100, 0, r.cb(4))
	})
	h.Schedule(5, 0, r.cb(2))
	drain(&h, 5)
	if !slices.Equal(r.log, []int{1, 2, 3}) {
		t.Fatalf("log = %v, want [1 2 3]", r.log)
	}
	if h.Len() != 1 {
		t.Fatalf("Len = %d, want 1", h.Len())
	}
}

func TestReset(t *testing.T) {
	var h Heap
	var r recorder
	a := h.Schedule(10, 0, r.cb(1))
	b := h.Schedule(20, 0, r.cb(2))
	c := h.Schedule(30, 0, r.cb(3))
	if !h.Reset(c, 5) || !h.Reset(a, 25) {
		t.Fatal("Reset of pending timers failed")
	}
	if next, _ := h.Next(); next != 5 {
		t.Fatalf("Next = %d, want 5", next)
	}
	// b moves from 20 to 25, the deadline a already has: as the later
	// scheduling, b fires after a.
	if !h.Reset(b, 25) {
		t.Fatal("Reset failed")
	}
	drain(&h, 25)
	if !slices.Equal(r.log, []int{3, 1, 2}) {
		t.Fatalf("log = %v, want [3 1 2]", r.log)
	}
	if h.Reset(a, 100) || h.Pending(a) || h.Len() != 0 {
		t.Fatal("Reset revived a fired timer")
	}
}

func TestResetRepeatingKeepsPeriod(t *testing.T) {
	var h Heap
	n := 0
	tk := h.Schedule(10, 3, func() { n++ })
	h.Reset(tk, 100)
	if drain(&h, 99) != 0 {
		t.Fatal("fired before the reset deadline")
	}
	for now := int64(100); now <= 106; now++ {
		drain(&h, now) // fires at 100, 103, 106
	}
	if n != 3 {
		t.Fatalf("ran %d times, want 3", n)
	}
	if next, _ := h.Next(); next != 109 {
		t.Fatalf("Next = %d, want 109", next)
	}
}

func TestSaturatedDeadline(t *testing.T) {
	var h Heap
	n := 0
	h.Schedule(math.MaxInt64-5, 10, func() { n++ })
	drain(&h, math.MaxInt64-1)
	if n != 1 {
		t.Fatalf("ran %d", n)
	}
	if next, _ := h.Next(); next != math.MaxInt64 {
		t.Fatalf("Next = %d, want MaxInt64 (saturated, not wrapped)", next)
	}
	h.Schedule(math.MinInt64, 0, func() { n++ })
	drain(&h, math.MinInt64)
	if n != 2 {
		t.Fatalf("timer at MinInt64 did not fire")
	}
}

func TestNilCallbackPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "timer: Schedule with nil callback" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	var h Heap
	h.Schedule(1, 0, nil)
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	var h Heap
	f := func() {}
	for i := range 1000 {
		h.Schedule(int64(i), 0, f)
	}
	now := int64(1000)
	hs := make([]Handle, 0, 64)
	allocs := testing.AllocsPerRun(200, func() {
		hs = hs[:0]
		for i := range 64 {
			hs = append(hs, h.Schedule(now+int64(i*7919%64), 0, f))
		}
		for i := 0; i < 64; i += 2 {
			h.Cancel(hs[i])
		}
		h.Reset(hs[1], now+1)
		for range 32 {
			if _, ok := h.PopExpired(now + 64); !ok {
				t.Fatal("expected an expired timer")
			}
		}
		now += 64
	})
	if allocs != 0 {
		t.Fatalf("steady state allocated %.1f times per run", allocs)
	}
}
