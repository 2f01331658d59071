package poller

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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

func TestSocketPairReadiness(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	const tag = 11
	if err := p.Add(a, tag); err != nil {
		t.Fatal(err)
	}
	// Registering a socket with room to write reports Writable at once.
	if f := waitTag(t, p, tag, Writable); f&(Readable|HangUp|Error) != 0 {
		t.Fatalf("fresh socket reported %v", f)
	}
	settle(t, p)
	writeAll(t, b, "ping")
	f := waitTag(t, p, tag, Readable)
	if f&(ReadHangUp|HangUp|Error) != 0 {
		t.Fatalf("data arrival reported %v", f)
	}
	if got := readAll(t, a); got != "ping" {
		t.Fatalf("read %q, want %q", got, "ping")
	}
}

func TestEdgeTriggered(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	const tag = 5
	if err := p.Add(a, tag); err != nil {
		t.Fatal(err)
	}
	settle(t, p)

	writeAll(t, b, "abc")
	waitTag(t, p, tag, Readable)
	// Not drained, but no new data: edge-triggered means no new report.
	if got := poll(t, p, 20*time.Millisecond); len(got) != 0 {
		t.Fatalf("undrained socket reported again without new data: %v", got)
	}
	// New data is a new edge, even though older data is still unread.
	writeAll(t, b, "de")
	waitTag(t, p, tag, Readable)
	if got := poll(t, p, 0); len(got) != 0 {
		t.Fatalf("one arrival reported twice: %v", got)
	}
	if got := readAll(t, a); got != "abcde" {
		t.Fatalf("read %q, want %q", got, "abcde")
	}
	// Reading is not an edge.
	if got := poll(t, p, 20*time.Millisecond); len(got) != 0 {
		t.Fatalf("drained socket reported: %v", got)
	}
}

func TestPipe(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := fds[0], fds[1]
	closeLater(t, r)
	wClosed := false
	t.Cleanup(func() {
		if !wClosed {
			unix.Close(w)
		}
	})
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	const rTag, wTag = 100, 200
	if err := p.Add(r, rTag); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(w, wTag); err != nil {
		t.Fatal(err)
	}
	if f := waitTag(t, p, wTag, Writable); f&Readable != 0 {
		t.Fatalf("write end reported %v", f)
	}
	settle(t, p)

	writeAll(t, w, "hi")
	if f := waitTag(t, p, rTag, Readable); f&(HangUp|ReadHangUp|Error) != 0 {
		t.Fatalf("read end reported %v", f)
	}
	if err := p.Del(w); err != nil {
		t.Fatal(err)
	}
	unix.Close(w)
	wClosed = true
	// The writer went away: the read end reports the hang-up (EPOLLHUP on
	// epoll, EV_EOF on kqueue) and still yields the buffered bytes, then EOF.
	f := waitTag(t, p, rTag, Readable)
	for f&(HangUp|ReadHangUp) == 0 {
		f |= waitTag(t, p, rTag, Readable)
	}
	if got := readAll(t, r); got != "hi" {
		t.Fatalf("read %q, want %q", got, "hi")
	}
	if n, err := unix.Read(r, make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("read after writer closed: n=%d err=%v, want EOF", n, err)
	}
}

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

func TestDelStopsEvents(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	if err := p.Del(a); err != nil {
		t.Fatal(err)
	}
	writeAll(t, b, "x")
	if got := poll(t, p, 20*time.Millisecond); len(got) != 0 {
		t.Fatalf("deregistered descriptor reported: %v", got)
	}
	// Registering again (as after fd reuse) works and carries the new tag.
	if err := p.Add(a, 2); err != nil {
		t.Fatal(err)
	}
	got := poll(t, p, time.Second)
	if got[2]&(Readable|Writable) != Readable|Writable || len(got) != 1 {
		t.Fatalf("re-registered descriptor: %v, want tag 2 Readable|Writable only", got)
	}
}

// TestCloseEndsRegistration: closing a registered descriptor without Del,
// as the loop does, ends its registration: the old tag is never reported
// again, and a new socket that gets the same descriptor number reports
// only its own tag.
func TestCloseEndsRegistration(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := fds[0]
	closeLater(t, fds[1])
	if err := p.Add(old, 1); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	unix.Close(old)
	a, b := socketPair(t) // a most likely reuses old's number
	if err := p.Add(a, 2); err != nil {
		t.Fatal(err)
	}
	writeAll(t, b, "x")
	var f Flags
	start := time.Now()
	for f&Readable == 0 || time.Since(start) < 50*time.Millisecond { // watch a while for tag 1
		if time.Since(start) > 10*time.Second {
			t.Fatalf("new socket: got %v, want Readable", f)
		}
		got := poll(t, p, 10*time.Millisecond)
		if got[1] != 0 || len(got) > 1 || len(got) == 1 && got[2] == 0 {
			t.Fatalf("want tag 2 only, got %v", got)
		}
		f |= got[2]
	}
	if f&(HangUp|ReadHangUp|Error) != 0 {
		t.Fatalf("new socket reported %v", f)
	}
	if a != old {
		t.Logf("descriptor %d not reused (got %d)", old, a)
	}
}

