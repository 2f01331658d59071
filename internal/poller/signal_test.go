package poller

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

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
	var woke atomic.Bool
	done := make(chan struct{})
	go func() {
		s.Wait()
		woke.Store(true)
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	if woke.Load() {
		t.Fatal("Wait returned without a Notify: two Notifies were kept for two Waits")
	}
	s.Notify()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Notify")
	}
}

// Ping-pong between two goroutines over two Signals: every Notify wakes
// its Wait (a lost one would hang until the watchdog).
func TestSignalNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	a, b := NewSignal(), NewSignal()
	defer a.Close()
	defer b.Close()
	const rounds = 5000
	var got atomic.Int64
	go func() {
		for range rounds {
			a.Wait()
			got.Add(1)
			b.Notify()
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range rounds {
			a.Notify()
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
	var woke atomic.Bool
	done := make(chan struct{})
	go func() {
		s.Wait()
		woke.Store(true)
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	if woke.Load() {
		t.Fatal("a stale kick ended a Wait that had no Notify")
	}
	s.Notify()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Notify")
	}
}

// Notify and NotifyNow mixed, from a goroutine that does not wait for the
// waiter in between: every round's result is seen (none lost).
func TestSignalMixedNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	a, b := NewSignal(), NewSignal()
	defer a.Close()
	defer b.Close()
	const rounds = 5000
	var got atomic.Int64
	go func() {
		for i := range rounds {
			a.Wait()
			got.Add(1)
			if i%2 == 0 {
				b.NotifyNow()
			} else {
				b.Notify()
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range rounds {
			if i%3 == 0 {
				a.NotifyNow()
			} else {
				a.Notify()
			}
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
