package async

import (
	"errors"
	"log"
	"sync/atomic"
)

// tracker remembers the error of a future rejected while unobserved; see the
// contract at the top of future.go.
type tracker struct {
	err      error
	observed atomic.Bool
}

func reportTracked(t *tracker) {
	if !t.observed.Load() {
		reportUnhandled(t.err)
	}
}

var unhandledHandler atomic.Pointer[func(error)]

// SetUnhandledErrorHandler installs h as the handler of failures nobody
// handled, and returns the previous handler (nil for the default). The
// handler receives:
//
//   - the error of a future that was rejected and then became unreachable
//     without ever being observed: no OnComplete (nor Then, Map, Catch,
//     Compose, All, ... on it), no Await, no Done, and no Result call that
//     returned the error. It is called from the runtime's cleanup goroutine
//     some time after a garbage collection finds the future unreachable
//     (runtime.AddCleanup); a future kept reachable is never reported.
//   - a *PanicError for each continuation registered with OnComplete that
//     panicked, on the goroutine that ran the continuation.
//
// h must not block. nil restores the default, which logs the error with the
// standard log package, followed by the stack when it is a *PanicError. Safe from any goroutine.
func SetUnhandledErrorHandler(h func(error)) func(error) {
	var prev *func(error)
	if h == nil {
		prev = unhandledHandler.Swap(nil)
	} else {
		prev = unhandledHandler.Swap(&h)
	}
	if prev == nil {
		return nil
	}
	return *prev
}

func reportUnhandled(err error) {
	if h := unhandledHandler.Load(); h != nil {
		(*h)(err)
		return
	}
	var pe *PanicError
	if errors.As(err, &pe) && len(pe.Stack) > 0 {
		log.Printf("async: unhandled failure: %v\n\n%s", err, pe.Stack)
		return
	}
	log.Printf("async: unhandled failure: %v", err)
}
