package leaktest

import (
	"os"
	"testing"
)

// fakeT records failures instead of failing the real test.
type fakeT struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Cleanup(fn func())     { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Skip(...any)           { panic("skip") }
func (f *fakeT) runCleanups() {
	for _, fn := range f.cleanups {
		fn()
	}
}

func TestCheckSeesALeakedDescriptor(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	ft := &fakeT{TB: t}
	Check(ft)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ft.runCleanups(); close(done) }()
	<-done
	f.Close()
	if !ft.failed {
		t.Fatal("a descriptor left open was not reported")
	}

	ok := &fakeT{TB: t}
	Check(ok)
	g, _ := os.Open(os.DevNull)
	g.Close()
	ok.runCleanups()
	if ok.failed {
		t.Fatal("a test that closed everything was reported")
	}
}
