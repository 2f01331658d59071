package poller

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// gateReady reports whether the gate that the runtime watches would wake
// it now, without disturbing it when it would not.
func gateReady(t *testing.T, p *Poller) bool {
	t.Helper()
	var ev [1]unix.EpollEvent
	n, err := unix.EpollWait(p.park.gate, ev[:], 0)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// While the loop is busy (Park finds events without parking, or after the
// gate has fired once) new events do not reach the runtime's poller: its
// thread is not woken for events the loop will collect anyway.
func TestParkGateQuietWhileBusy(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	var evs [8]Event
	writeAll(t, b, "1")
	if n, err := p.Park(evs[:], time.Time{}); n != 1 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	readAll(t, a)
	writeAll(t, b, "2")
	if gateReady(t, p) {
		t.Fatal("the gate fired for an event while the loop never parked")
	}
	if n, err := p.Park(evs[:], time.Time{}); n != 1 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	readAll(t, a)

	// Park for real, be woken by input, then stay busy.
	go func() {
		time.Sleep(10 * time.Millisecond)
		writeAll(t, b, "3")
	}()
	for {
		n, err := p.Park(evs[:], time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
	}
	readAll(t, a)
	writeAll(t, b, "4")
	if gateReady(t, p) {
		t.Fatal("the gate stayed armed after it woke the loop")
	}
	if n, err := p.Park(evs[:], time.Time{}); n != 1 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	if got := readAll(t, a); got != "4" {
		t.Fatalf("read %q", got)
	}
}

// When the runtime's poller cannot take the gate, Park still keeps Wait's
// contract: it returns for a Wake and not before its deadline.
func TestParkFallsBackToWait(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	p.park = &parker{broken: true}
	var evs [4]Event
	var sent atomic.Bool
	go func() {
		time.Sleep(5 * time.Millisecond)
		sent.Store(true)
		_ = p.Wake()
	}()
	// A preemption signal may interrupt the blocking Wait (0 events): go
	// on until the Wake was sent. A Wake that lands after the check makes
	// the first Park below return early, which its loop allows.
	for spurious := 0; !sent.Load(); spurious++ {
		n, err := p.Park(evs[:], time.Time{})
		if err != nil || n != 0 {
			t.Fatalf("Park = %d, %v", n, err)
		}
		if spurious == 100 {
			t.Fatal("Park keeps returning before the Wake")
		}
	}
	until := time.Now().Add(3 * time.Millisecond)
	for early := 0; time.Now().Before(until); early++ {
		if n, err := p.Park(evs[:], until); n != 0 || err != nil {
			t.Fatalf("Park(+3ms) = %d, %v", n, err)
		}
		if early == 10 {
			t.Fatal("Park(+3ms) keeps returning before its deadline")
		}
	}
}

// A Wake that finds the loop parked kicks it (the gate's deadline moves
// into the past) instead of writing the eventfd; a Wake while it runs
// writes the eventfd, which the next Park sees at once. A kick that lands
// after the park it was meant for ended costs the next Park one early
// return, and the one after it sleeps again.
func TestParkWakeKicks(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	var evs [4]Event
	if n, err := p.Wait(evs[:], 0); n != 1 || err != nil { // a is writable
		t.Fatalf("Wait = %d, %v", n, err)
	}
	// Create the gate and see Park sleep until a deadline.
	if n, err := p.Park(evs[:], time.Now().Add(time.Millisecond)); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() {
		for p.kick.Load() != kickOn {
			time.Sleep(100 * time.Microsecond)
		}
		done <- p.Wake()
	}()
	start := time.Now()
	if n, err := p.Park(evs[:], time.Now().Add(10*time.Second)); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the kicked Park returned after %v", d)
	}
	if k, w := p.kicks.Load(), p.wakeWrites.Load(); k != 1 || w != 0 {
		t.Fatalf("kicks %d, eventfd writes %d; want 1, 0", k, w)
	}
	if s := p.kick.Load(); s != kickOff {
		t.Fatalf("kick state %d after Park returned", s)
	}

	// Not parked: the eventfd carries the Wake, and the next Park returns.
	if err := p.Wake(); err != nil {
		t.Fatal(err)
	}
	if k, w := p.kicks.Load(), p.wakeWrites.Load(); k != 1 || w != 1 {
		t.Fatalf("kicks %d, eventfd writes %d; want 1, 1", k, w)
	}
	if n, err := p.Park(evs[:], time.Now().Add(10*time.Second)); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}

	// A late kick: one early return, then the deadline is clear again and
	// Park sleeps until input arrives.
	if err := p.park.f.SetReadDeadline(past); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Park(evs[:], time.Time{}); n != 0 || err != nil {
		t.Fatalf("Park after a late kick = %d, %v", n, err)
	}
	var wrote atomic.Bool
	go func() {
		time.Sleep(20 * time.Millisecond)
		wrote.Store(true)
		writeAll(t, b, "x")
	}()
	for {
		n, err := p.Park(evs[:], time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if !wrote.Load() {
			t.Fatal("Park returned early again after a late kick")
		}
	}
	if !wrote.Load() {
		t.Fatal("Park returned before the input")
	}
	if got := readAll(t, a); got != "x" {
		t.Fatalf("read %q", got)
	}
}
