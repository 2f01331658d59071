package ioloop_test

import (
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ioloop/ioloop"
)

// loopState waits until the goroutine running g's only loop is idle and
// returns the state the runtime gives it in a goroutine dump ("IO wait"
// for a goroutine parked in the runtime's poller, "syscall" for one
// blocked in a system call).
func loopState(t *testing.T, g *ioloop.Group) string {
	t.Helper()
	buf := make([]byte, 1<<20)
	var last string
	for range 200 {
		time.Sleep(5 * time.Millisecond)
		n := runtime.Stack(buf, true)
		for _, st := range strings.Split(string(buf[:n]), "\n\n") {
			if !strings.Contains(st, "ioloop.(*Loop).run(") {
				continue
			}
			head, _, _ := strings.Cut(st, "\n")
			// "goroutine 7 [IO wait]:" or "goroutine 7 [syscall, locked to thread]:"
			_, state, _ := strings.Cut(head, "[")
			state, _, _ = strings.Cut(state, "]")
			state, _, _ = strings.Cut(state, ",")
			last = state
			if state == "IO wait" || state == "syscall" {
				return state
			}
		}
	}
	t.Fatalf("the loop never looked asleep; last state %q", last)
	return ""
}

// pingPong runs rounds of "a posted task wakes the goroutine that posted
// it" on one P and checks every round arrives once, in order.
func pingPong(t *testing.T, g *ioloop.Group, rounds int) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ch := make(chan int)
	l := g.Loops()[0]
	for i := 1; i <= rounds; i++ {
		if err := l.Post(func() { ch <- i }); err != nil {
			t.Fatal(err)
		}
		if v := <-ch; v != i {
			t.Fatalf("round %d received %d", i, v)
		}
	}
}

// An unlocked loop (the default) sleeps parked in the Go runtime's
// poller, not in a system call: its thread and P are free for the
// goroutines its callbacks woke and for other loops, and posted tasks,
// timers and I/O still wake it.
func TestUnlockedLoopParksInRuntimePoller(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	defer g.Close()
	pingPong(t, g, 300)
	if st := loopState(t, g); st != "IO wait" {
		t.Fatalf("idle unlocked loop is in state %q, want IO wait (parked in the runtime's poller)", st)
	}
	fired := make(chan time.Duration, 1)
	l := g.Loops()[0]
	start := time.Now()
	if err := l.Post(func() { l.AfterFunc(20*time.Millisecond, func() { fired <- time.Since(start) }) }); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-fired:
		if d < 20*time.Millisecond {
			t.Fatalf("timer fired after %v, before its 20ms", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a timer did not wake the parked loop")
	}
	pingPong(t, g, 50)
}

// A locked loop blocks in epoll_wait: parking it would park its thread
// too. This is what Options.LockOSThread documents.
func TestLockedLoopBlocksInPoller(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1, LockOSThread: true})
	defer g.Close()
	pingPong(t, g, 50)
	if st := loopState(t, g); st != "syscall" {
		t.Fatalf("idle locked loop is in state %q, want syscall", st)
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

func TestPostOrderPerGoroutine(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	const posters, each = 8, 5000
	last := make([]int, posters) // touched on the loop only
	var bad, ran atomic.Int64
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				if err := l.Post(func() {
					if last[p] != i-1 {
						bad.Add(1)
					}
					last[p] = i
					ran.Add(1)
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
	if bad.Load() != 0 || ran.Load() != posters*each {
		t.Fatalf("%d out of order, %d ran of %d", bad.Load(), ran.Load(), posters*each)
	}
}

func TestTimersOrderAndCancel(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	type fired struct {
		id  int
		at  time.Duration
		due time.Duration
	}
	var got []fired
	done := make(chan struct{})
	l.Post(func() {
		start := l.Now()
		var timers []ioloop.Timer
		for i := range 200 {
			d := time.Duration((i*37)%50) * time.Millisecond
			id := i
			timers = append(timers, l.AfterFunc(d, func() {
				got = append(got, fired{id, l.Now().Sub(start), d})
			}))
		}
		for i := 0; i < 200; i += 3 {
			if !timers[i].Stop() {
				t.Errorf("Stop of pending timer %d returned false", i)
			}
		}
		l.AfterFunc(80*time.Millisecond, func() { close(done) })
	})
	<-done
	ran := map[int]bool{}
	for i, f := range got {
		if f.id%3 == 0 {
			t.Errorf("cancelled timer %d fired", f.id)
		}
		if f.at < f.due {
			t.Errorf("timer %d fired at %v, before its %v", f.id, f.at, f.due)
		}
		if i > 0 && (got[i-1].due > f.due || got[i-1].due == f.due && got[i-1].id > f.id) {
			t.Errorf("timer %d (due %v) fired after timer %d (due %v)", f.id, f.due, got[i-1].id, got[i-1].due)
		}
		ran[f.id] = true
	}
	if len(got) != 200-67 || len(ran) != len(got) {
		t.Fatalf("%d timers fired (%d distinct), want %d", len(got), len(ran), 200-67)
	}
}

func TestEveryFunc(t *testing.T) {
	checkLeaks(t)
	g := newGroup(t, ioloop.Options{Loops: 1})
	l := g.Loops()[0]
	done := make(chan int)
	l.Post(func() {
		n := 0
		var tm ioloop.Timer
		tm = l.EveryFunc(2*time.Millisecond, func() {
			n++
			if n == 5 {
				tm.Stop()
				l.AfterFunc(20*time.Millisecond, func() { done <- n })
			}
		})
	})
	if n := <-done; n != 5 {
		t.Fatalf("stopped repeating timer ran %d times, want 5", n)
	}
}
