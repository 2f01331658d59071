package buffer

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

type doneRec struct {
	id  int
	err error
}

// runOutputModel drives an Output and a reference model (a []byte of queued
// bytes plus the stream offsets at which WriteRef buffers end) with the same
// operations, checking bytes, iovecs and done callbacks after each.
func runOutputModel(t testing.TB, p *Pool, src source) {
	var o Output
	var ref []byte
	var ctr byte
	type pend struct{ id, end int }
	var pending []pend
	var got, want []doneRec
	written, total, ids := 0, 0, 0
	errBoom := errors.New("boom")
	size := func() int {
		n := src.next(300)
		if src.next(8) == 0 {
			n = src.next(150_000)
		}
		return n
	}
	iov := make([][]byte, 0, 8)
	for op := 0; !src.done(); op++ {
		switch src.next(10) {
		case 0, 1, 2:
			d := pattern(&ctr, size())
			o.Write(p, d)
			ref = append(ref, d...)
			total += len(d)
		case 3, 4:
			d := pattern(&ctr, size())
			id := ids
			ids++
			var done func(error)
			if src.next(8) != 0 {
				done = func(err error) { got = append(got, doneRec{id: id, err: err}) }
				pending = append(pending, pend{id: id, end: total + len(d)})
			}
			o.WriteRef(d, done)
			ref = append(ref, d...)
			total += len(d)
		case 5:
			limit := src.next(6)
			iov = o.Iovecs(iov[:0], limit)
			var cat []byte
			for _, v := range iov {
				if len(v) == 0 {
					t.Fatalf("op %d: Iovecs returned an empty slice", op)
				}
				cat = append(cat, v...)
			}
			if limit > 0 && len(iov) > limit {
				t.Fatalf("op %d: %d iovecs over the limit %d", op, len(iov), limit)
			}
			if !bytes.HasPrefix(ref, cat) || ((limit == 0 || len(iov) < limit) && len(cat) != len(ref)) {
				t.Fatalf("op %d: iovecs cover %d bytes that are not the queue's %d", op, len(cat), len(ref))
			}
		case 6, 7:
			k := 0
			if len(ref) > 0 {
				k = src.next(len(ref) + 1)
			}
			o.Advance(p, k)
			ref = ref[k:]
			written += k
		case 8:
			if src.next(6) != 0 {
				continue
			}
			var err error
			if src.next(2) == 0 {
				err = errBoom
			}
			o.Reset(p, err)
			written += len(ref)
			ref = ref[:0]
			if err == nil {
				err = ErrReset
			}
			for _, q := range pending {
				want = append(want, doneRec{id: q.id, err: err})
			}
			pending = pending[:0]
		case 9:
			d := pattern(&ctr, size())
			o.Prepend(p, d)
			ref = append(slices.Clip(d), ref...)
			total += len(d)
			for i := range pending {
				pending[i].end += len(d) // their bytes now go out after d
			}
		}
		for len(pending) > 0 && pending[0].end <= written {
			want = append(want, doneRec{id: pending[0].id})
			pending = pending[1:]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("op %d: done callbacks %v, want %v", op, got, want)
		}
		if o.Len() != len(ref) {
			t.Fatalf("op %d: Len = %d, reference %d", op, o.Len(), len(ref))
		}
		if len(ref) == 0 && o.Segments() != 0 {
			t.Fatalf("op %d: empty Output keeps %d segments", op, o.Segments())
		}
	}
	iov = o.Iovecs(iov[:0], 0)
	if cat := bytes.Join(iov, nil); !bytes.Equal(cat, ref) {
		t.Fatal("final iovecs differ from the reference")
	}
}

func TestOutputAgainstReference(t *testing.T) {
	for seed := range uint64(4) {
		runOutputModel(t, NewPool(0), &rngSource{r: rand.New(rand.NewPCG(seed, 7)), left: 10_000})
	}
	runOutputModel(t, nil, &rngSource{r: rand.New(rand.NewPCG(9, 9)), left: 3_000})
}

