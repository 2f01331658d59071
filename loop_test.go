package ioloop_test

import (
	"log/slog"
	"runtime"
	"slices"
	"strings"
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

// Busy is true in a task while another task of the same batch is still to
// run, and false in the last one when nothing else is pending.
func TestLoopBusy(t *testing.T) {
	checkLeaks(t)
	g, err := ioloop.New(ioloop.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	l := g.Loops()[0]
	res := make(chan [2]bool, 1)
	var first bool
	l.Post(func() {
		// Both run in the next iteration's batch.
		l.Post(func() { first = l.Busy() })
		l.Post(func() { res <- [2]bool{first, l.Busy()} })
	})
	select {
	case got := <-res:
		if got != [2]bool{true, false} {
			t.Fatalf("Busy in the first and last task = %v, want [true false]", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tasks never ran")
	}
}
