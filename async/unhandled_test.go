package async

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestPanickingContinuationReportedOthersRun(t *testing.T) {
	for _, onLoop := range []bool{true, false} {
		reports := captureUnhandled(t)
		var ex Executor // nil: each run on a new goroutine
		if onLoop {
			ex = newTestLoop(t)
		}
		p := NewPromise[int](ex)
		ran := make(chan int, 4)
		p.Future().OnComplete(func(int, error) { ran <- 1 })
		p.Future().OnComplete(func(int, error) { panic("kaboom") })
		p.Future().OnComplete(func(int, error) { ran <- 3 })
		p.Resolve(0)
		if a, b := <-ran, <-ran; a != 1 || b != 3 {
			t.Fatalf("loop %v: continuations ran %d, %d", onLoop, a, b)
		}
		err := <-reports
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "kaboom" || len(pe.Stack) == 0 {
			t.Fatalf("loop %v: reported %v, want *PanicError(kaboom) with stack", onLoop, err)
		}
		// The run that the panic cut short was rescheduled and ended:
		// a later continuation is scheduled and runs exactly once.
		p.Future().OnComplete(func(int, error) { ran <- 4 })
		if c := <-ran; c != 4 {
			t.Fatalf("loop %v: later continuation ran %d", onLoop, c)
		}
		select {
		case c := <-ran:
			t.Fatalf("loop %v: extra continuation run %d", onLoop, c)
		case err := <-reports:
			t.Fatalf("loop %v: extra report %v", onLoop, err)
		default:
		}
	}
}

// dropFailed creates futures rejected with err and drops them; observed ones
// are observed in one of the ways that count.
func dropFailed(err error, observe int) {
	p := NewPromise[int](nil)
	switch observe {
	case 1:
		p.Future().OnComplete(func(int, error) {})
	case 2:
		p.Reject(err)
		_, _ = p.Future().Await(nil)
		return
	case 3:
		_ = p.Future().Done()
	case 4:
		p.Reject(err)
		_, _, _ = p.Future().Result()
		return
	}
	p.Reject(err)
}

func TestUnhandledFailureReportedWhenCollected(t *testing.T) {
	reports := captureUnhandled(t)
	observed := errors.New("observed")
	unobserved := errors.New("unobserved")
	for i := 1; i <= 4; i++ {
		dropFailed(observed, i)
	}
	dropFailed(unobserved, 0)
	deadline := time.After(10 * time.Second)
	for found := false; !found; {
		runtime.GC()
		select {
		case err := <-reports:
			if err == observed {
				t.Fatal("an observed failure was reported")
			}
			found = err == unobserved
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("unobserved failure never reported")
		}
	}
	// The observed ones never will be: collect again and drain the cleanups.
	for range 3 {
		runtime.GC()
	}
	flush := errors.New("flush")
	dropFailed(flush, 0)
	for found := false; !found; {
		runtime.GC()
		select {
		case err := <-reports:
			if err == observed {
				t.Fatal("an observed failure was reported")
			}
			found = err == flush
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("sentinel failure never reported")
		}
	}
	// A successful future is never reported.
	_ = Resolved(1)
}
