package buffer

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// source yields small integers for the model drivers: from a PRNG in
// property tests, from the fuzz input in fuzzers.
type source interface {
	// next returns a value in [0, n) for n > 0.
	next(n int) int
	// done reports that the source is exhausted (fuzz input used up).
	done() bool
}

type rngSource struct {
	r    *rand.Rand
	left int
}

func (s *rngSource) next(n int) int { s.left--; return s.r.IntN(n) }
func (s *rngSource) done() bool     { return s.left <= 0 }

type byteSource struct {
	data []byte
	pos  int
}

func (s *byteSource) next(n int) int {
	if s.pos >= len(s.data) {
		return 0
	}
	v := int(s.data[s.pos])
	s.pos++
	if s.pos < len(s.data) && n > 256 {
		v = v<<8 | int(s.data[s.pos])
		s.pos++
	}
	return v % n
}
func (s *byteSource) done() bool { return s.pos >= len(s.data) }

// pattern fills n bytes continuing a counter, so that misplaced bytes show.
func pattern(ctr *byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		*ctr++
		b[i] = *ctr
	}
	return b
}

// runInputModel drives an Input and a plain []byte with the same operations.
func runInputModel(t testing.TB, p *Pool, src source) {
	var in Input
	var ref []byte
	var ctr byte
	for op := 0; !src.done(); op++ {
		switch src.next(6) {
		case 0, 1, 2: // append, sometimes large
			n := src.next(300)
			if src.next(8) == 0 {
				n = src.next(70_000)
			}
			d := pattern(&ctr, n)
			in.Append(p, d)
			ref = append(ref, d...)
		case 3, 4: // discard a part or everything
			n := 0
			if len(ref) > 0 {
				n = src.next(len(ref) + 1)
			}
			in.Discard(p, n)
			ref = ref[n:]
		case 5:
			if src.next(4) == 0 {
				in.Release(p)
				ref = ref[:0]
			}
		}
		if in.Len() != len(ref) || !bytes.Equal(in.Bytes(), ref) {
			t.Fatalf("op %d: Input holds %d bytes, reference %d, or the bytes differ", op, in.Len(), len(ref))
		}
		if len(ref) == 0 && in.Cap() != 0 {
			t.Fatalf("op %d: empty Input still holds a %d-byte chunk", op, in.Cap())
		}
		if in.Cap() > 0 && in.Cap() <= MaxClass && classOf(in.Cap()) < 0 {
			t.Fatalf("op %d: chunk capacity %d is not a class", op, in.Cap())
		}
	}
}

func TestInputAgainstReference(t *testing.T) {
	for seed := range uint64(4) {
		src := &rngSource{r: rand.New(rand.NewPCG(seed, 99)), left: 20_000}
		runInputModel(t, NewPool(0), src)
	}
	// Without pooling too.
	runInputModel(t, nil, &rngSource{r: rand.New(rand.NewPCG(5, 5)), left: 5_000})
}

func TestInputZeroAndIdle(t *testing.T) {
	p := NewPool(0)
	var in Input
	if in.Len() != 0 || in.Bytes() != nil || in.Cap() != 0 {
		t.Fatal("zero Input not empty")
	}
	in.Append(p, nil)
	if in.Cap() != 0 {
		t.Fatal("empty Append took a chunk")
	}
	in.Append(p, []byte("GET / HTTP/1.1\r\n"))
	if in.Cap() != 256 || p.Pooled() != 0 {
		t.Fatalf("Cap = %d, want one 256 B chunk", in.Cap())
	}
	in.Discard(p, 4)
	if string(in.Bytes()) != "/ HTTP/1.1\r\n" {
		t.Fatalf("Bytes = %q", in.Bytes())
	}
	in.Discard(p, in.Len())
	if in.Cap() != 0 || p.Pooled() != 256 {
		t.Fatalf("consumed Input kept its chunk (Cap %d, pooled %d)", in.Cap(), p.Pooled())
	}
}

func TestInputCompactsBeforeGrowing(t *testing.T) {
	p := NewPool(0)
	var in Input
	in.Append(p, bytes.Repeat([]byte{'a'}, 200))
	first := base(in.Bytes())
	in.Discard(p, 150)
	in.Append(p, bytes.Repeat([]byte{'b'}, 100)) // 50 + 100 fits in 256 after compaction
	if in.Cap() != 256 || base(in.Bytes()) != first {
		t.Fatalf("Append moved to a new chunk (cap %d) although compaction made room", in.Cap())
	}
	want := append(bytes.Repeat([]byte{'a'}, 50), bytes.Repeat([]byte{'b'}, 100)...)
	if !bytes.Equal(in.Bytes(), want) {
		t.Fatal("compaction changed the bytes")
	}
	in.Append(p, bytes.Repeat([]byte{'c'}, 200)) // 350: grows to 1 KiB
	if in.Cap() != 1024 || p.Pooled() != 256 {
		t.Fatalf("grow: cap %d pooled %d, want 1024 and the old 256 B chunk pooled", in.Cap(), p.Pooled())
	}
	in.Release(p)
	if in.Len() != 0 || in.Cap() != 0 || p.Pooled() != 1280 {
		t.Fatalf("Release left len %d cap %d pooled %d", in.Len(), in.Cap(), p.Pooled())
	}
}

func TestInputGrowsGeometricallyPastLargestClass(t *testing.T) {
	var in Input
	chunk := make([]byte, 64<<10)
	moves := 0
	last := 0
	for range 64 { // 4 MiB in 64 KiB appends
		in.Append(nil, chunk)
		if in.Cap() != last {
			moves++
			last = in.Cap()
		}
	}
	if in.Len() != 4<<20 {
		t.Fatalf("Len = %d", in.Len())
	}
	if moves > 8 {
		t.Fatalf("buffer moved %d times for 64 appends; growth is not geometric", moves)
	}
}

func TestInputDiscardOutOfRangePanics(t *testing.T) {
	for _, n := range []int{-1, 4} {
		func() {
			defer func() {
				if r := recover(); r != "buffer: Input.Discard out of range" {
					t.Fatalf("Discard(%d): recover() = %v", n, r)
				}
			}()
			var in Input
			in.Append(nil, []byte("abc"))
			in.Discard(nil, n)
		}()
	}
}

func TestInputSteadyStateAllocatesNothing(t *testing.T) {
	p := NewPool(0)
	var in Input
	data := make([]byte, 700)
	in.Append(p, data)
	in.Append(p, data)
	in.Release(p)
	a := testing.AllocsPerRun(100, func() {
		in.Append(p, data)
		in.Discard(p, 300)
		in.Append(p, data) // grows from 1 KiB to 4 KiB through the pool
		in.Discard(p, in.Len())
	})
	if a != 0 {
		t.Fatalf("append/discard allocated %.1f times", a)
	}
}

func FuzzInput(f *testing.F) {
	f.Add([]byte{0, 10, 0, 3, 5, 1, 0, 200, 3, 2, 5, 0})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 4, 7, 0, 0, 1, 0, 1, 3, 0})
	f.Add([]byte{2, 100, 7, 255, 255, 3, 1, 5, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		runInputModel(t, NewPool(1<<20), &byteSource{data: data})
	})
}
