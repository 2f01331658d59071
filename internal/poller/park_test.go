package poller

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Park obeys Wait's contract: it returns ready events at once, returns 0
// after a Wake that arrives while it is parked, and never returns before
// its deadline when nothing happens.
func TestParkEventsWakeDeadline(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 7); err != nil {
		t.Fatal(err)
	}
	settleParked(t, p)
	var evs [8]Event

	// An event already ready: no sleep.
	writeAll(t, b, "x")
	n, err := p.Park(evs[:], time.Time{})
	if err != nil || n != 1 || evs[0].Tag != 7 || evs[0].Flags&Readable == 0 {
		t.Fatalf("Park with input ready = %d %v %v", n, evs[:n], err)
	}
	if got := readAll(t, a); got != "x" {
		t.Fatalf("read %q", got)
	}

	// An event that arrives while parked.
	go func() {
		time.Sleep(20 * time.Millisecond)
		writeAll(t, b, "yz")
	}()
	begin := time.Now()
	for {
		n, err = p.Park(evs[:], time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
	}
	if evs[0].Tag != 7 || evs[0].Flags&Readable == 0 || time.Since(begin) > 5*time.Second {
		t.Fatalf("parked Park returned %v after %v", evs[:n], time.Since(begin))
	}
	if got := readAll(t, a); got != "yz" {
		t.Fatalf("read %q", got)
	}

	// A Wake while parked: 0 events, no error, not before the Wake.
	var woken atomic.Bool
	go func() {
		time.Sleep(20 * time.Millisecond)
		woken.Store(true)
		_ = p.Wake()
	}()
	n, err = p.Park(evs[:], time.Time{})
	if err != nil || n != 0 || !woken.Load() {
		t.Fatalf("Park woken = %d, %v (woken %v)", n, err, woken.Load())
	}

	// Deadlines: not early, and a passed one returns at once; the same
	// deadline twice, and one in the past, still poll.
	for _, d := range []time.Duration{3 * time.Millisecond, time.Microsecond, 15 * time.Millisecond} {
		until := time.Now().Add(d)
		n, err := p.Park(evs[:], until)
		if err != nil || n != 0 || time.Now().Before(until) {
			t.Fatalf("Park(+%v) = %d, %v: returned early", d, n, err)
		}
	}
	past := time.Now().Add(-time.Second)
	writeAll(t, b, "late")
	n, err = p.Park(evs[:], past)
	if err != nil || n != 1 || evs[0].Tag != 7 {
		t.Fatalf("Park with a past deadline and input ready = %d %v %v", n, evs[:n], err)
	}
	readAll(t, a)
	n, err = p.Park(evs[:], past)
	if err != nil || n != 0 {
		t.Fatalf("Park with a past deadline = %d %v", n, err)
	}
}

// settleParked consumes pending reports through Park.
func settleParked(t *testing.T, p *Poller) {
	t.Helper()
	var evs [8]Event
	for range 100 {
		n, err := p.Park(evs[:], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("poller does not settle")
}

// The loop's pattern with Park: a producer publishes work then wakes; the
// parked consumer must see every piece of work (a lost wake-up would hang
// until the watchdog deadline).
func TestParkNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	noLostWakeups(t, p, p.Park)
}

// A parked goroutine holds no thread: with one P, another goroutine runs
// while the poller's owner is parked, and wakes it.
func TestParkFreesThread(t *testing.T) {
	checkLeaks(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newPoller(t)
	var evs [4]Event
	settleParked(t, p)
	ran := make(chan struct{})
	go func() {
		close(ran) // runs only once Park has given up the P
		_ = p.Wake()
	}()
	n, err := p.Park(evs[:], time.Now().Add(30*time.Second))
	select {
	case <-ran:
	default:
		t.Fatal("Park returned before the other goroutine ran")
	}
	if err != nil || n != 0 {
		t.Fatalf("Park = %d, %v", n, err)
	}
}

func BenchmarkParkOneReady(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var evs [4]Event
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Wake()
		if _, err := p.Park(evs[:], time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// The runtime timer behind Park's deadline moves only to an earlier time:
// an earlier deadline still ends the sleep in time, a later one may end
// it once early (Park returns 0 then) and then holds.
func TestParkDeadlineMoves(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	var evs [4]Event
	wakeSoon := func() {
		go func() {
			time.Sleep(5 * time.Millisecond)
			_ = p.Wake()
		}()
	}
	// A far deadline, left set by a wake-up; then an earlier one.
	wakeSoon()
	if n, err := p.Park(evs[:], time.Now().Add(time.Hour)); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	until := time.Now().Add(30 * time.Millisecond)
	if n, err := p.Park(evs[:], until); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	if now := time.Now(); now.Before(until) || now.After(until.Add(5*time.Second)) {
		t.Fatalf("Park(+30ms) after a far deadline returned %v from its deadline", now.Sub(until))
	}
	// A near deadline, left set by a wake-up; then a later one.
	wakeSoon()
	if n, err := p.Park(evs[:], time.Now().Add(20*time.Millisecond)); n != 0 || err != nil {
		t.Fatalf("Park = %d, %v", n, err)
	}
	until = time.Now().Add(60 * time.Millisecond)
	returns := 0
	for time.Now().Before(until) {
		if n, err := p.Park(evs[:], until); n != 0 || err != nil {
			t.Fatalf("Park = %d, %v", n, err)
		}
		returns++
	}
	if returns > 2 {
		t.Fatalf("Park(+60ms) after a near deadline returned %d times before its deadline", returns)
	}
}
