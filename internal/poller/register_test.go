package poller

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