func TestReadHangUp(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, 3); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	writeAll(t, b, "bye")
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	f := waitTag(t, p, 3, Readable|ReadHangUp)
	if f&(HangUp|Error) != 0 {
		t.Fatalf("half-close reported %v; the write side is still open", f)
	}
	if got := readAll(t, a); got != "bye" {
		t.Fatalf("read %q, want %q", got, "bye")
	}
	// The half-closed side can still send.
	writeAll(t, a, "ok")
	if got := readAll(t, b); got != "ok" {
		t.Fatalf("peer read %q, want %q", got, "ok")
	}
}

// tcpPair returns a connected loopback TCP pair, both non-blocking. The
// server end is closed by the test's cleanup, the client end by the caller.
func tcpPair(t *testing.T) (client, server int) {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		t.Fatal(err)
	}
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(client, sa); err != nil {
		unix.Close(client)
		t.Fatal(err)
	}
	server, _, err = unix.Accept(ln)
	if err != nil {
		unix.Close(client)
		t.Fatal(err)
	}
	closeLater(t, server)
	for _, fd := range []int{client, server} {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(client)
			t.Fatal(err)
		}
	}
	return client, server
}

func TestPeerReset(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	client, server := tcpPair(t)
	const tag = 0x77
	if err := p.Add(server, tag); err != nil {
		t.Fatal(err)
	}
	settle(t, p)
	err := unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	if cerr := unix.Close(client); cerr != nil { // with linger 0: sends RST
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	f := waitTag(t, p, tag, Readable|Error)
	for f&(HangUp|ReadHangUp) == 0 {
		f |= waitTag(t, p, tag, Readable)
	}
	soErr, err := unix.GetsockoptInt(server, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		t.Fatal(err)
	}
	if unix.Errno(soErr) != unix.ECONNRESET {
		t.Fatalf("SO_ERROR = %v, want ECONNRESET", unix.Errno(soErr))
	}
}

func TestTagsRoundTrip(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	tags := []uint64{0xdeadbeef_00000007, 1 << 63, 0, 1 << 32, 0xffffffff, ReservedTag - 1}
	for _, tag := range tags {
		a, _ := socketPair(t)
		if err := p.Add(a, tag); err != nil {
			t.Fatal(err)
		}
	}
	got := poll(t, p, time.Second)
	for len(got) < len(tags) {
		more := poll(t, p, time.Second)
		if len(more) == 0 {
			break
		}
		for k, v := range more {
			got[k] |= v
		}
	}
	if len(got) != len(tags) {
		t.Fatalf("got %d distinct tags %v, want %d", len(got), got, len(tags))
	}
	for _, tag := range tags {
		if got[tag]&Writable == 0 {
			t.Errorf("tag %#x: flags %v, want Writable", tag, got[tag])
		}
	}
	a, _ := socketPair(t)
	if err := p.Add(a, ReservedTag); !errors.Is(err, ErrReservedTag) {
		t.Fatalf("Add(ReservedTag) = %v, want ErrReservedTag", err)
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

func TestAddErrors(t *testing.T) {
	checkLeaks(t)
	p := newPoller(t)
	if err := p.Add(-1, 1); err == nil {
		t.Error("Add(-1) succeeded")
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, closedFD := pair[0], pair[1]
	closeLater(t, a)
	unix.Close(closedFD)
	err = p.Add(closedFD, 1)
	var se *os.SyscallError
	if !errors.As(err, &se) || !errors.Is(err, unix.EBADF) {
		t.Errorf("Add(closed fd) = %v, want a SyscallError wrapping EBADF", err)
	}
	if err := p.Add(a, 1); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(a, 1); err == nil {
		t.Error("second Add of the same descriptor succeeded")
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

func BenchmarkAddDel(b *testing.B) {
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
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Add(fds[0], 9); err != nil {
			b.Fatal(err)
		}
		if err := p.Del(fds[0]); err != nil {
			b.Fatal(err)
		}
	}
}