func TestOutputMixedWriteAndWriteRefOrder(t *testing.T) {
	p := NewPool(0)
	var o Output
	big := []byte("0123456789")
	var log []string
	o.Write(p, []byte("ab"))
	o.WriteRef(big, func(err error) { log = append(log, "big") })
	o.Write(p, []byte("cd"))
	o.Write(p, []byte("ef"))
	o.WriteRef(nil, func(err error) { log = append(log, "empty") })
	o.WriteRef([]byte("XY"), nil)
	o.Write(p, []byte("g"))
	iov := o.Iovecs(nil, 0)
	want := []string{"ab", "0123456789", "cdef", "XY", "g"}
	if len(iov) != len(want) {
		t.Fatalf("got %d iovecs %q, want %q", len(iov), iov, want)
	}
	for i := range want {
		if string(iov[i]) != want[i] {
			t.Fatalf("iovec %d = %q, want %q", i, iov[i], want[i])
		}
	}
	if &iov[1][0] != &big[0] {
		t.Fatal("WriteRef bytes were copied")
	}
	if lim := o.Iovecs(nil, 2); len(lim) != 2 || string(lim[1]) != "0123456789" {
		t.Fatalf("Iovecs(max 2) = %q", lim)
	}
	o.Advance(p, 5) // "ab" + "012"
	if len(log) != 0 {
		t.Fatalf("done ran early: %v", log)
	}
	if iov = o.Iovecs(iov[:0], 1); string(iov[0]) != "3456789" {
		t.Fatalf("after partial advance: %q", iov[0])
	}
	o.Advance(p, 7) // rest of big
	if !slices.Equal(log, []string{"big"}) {
		t.Fatalf("log = %v", log)
	}
	o.Advance(p, 4) // "cdef": the empty ref after it completes too
	if !slices.Equal(log, []string{"big", "empty"}) {
		t.Fatalf("log = %v", log)
	}
	o.Advance(p, 3)
	if o.Len() != 0 || o.Segments() != 0 {
		t.Fatalf("Len %d Segments %d after writing everything", o.Len(), o.Segments())
	}
}

func TestOutputEmptyWriteRefOnEmptyQueueCompletesAtOnce(t *testing.T) {
	var o Output
	ran := 0
	o.WriteRef(nil, func(err error) {
		if err != nil {
			t.Errorf("err = %v", err)
		}
		ran++
	})
	if ran != 1 || o.Segments() != 0 {
		t.Fatalf("ran %d, segments %d", ran, o.Segments())
	}
	o.WriteRef(nil, nil) // no callback: nothing queued
	if o.Segments() != 0 {
		t.Fatal("nil-done empty WriteRef was queued")
	}
}

