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

// parkForInput writes s to fd from another goroutine after 10 ms and
// parks until Park returns events (returns with none are allowed: a
// spurious wake-up); it returns how many.
func parkForInput(t *testing.T, p *Poller, evs []Event, fd int, s string) int {
	t.Helper()
	go func() {
		time.Sleep(10 * time.Millisecond)
		writeAll(t, fd, s)
	}()
	for {
		n, err := p.Park(evs, time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return n
		}
	}
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
	parkForInput(t, p, evs[:], b, "3")
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

// In a run of Parks that slept and returned one event each, the next one
// arms the gate without polling first; an event already waiting then makes
// the gate fire at once, and Park returns it. A Park that returns more ends
// the run: the next one polls first and returns waiting events without
// arming the gate.
func TestParkSparseArmsFirst(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	c, d := socketPair(t)
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(c, 2); err != nil {
		t.Fatal(err)
	}
	var evs [8]Event
	if n, err := p.Wait(evs[:], 0); n != 2 || err != nil { // both writable
		t.Fatalf("Wait = %d, %v", n, err)
	}
	// Two Parks that sleep until one event comes.
	for i := range 2 {
		if n := parkForInput(t, p, evs[:], b, "x"); n != 1 {
			t.Fatalf("Park = %d events, want 1", n)
		}
		readAll(t, a)
		if p.park.sparse != i+1 {
			t.Fatalf("after %d sleeping Parks with one event the run is %d", i+1, p.park.sparse)
		}
	}
	writeAll(t, b, "2") // waiting before the next Park begins
	start := time.Now()
	if n, err := p.Park(evs[:], time.Now().Add(10*time.Second)); n != 1 || err != nil {
		t.Fatalf("Park with an event waiting = %d, %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the waiting event was returned after %v", d)
	}
	if !p.park.slept {
		t.Fatal("the Park after a sparse run polled before arming")
	}
	if got := readAll(t, a); got != "2" {
		t.Fatalf("read %q", got)
	}

	// Two events end the run.
	writeAll(t, b, "3")
	writeAll(t, d, "4")
	if n, err := p.Park(evs[:], time.Time{}); n != 2 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	readAll(t, a)
	readAll(t, c)
	if p.park.sparse != 0 {
		t.Fatalf("a Park that returned two events left the run at %d", p.park.sparse)
	}
	writeAll(t, b, "5")
	if n, err := p.Park(evs[:], time.Time{}); n != 1 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	if p.park.armed || p.park.slept {
		t.Fatal("the gate was armed although the poll found the event")
	}
	if got := readAll(t, a); got != "5" {
		t.Fatalf("read %q", got)
	}
}
