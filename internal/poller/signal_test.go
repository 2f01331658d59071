package poller

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// blocksUntilNotify checks that a Wait on s started now does not return
// within 20 ms (why says what that would mean), and that it returns after
// a Notify.
func blocksUntilNotify(t *testing.T, s *Signal, why string) {
	t.Helper()
	var woke atomic.Bool
	done := make(chan struct{})
	go func() {
		s.Wait()
		woke.Store(true)
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	if woke.Load() {
		t.Fatal(why)
	}
	s.Notify()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Notify")
	}
}

// A Notify before Wait is kept; several before Wait count once; Wait
// blocks until the next Notify.
func TestSignalKeepsAndMerges(t *testing.T) {
	checkLeaks(t)
	s := NewSignal()
	defer s.Close()
	s.Notify()
	s.Wait() // returns at once
	s.Notify()
	s.Notify()
	s.Wait()
	blocksUntilNotify(t, s, "Wait returned without a Notify: two Notifies were kept for two Waits")
}

// pingPong runs 5,000 rounds between two goroutines over two Signals,
// each side notifying the other with notify(round, signal): every
// notification must wake its Wait (a lost one would hang until the
// watchdog).
func pingPong(t *testing.T, notify func(i int, s *Signal)) {
	t.Helper()
	a, b := NewSignal(), NewSignal()
	defer a.Close()
	defer b.Close()
	const rounds = 5000
	var got atomic.Int64
	go func() {
		for i := range rounds {
			a.Wait()
			got.Add(1)
			notify(i, b)
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range rounds {
			notify(i+1, a)
			b.Wait()
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("a wake-up was lost after %d of %d rounds", got.Load(), rounds)
	}
	if n := got.Load(); n != rounds {
		t.Fatalf("%d rounds, want %d", n, rounds)
	}
}

func TestSignalNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	pingPong(t, func(_ int, s *Signal) { s.Notify() })
}

// Notify and NotifyNow mixed.
func TestSignalMixedNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	pingPong(t, func(i int, s *Signal) {
		if i%2 == 0 {
			s.NotifyNow()
		} else {
			s.Notify()
		}
	})
}

// A waiting goroutine holds no thread: with one P, the notifier runs while
// the waiter waits, and on Linux the waiter sleeps in the runtime's poller
// ("IO wait"), not on a channel.
func TestSignalWaiterParks(t *testing.T) {
	checkLeaks(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := NewSignal()
	defer s.Close()
	done := make(chan struct{})
	go func() {
		signalWaiter(s)
		close(done)
	}()
	want := "chan receive"
	if s.f != nil {
		want = "IO wait"
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		st := string(buf[:runtime.Stack(buf, true)])
		if i := strings.Index(st, "poller.signalWaiter"); i >= 0 {
			head := st[strings.LastIndex(st[:i], "goroutine "):i]
			if strings.Contains(head, "["+want) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiter never showed as %q:\n%s", want, st)
		}
		time.Sleep(time.Millisecond)
	}
	s.Notify()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Notify")
	}
}

//go:noinline
func signalWaiter(s *Signal) { s.Wait() }

// NotifyNow wakes a waiter without the descriptor (on Linux, through the
// runtime); a kick that lands after its Wait returned costs the next Wait
// one look at the flag, and that Wait still blocks until its own Notify.
func TestSignalNotifyNow(t *testing.T) {
	checkLeaks(t)
	s := NewSignal()
	defer s.Close()
	for range 100 {
		done := make(chan struct{})
		go func() { s.Wait(); close(done) }()
		s.NotifyNow()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Wait did not return after NotifyNow")
		}
	}
	// A late kick: the flag was taken by a Wait that returned before the
	// deadline moved.
	s.NotifyNow()
	s.Wait()
	if s.f != nil {
		if err := s.f.SetReadDeadline(kicked); err != nil {
			t.Fatal(err)
		}
	}
	blocksUntilNotify(t, s, "a stale kick ended a Wait that had no Notify")
}

// WaitContext returns false when its context ends first, without taking a
// Notify that comes later (the next Wait gets it); true for a Notify that
// came first even when the context has ended; and the context's kick,
// landing after WaitContext returned, ends no later Wait.
func TestSignalWaitContext(t *testing.T) {
	checkLeaks(t)
	s := NewSignal()
	defer s.Close()
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if s.WaitContext(ctx) {
			t.Fatal("WaitContext reported a Notify that never came")
		}
		cancel()
	}
	s.Notify()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if !s.WaitContext(ctx) {
		t.Fatal("a Notify before WaitContext was not reported")
	}
	// A Notify while a bounded wait sleeps ends it with true.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.Notify()
	}()
	if !s.WaitContext(ctx) {
		t.Fatal("WaitContext missed a Notify")
	}
	cancel() // its kick may land now, after the wait
	// A context ending while another goroutine notifies: either outcome,
	// but a Notify not taken is kept for the next Wait.
	for range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { cancel(); s.Notify() }()
		if !s.WaitContext(ctx) {
			s.Wait() // the Notify is kept
		}
	}
	blocksUntilNotify(t, s, "a context's kick ended a later Wait")
}
