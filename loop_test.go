package ioloop_test

import (
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ioloop/ioloop"
)

// wokenBeforeSleep runs rounds of "a posted task wakes the goroutine that
// posted it" on a one-loop group with one P, and returns how often the loop
// was about to block in the poller while the goroutine its task had woken
// had not run yet. With a single P that goroutine can run before the loop
// blocks only if the loop gives the P up first.
func wokenBeforeSleep(t *testing.T, o ioloop.Options, rounds int) (misses, sleeps int64) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	g := newGroup(t, o)
	var sent, got, miss, slept atomic.Int64
	last := int64(0) // loop only
	ioloop.SetSleepHook(g, func() {
		s := sent.Load()
		if s == last {
			return // nothing sent since the last sleep
		}
		last = s
		slept.Add(1)
		if got.Load() != s {
			miss.Add(1)
		}
	})
	ch := make(chan int64)
	l := g.Loops()[0]
	for i := int64(1); i <= int64(rounds); i++ {
		if err := l.Post(func() { sent.Store(i); ch <- i }); err != nil {
			t.Fatal(err)
		}
		if v := <-ch; v != i {
			t.Fatalf("round %d received %d", i, v)
		}
		got.Store(i)
	}
	g.Close()
	return miss.Load(), slept.Load()
}

// An unlocked loop (the default) yields before it blocks, so a goroutine woken by one of
// its callbacks runs at once instead of waiting for the runtime to take the
// loop's P back. The scheduler takes its global queue first once every 61
// schedules, when the loop may run again before the goroutine: a few misses
// are allowed, a blocking loop would miss every round.
func TestUnlockedLoopYieldsBeforeSleeping(t *testing.T) {
	checkLeaks(t)
	const rounds = 300
	misses, sleeps := wokenBeforeSleep(t, ioloop.Options{Loops: 1}, rounds)
	if sleeps == 0 {
		t.Fatal("the loop never slept after a round")
	}
	if misses > rounds/10 {
		t.Fatalf("the loop blocked %d times (of %d sleeps) before the goroutine it had woken ran", misses, sleeps)
	}
}

// A locked loop does not yield (that would cost two thread hand-offs per
// sleep): the goroutine its callback woke is still waiting when it blocks.
// This is what Options.LockOSThread documents.
func TestLockedLoopSleepsWithoutYielding(t *testing.T) {
	checkLeaks(t)
	const rounds = 50
	misses, sleeps := wokenBeforeSleep(t, ioloop.Options{Loops: 1, LockOSThread: true}, rounds)
	if sleeps == 0 || misses != sleeps {
		t.Fatalf("locked loop: %d of %d sleeps with the woken goroutine still waiting; want all", misses, sleeps)
	}
}

// A posted task that panics is reported, and the tasks posted after it (in
// the same batch) still run, in order.
func TestPanickingPostedTaskOthersRun(t *testing.T) {
	checkLeaks(t)
	logs := &countingHandler{}
	g := newGroup(t, ioloop.Options{Loops: 1, Logger: slog.New(logs)})
	l := g.Loops()[0]
	var got []int // loop only
	done := make(chan []int, 1)
	if err := l.Post(func() {
		l.Post(func() { got = append(got, 1) })
		l.Post(func() { panic("task bug") })
		l.Post(func() { got = append(got, 3) })
		l.Post(func() { panic("again") })
		l.Post(func() { got = append(got, 5); done <- got })
	}); err != nil {
		t.Fatal(err)
	}
	if order := <-done; !slices.Equal(order, []int{1, 3, 5}) {
		t.Fatalf("tasks ran %v, want [1 3 5]", order)
	}
	if n := logs.count("ioloop: panic in posted task"); n != 2 {
		t.Fatalf("%d panics reported, want 2", n)
	}
}