func TestOutputResetCallsDoneWithError(t *testing.T) {
	p := NewPool(0)
	var o Output
	var got []doneRec
	rec := func(id int) func(error) { return func(err error) { got = append(got, doneRec{id: id, err: err}) } }
	errClosed := errors.New("conn closed")
	o.WriteRef([]byte("aaaa"), rec(1))
	o.Write(p, []byte("bb"))
	o.WriteRef([]byte("cc"), rec(2))
	o.Advance(p, 4)
	o.Reset(p, errClosed)
	want := []doneRec{{id: 1}, {id: 2, err: errClosed}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if o.Len() != 0 || o.Segments() != 0 || p.Pooled() != 4096 {
		t.Fatalf("after Reset: Len %d Segments %d pooled %d", o.Len(), o.Segments(), p.Pooled())
	}
	got = nil
	o.WriteRef([]byte("x"), rec(3))
	o.Reset(p, nil)
	if len(got) != 1 || !errors.Is(got[0].err, ErrReset) {
		t.Fatalf("Reset(nil) gave %v, want ErrReset", got)
	}
	o.Reset(p, errClosed) // nothing pending: no callback
	if len(got) != 1 {
		t.Fatal("Reset of an empty Output ran a callback")
	}
}

func TestOutputChunksReturnToPool(t *testing.T) {
	p := NewPool(0)
	var o Output
	for i := range 1000 {
		o.Write(p, bytes.Repeat([]byte{byte(i)}, 64))
	}
	if o.Segments() > 4 {
		t.Fatalf("1000 writes of 64 B used %d chunks; chunks should grow", o.Segments())
	}
	held := 0
	for _, v := range o.Iovecs(nil, 0) {
		held += cap(v)
	}
	for o.Len() > 0 {
		o.Advance(p, min(o.Len(), 1500)) // short writes
	}
	if p.Pooled() != held {
		t.Fatalf("pooled %d bytes, the queue held %d", p.Pooled(), held)
	}
}

func TestOutputChunkSizes(t *testing.T) {
	p := NewPool(0)
	var o Output
	o.Write(p, []byte("x"))
	if v := o.Iovecs(nil, 0); cap(v[0]) != minChunk {
		t.Fatalf("first chunk %d bytes, want %d", cap(v[0]), minChunk)
	}
	o.Reset(p, nil)
	o.Write(p, make([]byte, 200_000))
	for i, v := range o.Iovecs(nil, 0) {
		if cap(v) > maxChunk || classOf(cap(v)) < 0 {
			t.Fatalf("chunk %d has capacity %d", i, cap(v))
		}
	}
}

func TestOutputDoneMayUseTheOutput(t *testing.T) {
	p := NewPool(0)
	var o Output
	var log []string
	o.WriteRef([]byte("one"), func(error) {
		log = append(log, "one")
		o.Write(p, []byte("three")) // queued behind "two"
	})
	o.WriteRef([]byte("two"), func(error) { log = append(log, "two") })
	o.Advance(p, 3)
	if got := string(bytes.Join(o.Iovecs(nil, 0), nil)); got != "twothree" {
		t.Fatalf("queue = %q", got)
	}
	o.WriteRef([]byte("four"), func(err error) {
		log = append(log, "four")
		o.Reset(p, errors.New("x")) // from inside Advance: drops "five"
	})
	o.Write(p, []byte("five"))
	o.Advance(p, 3)
	if !slices.Equal(log, []string{"one", "two"}) {
		t.Fatalf("log = %v", log)
	}
	o.Advance(p, 5+4)
	if !slices.Equal(log, []string{"one", "two", "four"}) || o.Len() != 0 || o.Segments() != 0 {
		t.Fatalf("log = %v Len %d", log, o.Len())
	}
}

func TestOutputPanickingDoneLeavesQueueConsistent(t *testing.T) {
	p := NewPool(0)
	var o Output
	var log []string
	o.WriteRef([]byte("aa"), func(error) { log = append(log, "a"); panic("user bug") })
	o.WriteRef([]byte("bb"), func(error) { log = append(log, "b") })
	o.Write(p, []byte("cc"))
	func() {
		defer func() { _ = recover() }()
		o.Advance(p, 5)
	}()
	if o.Len() != 1 {
		t.Fatalf("Len = %d after a panicking callback, want 1", o.Len())
	}
	if got := bytes.Join(o.Iovecs(nil, 0), nil); string(got) != "c" {
		t.Fatalf("queue = %q", got)
	}
	o.Advance(p, 0) // runs the completed callback left behind
	if !slices.Equal(log, []string{"a", "b"}) {
		t.Fatalf("log = %v", log)
	}
}

func TestOutputPrependGoesFirst(t *testing.T) {
	p := NewPool(0)
	var o Output
	o.Prepend(p, []byte("solo")) // an empty queue: a plain Write
	o.Advance(p, 4)
	var log []string
	o.Write(p, []byte("cd"))
	o.WriteRef([]byte("ef"), func(err error) { log = append(log, fmt.Sprint("ef ", err)) })
	big := bytes.Repeat([]byte("x"), 150_000) // more than one chunk
	big[0], big[len(big)-1] = 'B', 'E'
	o.Prepend(p, []byte("ab"))
	o.Prepend(p, big)
	want := append(append([]byte{}, big...), "abcdef"...)
	if got := bytes.Join(o.Iovecs(nil, 0), nil); !bytes.Equal(got, want) || o.Len() != len(want) {
		t.Fatalf("queue is %d bytes starting %q, want %d starting %q", len(got), got[:min(8, len(got))], len(want), want[:8])
	}
	o.Advance(p, len(want)-1)
	if len(log) != 0 {
		t.Fatalf("WriteRef completed early: %v", log)
	}
	o.Advance(p, 1)
	if !slices.Equal(log, []string{"ef <nil>"}) || o.Len() != 0 || o.Segments() != 0 {
		t.Fatalf("log %v, Len %d, Segments %d", log, o.Len(), o.Segments())
	}
}

func TestOutputAdvanceOutOfRangePanics(t *testing.T) {
	for _, n := range []int{-1, 3} {
		func() {
			defer func() {
				if r := recover(); r != "buffer: Output.Advance out of range" {
					t.Fatalf("Advance(%d): recover() = %v", n, r)
				}
			}()
			var o Output
			o.Write(nil, []byte("ab"))
			o.Advance(nil, n)
		}()
	}
}

func TestOutputRingShrinksWhenEmpty(t *testing.T) {
	var o Output
	for range 100 {
		o.WriteRef([]byte("x"), nil)
	}
	if len(o.segs) < 100 {
		t.Fatalf("ring has %d slots for 100 segments", len(o.segs))
	}
	o.Advance(nil, 100)
	if o.segs != nil {
		t.Fatalf("an idle Output keeps a %d-slot ring", len(o.segs))
	}
}

func TestOutputSteadyStateAllocatesNothing(t *testing.T) {
	p := NewPool(0)
	var o Output
	msg := make([]byte, 64)
	big := make([]byte, 32<<10)
	iov := make([][]byte, 0, 16)
	done := func(error) {}
	step := func() {
		for range 10 {
			o.Write(p, msg)
		}
		o.WriteRef(big, done)
		o.Write(p, msg)
		iov = o.Iovecs(iov[:0], 16)
		o.Advance(p, 100)
		o.Advance(p, o.Len())
	}
	step()
	if a := testing.AllocsPerRun(100, step); a != 0 {
		t.Fatalf("steady state allocated %.1f times per run", a)
	}
}

func FuzzOutput(f *testing.F) {
	f.Add([]byte{0, 10, 3, 200, 1, 5, 0, 6, 3, 8, 0, 1})
	f.Add([]byte{3, 0, 0, 1, 0, 20, 4, 50, 5, 3, 7, 2, 8, 0, 0})
	f.Add([]byte{1, 255, 7, 0, 3, 9, 9, 3, 5, 2, 6, 100, 5, 0})
	f.Add([]byte{0, 40, 3, 30, 1, 9, 20, 9, 7, 1, 5, 0, 6, 9, 9, 100, 5, 0, 6, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		runOutputModel(t, NewPool(1<<20), &byteSource{data: data})
	})
}
