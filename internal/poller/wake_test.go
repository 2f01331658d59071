package poller

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWakeDeduplicated(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	const goroutines, wakes = 8, 200
	var wg sync.WaitGroup
	var start sync.WaitGroup
	start.Add(1)
	for range goroutines {
		wg.Go(func() {
			start.Wait()
			for range wakes {
				if err := p.Wake(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	start.Done()
	wg.Wait()
	if got := p.wakeWrites.Load(); got != 1 {
		t.Fatalf("%d concurrent Wakes wrote the wake source %d times, want 1", goroutines*wakes, got)
	}

	var evs [8]Event
	begin := time.Now()
	n, err := p.Wait(evs[:], time.Minute)
	if err != nil || n != 0 {
		t.Fatalf("Wait after Wake = %d, %v; want 0, nil (wake-ups are not events)", n, err)
	}
	if time.Since(begin) >= time.Minute {
		t.Fatal("Wait timed out: the wake-up was lost")
	}
	if p.woken.Load() != 0 {
		t.Fatal("wake flag still set after Wait consumed the wake-up")
	}

	// The wake source is drained: a later Wait sleeps its whole timeout.
	const timeout = 30 * time.Millisecond
	begin = time.Now()
	n, err = p.Wait(evs[:], timeout)
	if elapsed := time.Since(begin); err != nil || n != 0 || elapsed < timeout {
		t.Fatalf("Wait(%v) after a consumed wake-up = %d, %v after %v", timeout, n, err, elapsed)
	}

	// The flag was cleared: the next Wake writes again and wakes again.
	if err := p.Wake(); err != nil {
		t.Fatal(err)
	}
	if got := p.wakeWrites.Load(); got != 2 {
		t.Fatalf("wake source written %d times, want 2", got)
	}
	begin = time.Now()
	if n, err := p.Wait(evs[:], time.Minute); err != nil || n != 0 || time.Since(begin) >= time.Minute {
		t.Fatalf("Wait after second Wake = %d, %v", n, err)
	}
}

func TestWakeWhileBlocked(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	done := make(chan error, 1)
	var woken atomic.Bool
	go func() {
		time.Sleep(20 * time.Millisecond) // let the loop block in Wait first
		woken.Store(true)
		done <- p.Wake()
	}()
	var evs [4]Event
	// An interrupted epoll_wait (the runtime's preemption signal) also
	// returns 0: the contract allows it, so only a run of them fails.
	for spurious := 0; ; spurious++ {
		n, err := p.Wait(evs[:], -1)
		if err != nil || n != 0 {
			t.Fatalf("Wait(-1) = %d, %v; want 0, nil", n, err)
		}
		if woken.Load() {
			break
		}
		if spurious == 100 {
			t.Fatal("Wait(-1) keeps returning before anyone woke it")
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestNoLostWakeups runs the loop's real pattern: a producer publishes work
// then calls Wake, the loop Waits then takes all published work. If a
// wake-up were lost in the drain/clear race, the loop would sleep with
// work pending until the watchdog deadline.
func TestNoLostWakeups(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	noLostWakeups(t, p, func(evs []Event, watchdog time.Time) (int, error) {
		return p.Wait(evs, time.Until(watchdog))
	})
}

// noLostWakeups runs 2,000 rounds of publish-then-Wake against a consumer
// that sleeps in wait (until watchdog at most) and then takes what was
// published. A return with nothing new is legal (the echo of a Wake whose
// work was already taken, an interrupted wait); reaching the watchdog is a
// lost wake-up.
func noLostWakeups(t *testing.T, p *Poller, wait func(evs []Event, watchdog time.Time) (int, error)) {
	t.Helper()
	const rounds = 2000
	var posted, taken atomic.Int64
	errc := make(chan error, 1)
	go func() {
		for i := int64(1); i <= rounds; i++ {
			posted.Store(i)
			if err := p.Wake(); err != nil {
				errc <- err
				return
			}
			if i%3 == 0 { // sometimes let the loop catch up, sometimes pile up
				for taken.Load() < i {
					runtime.Gosched()
				}
			}
		}
		errc <- nil
	}()
	var evs [4]Event
	for taken.Load() < rounds {
		watchdog := time.Now().Add(30 * time.Second)
		n, err := wait(evs[:], watchdog)
		if err != nil || n != 0 {
			t.Fatalf("wait = %d, %v", n, err)
		}
		if !time.Now().Before(watchdog) {
			t.Fatalf("a wake-up was lost after %d of %d", taken.Load(), rounds)
		}
		taken.Store(posted.Load())
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestWakeRacesClose runs Wakes from other goroutines while the owner
// closes the poller; run under -race it checks that Wake never touches a
// closed wake source.
func TestWakeRacesClose(t *testing.T) {
	checkLeaks(t)
	for range 20 {
		p, err := New()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if err := p.Wake(); err != nil && !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
				}
			})
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
}

func BenchmarkWakeWait(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var evs [64]Event
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Wake(); err != nil {
			b.Fatal(err)
		}
		if n, err := p.Wait(evs[:], -1); n != 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkWakePending measures the deduplicated path: a wake-up is already
// pending, so Wake is one failed CAS and one load, from many goroutines.
func BenchmarkWakePending(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	p.Wake()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Wake()
		}
	})
	if got := p.wakeWrites.Load(); got != 1 {
		b.Fatalf("wake source written %d times, want 1", got)
	}
}
