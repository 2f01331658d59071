package poller

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openFDs counts the open descriptors of the process, or -1 where the
// system does not list them.
func openFDs() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if ents, err := os.ReadDir(dir); err == nil {
			return len(ents) - 1 // the directory's own descriptor
		}
	}
	return -1
}

// runtimePoller starts the Go runtime's network poller once, before the
// first count: the runtime opens its descriptors on first use and keeps
// them, and the first test to park in it (Park) would otherwise see them
// as its leak. (This package may not import internal/leaktest, which does
// the same for the layers above: see deps_test.go.)
var runtimePoller sync.Once

func startRuntimePoller() {
	if r, w, err := os.Pipe(); err == nil { // pipes are registered with the poller
		r.Close()
		w.Close()
	}
}

// checkLeaks fails the test if it leaves descriptors or goroutines behind.
func checkLeaks(t *testing.T) {
	t.Helper()
	runtimePoller.Do(startRuntimePoller)
	fds := openFDs()
	gs := runtime.NumGoroutine()
	t.Cleanup(func() {
		if fds >= 0 {
			if now := openFDs(); now != fds {
				t.Errorf("descriptor leak: %d open before, %d after", fds, now)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > gs && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if now := runtime.NumGoroutine(); now > gs {
			t.Errorf("goroutine leak: %d before, %d after", gs, now)
		}
	})
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return p
}

func closeLater(t *testing.T, fds ...int) {
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
}

// socketPair returns a connected non-blocking stream socket pair.
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeLater(t, fds[0], fds[1])
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	return fds[0], fds[1]
}

// poll runs Wait once and returns the flags per tag, failing on duplicates
// only where kqueue may legally split one descriptor into two reports.
func poll(t *testing.T, p *Poller, timeout time.Duration) map[uint64]Flags {
	t.Helper()
	var evs [64]Event
	n, err := p.Wait(evs[:], timeout)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[uint64]Flags, n)
	for _, ev := range evs[:n] {
		got[ev.Tag] |= ev.Flags
	}
	return got
}

// settle consumes every pending report so that a test starts from a quiet
// poller.
func settle(t *testing.T, p *Poller) {
	t.Helper()
	for range 100 {
		if len(poll(t, p, 0)) == 0 {
			return
		}
	}
	t.Fatal("poller does not settle: a level-triggered report repeats")
}

// waitTag waits up to 10 s for a report for tag containing all of want and
// returns everything reported for tag meanwhile.
func waitTag(t *testing.T, p *Poller, tag uint64, want Flags) Flags {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var f Flags
	for f&want != want {
		if time.Now().After(deadline) {
			t.Fatalf("tag %#x: got %v, want %v", tag, f, want)
		}
		f |= poll(t, p, 100*time.Millisecond)[tag]
	}
	return f
}

func writeAll(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("write %q: n=%d err=%v", s, n, err)
	}
}

// readAll reads until EAGAIN or EOF and returns the bytes.
func readAll(t *testing.T, fd int) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 64)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			return string(out)
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func TestTimeoutMillis(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want int
	}{
		{in: -time.Second, want: -1},
		{in: -1, want: -1},
		{in: 0, want: 0},
		{in: 1, want: 1},
		{in: time.Millisecond - 1, want: 1},
		{in: time.Millisecond, want: 1},
		{in: time.Millisecond + 1, want: 2},
		{in: 1500 * time.Microsecond, want: 2},
		{in: time.Second, want: 1000},
		{in: (1<<31 - 2) * time.Millisecond, want: 1<<31 - 2},
		{in: (1<<31-2)*time.Millisecond + 1, want: 1<<31 - 1},
		{in: 1<<63 - 1, want: 1<<31 - 1},
	}
	for _, c := range cases {
		if got := timeoutMillis(c.in); got != c.want {
			t.Errorf("timeoutMillis(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	cases := []struct {
		in   Flags
		want string
	}{
		{in: 0, want: "0"},
		{in: Readable, want: "Readable"},
		{in: Readable | Writable | ReadHangUp | HangUp | Error, want: "Readable|Writable|ReadHangUp|HangUp|Error"},
		{in: Writable | 0x80, want: "Writable|0x80"},
	}
	for _, c := range cases {
		if got := c.in.String(); got != c.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint8(c.in), got, c.want)
		}
	}
}

func TestTimeoutNotEarly(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	var evs [4]Event
	for _, d := range []time.Duration{1500 * time.Microsecond, time.Microsecond, 3 * time.Millisecond} {
		begin := time.Now()
		n, err := p.Wait(evs[:], d)
		if elapsed := time.Since(begin); err != nil || n != 0 || elapsed < d {
			t.Fatalf("Wait(%v) = %d, %v after %v: returned early", d, n, err, elapsed)
		}
	}
	if n, err := p.Wait(evs[:], 0); err != nil || n != 0 {
		t.Fatalf("Wait(0) on an idle poller = %d, %v", n, err)
	}
}

// TestSmallEventsSlice checks that ready descriptors that do not fit in one
// Wait are reported by the next ones: nothing lost, nothing duplicated.
func TestSmallEventsSlice(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	const count = 5
	for i := range count {
		a, _ := socketPair(t)
		if err := p.Add(a, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var one [1]Event
	seen := map[uint64]int{}
	for range 3 * count {
		n, err := p.Wait(one[:], 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if n != 1 {
			t.Fatalf("Wait filled %d events into a slice of 1", n)
		}
		seen[one[0].Tag]++
	}
	for i := range uint64(count) {
		// kqueue may split a descriptor's read and write reports; epoll
		// reports each descriptor once.
		if seen[i] < 1 || seen[i] > 2 {
			t.Errorf("tag %d reported %d times", i, seen[i])
		}
	}
	if len(seen) != count {
		t.Errorf("tags seen %v, want 0..%d", seen, count-1)
	}
	if _, err := p.Wait(one[:0], 0); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Wait(empty) = %v, want ErrNoRoom", err)
	}
}

func TestClosed(t *testing.T) {
	checkLeaks(t)
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := socketPair(t)
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var evs [1]Event
	if _, err := p.Wait(evs[:], 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close = %v", err)
	}
	if err := p.Add(a, 2); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v", err)
	}
	if err := p.Del(a); !errors.Is(err, ErrClosed) {
		t.Errorf("Del after Close = %v", err)
	}
	for range 2 {
		if err := p.Wake(); !errors.Is(err, ErrClosed) {
			t.Errorf("Wake after Close = %v", err)
		}
	}
	if err := p.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

// BenchmarkWaitOneReady measures one loop turn with one ready descriptor:
// the peer's write that makes it ready, the Wait that reports it, and the
// read that drains it (three system calls).
func BenchmarkWaitOneReady(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	unix.SetNonblock(fds[0], true)
	if err := p.Add(fds[0], 1); err != nil {
		b.Fatal(err)
	}
	var evs [64]Event
	p.Wait(evs[:], 0)
	msg := []byte{'x'}
	rbuf := make([]byte, 8)
	b.ReportAllocs()
	for b.Loop() {
		unix.Write(fds[1], msg)
		n, err := p.Wait(evs[:], -1)
		if err != nil || n != 1 || evs[0].Flags&Readable == 0 {
			b.Fatalf("Wait = %d, %v, %v", n, err, evs[0])
		}
		unix.Read(fds[0], rbuf)
	}
}

func BenchmarkWaitIdle(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var evs [64]Event
	b.ReportAllocs()
	for b.Loop() {
		if n, err := p.Wait(evs[:], 0); n != 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}
