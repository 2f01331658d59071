package async

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ioloop/ioloop/internal/onloop"
)

// testLoop is an Executor that runs tasks one at a time on one goroutine, as
// an ioloop Loop does.
type testLoop struct {
	tasks chan Task
	gid   chan uint64
	id    uint64
	wg    sync.WaitGroup
}

func newTestLoop(tb testing.TB) *testLoop {
	l := &testLoop{tasks: make(chan Task, 4096), gid: make(chan uint64, 1)}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.gid <- goid()
		for t := range l.tasks {
			t.Run()
		}
	}()
	l.id = <-l.gid
	tb.Cleanup(func() { close(l.tasks); l.wg.Wait() })
	return l
}

func (l *testLoop) Execute(t Task) { l.tasks <- t }

func (l *testLoop) onLoop() bool { return goid() == l.id }

// goid returns the current goroutine's id, parsed from its stack header.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	b = b[:bytes.IndexByte(b, ' ')]
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

// checkGoroutines fails the test if, after the test, more goroutines run than
// before it (allowing a grace period for goroutines that are finishing).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// captureUnhandled installs a handler that sends every reported error on the
// returned channel, and restores the previous handler after the test.
func captureUnhandled(t *testing.T) <-chan error {
	ch := make(chan error, 1024)
	prev := SetUnhandledErrorHandler(func(err error) {
		select {
		case ch <- err:
		default:
		}
	})
	t.Cleanup(func() { SetUnhandledErrorHandler(prev) })
	return ch
}

// await awaits f with a generous bound so that a bug fails instead of hanging.
func await[T any](t *testing.T, f *Future[T]) (T, error) {
	t.Helper()
	select {
	case <-f.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("future did not settle")
	}
	v, err, ok := f.Result()
	if !ok {
		t.Fatalf("Result not ok after Done")
	}
	return v, err
}

// onLoopGoroutine runs fn on a new goroutine registered as an event loop's
// (onloop.Enter/Leave, as a Loop registers its goroutine) and waits for it,
// failing the test if fn has not returned within 10 seconds: a call that
// should fail at once with ErrOnLoop hangs there instead.
func onLoopGoroutine(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		id := onloop.Enter()
		defer onloop.Leave(id)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a blocking call on a loop goroutine did not return at once")
	}
}
