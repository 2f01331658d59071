package async

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPanicErrorMessageAndUnwrap(t *testing.T) {
	pe := &PanicError{Value: "kaboom", Stack: []byte("goroutine 1 [running]:\nmain.main()")}
	if got, want := pe.Error(), "async: panic: kaboom"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if strings.Contains(pe.Error(), "goroutine") {
		t.Fatalf("Error() carries the stack: %q", pe.Error())
	}
	if pe.Unwrap() != nil {
		t.Fatalf("Unwrap of a non-error value = %v, want nil", pe.Unwrap())
	}
	var err error = &PanicError{Value: io.EOF}
	if !errors.Is(err, io.EOF) {
		t.Fatal("errors.Is does not see the panicked error through PanicError")
	}
	if got, want := err.Error(), "async: panic: EOF"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestPanicStackReachesHandler(t *testing.T) {
	errs := captureUnhandled(t)
	p := NewPromise[int](nil)
	p.Future().OnComplete(func(int, error) { panic("in continuation") })
	p.Resolve(1)
	var err error
	select {
	case err = <-errs:
	case <-time.After(10 * time.Second):
		t.Fatal("the panic was not reported")
	}
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "in continuation" {
		t.Fatalf("reported %v, want *PanicError(in continuation)", err)
	}
	if !strings.Contains(string(pe.Stack), "TestPanicStackReachesHandler") {
		t.Fatalf("Stack does not name the panicking function:\n%s", pe.Stack)
	}
	if strings.Contains(pe.Error(), "goroutine") {
		t.Fatalf("Error() carries the stack: %q", pe.Error())
	}
}
