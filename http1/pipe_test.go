package http1

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeSource plays the loop for a pipe: it pushes chunks, stops while
// paused, and goes on when the resume the pipe asked for arrives.
type fakeSource struct {
	p       pipe
	resumes chan struct{}
	asked   int // resumes asked for (the reader's goroutine)
	mu      sync.Mutex
}

func newFakeSource(high, low int) *fakeSource {
	s := &fakeSource{resumes: make(chan struct{}, 16)}
	s.p.init(high, low, s, errClosedForTest)
	return s
}

var errClosedForTest = errors.New("http1: test pipe closed")

func (s *fakeSource) resume() {
	s.mu.Lock()
	s.asked++
	s.mu.Unlock()
	s.resumes <- struct{}{}
}

// unread returns the bytes pushed and not read.
func (s *fakeSource) unread() int {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return len(s.p.buf) - s.p.r
}

// Bytes come out whole and in order, whatever the sizes of the pushes and
// reads, while the source is paused above high and resumed at low: 4 MiB
// through a 64 KiB pipe, the reader slower than the source, each resume
// answered once, the unread bytes never more than high plus one push.
func TestPipeOrderAndFlowControl(t *testing.T) {
	const high, low, total, maxChunk = 64 << 10, 16 << 10, 4 << 20, 9000
	s := newFakeSource(high, low)
	want := make([]byte, total)
	for i := range want {
		want[i] = byte(rand.Uint32())
	}
	var maxUnread, pauses int
	go func() { // the loop
		rng := rand.New(rand.NewPCG(1, 2))
		for off := 0; off < total; {
			n := min(1+rng.IntN(maxChunk), total-off)
			pause := s.p.push(want[off : off+n])
			off += n
			if u := s.unread(); u > maxUnread {
				maxUnread = u
			}
			if pause {
				pauses++
				<-s.resumes
				s.p.resumed()
			}
		}
		s.p.end(nil)
	}()
	var got bytes.Buffer
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 20000)
	for {
		n, err := s.p.Read(b[:1+rng.IntN(len(b))])
		got.Write(b[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d pushed in order", got.Len(), total)
	}
	if maxUnread >= high+maxChunk {
		t.Fatalf("%d bytes unread at most, want < high+chunk = %d", maxUnread, high+maxChunk)
	}
	if pauses == 0 || s.asked != pauses {
		t.Fatalf("%d pauses, %d resumes asked: want as many, and some", pauses, s.asked)
	}
}

// The source is paused exactly when a push reaches high, and a resume is
// asked exactly when a Read brings the unread bytes down to low; reads
// above low ask nothing, and a second pause waits for the loop to record
// the first resume.
func TestPipeWaterMarks(t *testing.T) {
	s := newFakeSource(100, 40)
	if s.p.push(make([]byte, 99)) {
		t.Fatal("paused below high")
	}
	if !s.p.push(make([]byte, 1)) {
		t.Fatal("not paused at high")
	}
	if s.p.push(make([]byte, 10)) {
		t.Fatal("paused twice")
	}
	b := make([]byte, 50)
	if n, _ := s.p.Read(b); n != 50 || s.asked != 0 {
		t.Fatalf("read %d, %d resumes asked with 60 unread (low 40)", n, s.asked)
	}
	if n, _ := s.p.Read(b[:20]); n != 20 || s.asked != 1 {
		t.Fatalf("read %d, %d resumes asked at 40 unread, want 1", n, s.asked)
	}
	if n, _ := s.p.Read(b[:10]); n != 10 || s.asked != 1 {
		t.Fatalf("read %d, %d resumes asked while one is on its way, want 1", n, s.asked)
	}
	s.p.resumed()
	if s.p.push(make([]byte, 50)) {
		t.Fatal("paused below high after the resume")
	}
	if !s.p.push(make([]byte, 50)) {
		t.Fatal("not paused again at high after the resume")
	}
}

// end's error comes after the unread bytes; the first end counts; a
// blocked Read wakes for it.
func TestPipeEndAfterData(t *testing.T) {
	s := newFakeSource(1<<20, 1<<10)
	s.p.push([]byte("abc"))
	boom := errors.New("http1: boom")
	s.p.end(boom)
	s.p.end(io.EOF)
	s.p.push([]byte("late")) // after the end: dropped
	got, err := io.ReadAll(&s.p)
	if string(got) != "abc" || err != boom {
		t.Fatalf("got %q, %v; want \"abc\", boom", got, err)
	}
	s2 := newFakeSource(1<<20, 1<<10)
	done := make(chan error, 1)
	go func() {
		_, err := s2.p.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	s2.p.end(nil)
	if err := <-done; err != io.EOF {
		t.Fatalf("blocked Read got %v, want io.EOF", err)
	}
}

// close wakes a blocked Read, drops what is unread and what comes later,
// makes Read return the pipe's closed error, reports whether the body had
// ended, and asks for a resume if the source was paused.
func TestPipeClose(t *testing.T) {
	s := newFakeSource(10, 5)
	done := make(chan error, 1)
	go func() {
		_, err := s.p.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if ended, resume := s.p.close(); ended || resume {
		t.Fatalf("close: ended %v, resume %v; want false, false", ended, resume)
	}
	if err := <-done; err != errClosedForTest {
		t.Fatalf("blocked Read got %v, want the closed error", err)
	}
	if s.p.push(make([]byte, 100)) || s.unread() != 0 {
		t.Fatal("a push after close was kept or paused the source")
	}

	s = newFakeSource(10, 5)
	if !s.p.push(make([]byte, 10)) {
		t.Fatal("not paused at high")
	}
	if ended, resume := s.p.close(); ended || !resume {
		t.Fatalf("close of a paused pipe: ended %v, resume %v; want false, true", ended, resume)
	}
	if n, err := s.p.Read(make([]byte, 8)); n != 0 || err != errClosedForTest {
		t.Fatalf("Read after close: %d, %v", n, err)
	}

	s = newFakeSource(10, 5)
	s.p.end(nil)
	if ended, _ := s.p.close(); !ended {
		t.Fatal("close after end: ended false")
	}
}

// A pipe in the steady state costs no allocation per push and read.
func TestPipeNoAlloc(t *testing.T) {
	s := newFakeSource(1<<20, 1<<10)
	chunk, b := make([]byte, 4096), make([]byte, 4096)
	s.p.push(chunk)
	s.p.Read(b)
	if n := testing.AllocsPerRun(100, func() {
		s.p.push(chunk)
		s.p.push(chunk)
		s.p.Read(b)
		s.p.Read(b)
	}); n != 0 {
		t.Fatalf("%v allocations per push and read, want 0", n)
	}
}

// A Read waiting on an empty pipe gets the pushed bytes straight into its
// slice; what does not fit waits in the buffer, in order.
func TestPipeHandsToWaitingRead(t *testing.T) {
	s := newFakeSource(1<<20, 1<<10)
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 4)
		n, _ := s.p.Read(b)
		got <- string(b[:n])
	}()
	for { // wait until the Read lent its slice
		s.p.mu.Lock()
		waiting := s.p.lent != nil
		s.p.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.p.push([]byte("abcdefgh"))
	if g := <-got; g != "abcd" {
		t.Fatalf("waiting Read got %q, want \"abcd\"", g)
	}
	if u := s.unread(); u != 4 {
		t.Fatalf("%d bytes buffered, want the 4 that did not fit", u)
	}
	s.p.push([]byte("ij"))
	s.p.end(nil)
	rest, err := io.ReadAll(&s.p)
	if string(rest) != "efghij" || err != nil {
		t.Fatalf("then read %q, %v; want \"efghij\"", rest, err)
	}
}
