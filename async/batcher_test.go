package async

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a flush function that keeps copies of its batches.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	fail    func([]int) error
}

func (r *recorder) flush(b []int) error {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(b))
	r.mu.Unlock()
	if r.fail != nil {
		return r.fail(b)
	}
	return nil
}

func (r *recorder) get() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func TestBatcherCountTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b := NewBatcher(r.flush, BatcherOptions[int]{MaxItems: 3, Linger: -1})
		ctx := context.Background()
		var fs []*Future[struct{}]
		for i := range 7 {
			fs = append(fs, b.Add(ctx, i))
		}
		if _, err := fs[5].Await(nil); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := r.get(); len(got) != 2 || !slices.Equal(got[0], []int{0, 1, 2}) || !slices.Equal(got[1], []int{3, 4, 5}) {
			t.Fatalf("batches %v", got)
		}
		if fs[0] != fs[2] || fs[2] == fs[3] {
			t.Fatal("items of one batch must share its future, and only they")
		}
		if _, _, ok := fs[6].Result(); ok {
			t.Fatal("open batch flushed without trigger")
		}
		if _, err := b.Close().Await(nil); err != nil {
			t.Fatal(err)
		}
		if _, err, ok := fs[6].Result(); !ok || err != nil {
			t.Fatal("Close did not flush the open batch")
		}
		if got := r.get(); len(got) != 3 || !slices.Equal(got[2], []int{6}) {
			t.Fatalf("batches %v", got)
		}
	})
}

func TestBatcherBytesTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b := NewBatcher(r.flush, BatcherOptions[int]{MaxBytes: 10, Linger: -1, Size: func(v int) int { return v }})
		ctx := context.Background()
		for _, v := range []int{4, 4, 3, 10, 2, 8, 25, 1} {
			b.Add(ctx, v)
		}
		b.Close().Await(nil)
		want := [][]int{{4, 4}, {3}, {10}, {2, 8}, {25}, {1}}
		got := r.get()
		if len(got) != len(want) {
			t.Fatalf("batches %v, want %v", got, want)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("batches %v, want %v", got, want)
			}
		}
	})
}

func TestBatcherLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		b := NewBatcher(r.flush, BatcherOptions[int]{})
		defer b.Close()
		start := time.Now()
		f := b.Add(context.Background(), 1)
		time.Sleep(2 * time.Millisecond)
		b.Add(context.Background(), 2)
		if _, err := f.Await(nil); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != DefaultBatchLinger {
			t.Fatalf("flushed after %v, want the linger %v from the first item", d, DefaultBatchLinger)
		}
		// A new batch gets its own linger.
		time.Sleep(time.Millisecond)
		s2 := time.Now()
		g := b.Add(context.Background(), 3)
		g.Await(nil)
		if d := time.Since(s2); d != DefaultBatchLinger {
			t.Fatalf("second batch after %v", d)
		}
		if got := r.get(); len(got) != 2 || !slices.Equal(got[0], []int{1, 2}) || !slices.Equal(got[1], []int{3}) {
			t.Fatalf("batches %v", got)
		}
	})
}

func TestBatcherFlushErrorAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := recorder{fail: func(b []int) error {
			if b[0] == 0 {
				return errBoom
			}
			if b[0] == 2 {
				panic("flush")
			}
			return nil
		}}
		b := NewBatcher(r.flush, BatcherOptions[int]{MaxItems: 2, Linger: -1})
		ctx := context.Background()
		f0 := b.Add(ctx, 0)
		b.Add(ctx, 1)
		f2 := b.Add(ctx, 2)
		b.Add(ctx, 3)
		f4 := b.Add(ctx, 4)
		fl := b.Flush()
		if fl != f4 {
			t.Fatal("Flush must return the newest batch's future")
		}
		if _, err := f0.Await(nil); err != errBoom {
			t.Fatalf("failed batch = %v", err)
		}
		var pe *PanicError
		if _, err := f2.Await(nil); !errors.As(err, &pe) {
			t.Fatalf("panicking flush = %v", err)
		}
		if _, err := fl.Await(nil); err != nil {
			t.Fatalf("batch after failures = %v", err)
		}
		b.Close().Await(nil)
		if _, err := b.Add(ctx, 9).Await(nil); err != ErrClosed {
			t.Fatalf("Add after Close = %v", err)
		}
		if _, err := b.Close().Await(nil); err != nil {
			t.Fatal("second Close")
		}
	})
}

func TestBatcherOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		flushed := make(chan []int, 10)
		flush := func(b []int) error { <-gate; flushed <- slices.Clone(b); return nil }
		ctx := context.Background()

		fail := NewBatcher(flush, BatcherOptions[int]{MaxItems: 1, MaxPending: 2, Linger: -1})
		fail.Add(ctx, 1)
		fail.Add(ctx, 2)
		if _, err := fail.Add(ctx, 3).Await(nil); err != ErrQueueFull {
			t.Fatalf("over pending = %v", err)
		}
		if _, err := fail.Add(ctx, 3).Await(nil); err != ErrQueueFull {
			t.Fatalf("over pending = %v", err)
		}

		wait := NewBatcher(flush, BatcherOptions[int]{MaxItems: 1, MaxPending: 2, Linger: -1, Overflow: OverflowWait, Size: func(v int) int { return v }})
		if _, err := wait.Add(ctx, 3).Await(nil); err != ErrTooLarge {
			t.Fatalf("item above MaxPending = %v", err)
		}
		wait.Add(ctx, 1)
		wait.Add(ctx, 1)
		added := make(chan *Future[struct{}], 1)
		go func() { added <- wait.Add(ctx, 2) }()
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		start := time.Now()
		if _, err := wait.Add(tctx, 1).Await(nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("timed wait = %v after %v", err, time.Since(start))
		}
		synctest.Wait()
		if len(added) != 0 {
			t.Fatal("Add did not wait for room")
		}
		close(gate) // flushes free room: the waiting adder gets in
		f := <-added
		if _, err := f.Await(nil); err != nil {
			t.Fatal(err)
		}
		fail.Close().Await(nil)
		wait.Close().Await(nil)
		close(flushed)
		var got []int
		for b := range flushed {
			got = append(got, b...)
		}
		sort.Ints(got)
		if !slices.Equal(got, []int{1, 1, 1, 2, 2}) {
			t.Fatalf("flushed %v", got)
		}
	})
}

func TestBatcherCloseWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		b := NewBatcher(func([]int) error { <-gate; return nil }, BatcherOptions[int]{MaxItems: 1, MaxPending: 1, Linger: -1, Overflow: OverflowWait})
		ctx := context.Background()
		first := b.Add(ctx, 1)
		errc := make(chan error, 2)
		for range 2 {
			go func() { _, err := b.Add(ctx, 2).Await(nil); errc <- err }()
		}
		synctest.Wait()
		closed := b.Close()
		for range 2 {
			if err := <-errc; err != ErrClosed {
				t.Fatalf("waiting adder after Close = %v", err)
			}
		}
		close(gate)
		closed.Await(nil)
		if _, err, ok := first.Result(); !ok || err != nil {
			t.Fatal("item accepted before Close was not flushed")
		}
	})
}

func TestBatcherConcurrentNothingLost(t *testing.T) {
	checkGoroutines(t)
	var mu sync.Mutex
	var got []int
	b := NewBatcher(func(batch []int) error {
		if len(batch) > 50 {
			t.Errorf("batch of %d", len(batch))
		}
		mu.Lock()
		got = append(got, batch...)
		mu.Unlock()
		return nil
	}, BatcherOptions[int]{MaxItems: 50, MaxPending: 200, Overflow: OverflowWait})
	const producers, per = 16, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err, ok := b.Add(context.Background(), p*per+i).Result(); ok && err != nil {
					t.Errorf("Add: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := await(t, b.Close()); err != nil {
		t.Fatal(err)
	}
	sort.Ints(got)
	if len(got) != producers*per {
		t.Fatalf("flushed %d items, added %d", len(got), producers*per)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d = %d: lost or duplicated", i, v)
		}
	}
}

// FuzzBatcher adds items of fuzzed sizes with fuzzed flushes and checks that
// every batch respects the limits and that the concatenation of the batches
// is exactly the items added, in order.
func FuzzBatcher(f *testing.F) {
	f.Add(uint8(3), uint8(10), []byte{1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 1, 1})
	f.Add(uint8(1), uint8(1), []byte{5, 0, 5, 0})
	f.Add(uint8(100), uint8(255), []byte{200, 100, 60, 0, 255, 1})
	f.Fuzz(func(t *testing.T, maxItems, maxBytes uint8, items []byte) {
		mi, mb := int(maxItems)+1, int(maxBytes)+1
		var got [][]byte
		b := NewBatcher(func(batch []byte) error {
			got = append(got, slices.Clone(batch))
			return nil
		}, BatcherOptions[byte]{MaxItems: mi, MaxBytes: mb, Linger: -1, MaxPending: 1 << 20, Size: func(v byte) int { return int(v) }})
		var want []byte
		for _, it := range items {
			if it == 0 {
				b.Flush()
				continue
			}
			want = append(want, it)
			if _, err, ok := b.Add(context.Background(), it).Result(); ok && err != nil {
				t.Fatal(err)
			}
		}
		b.Close().Await(nil)
		var all []byte
		for _, batch := range got {
			if len(batch) == 0 || len(batch) > mi {
				t.Fatalf("batch of %d items (max %d)", len(batch), mi)
			}
			sum := 0
			for _, v := range batch {
				sum += int(v)
			}
			if sum > mb && len(batch) > 1 {
				t.Fatalf("batch %v of %d bytes (max %d)", batch, sum, mb)
			}
			all = append(all, batch...)
		}
		if !slices.Equal(all, want) {
			t.Fatalf("flushed %v, added %v", all, want)
		}
	})
}

func TestBatcherOverflowWaitOnLoopFailsAtOnce(t *testing.T) {
	checkGoroutines(t)
	gate := make(chan struct{})
	flush := func([]int) error { <-gate; return nil }
	b := NewBatcher(flush, BatcherOptions[int]{MaxItems: 1, MaxPending: 1, Linger: -1, Overflow: OverflowWait})
	ctx := context.Background()
	first := b.Add(ctx, 1) // fills the pending limit
	var err error
	onLoopGoroutine(t, func() { _, err, _ = b.Add(ctx, 2).Result() })
	if err != ErrOnLoop {
		t.Fatalf("Add at the limit on a loop = %v, want ErrOnLoop", err)
	}
	close(gate)
	if _, err := await(t, first); err != nil {
		t.Fatal(err)
	}
	// The refused Add reserved nothing: an Add off the loop gets in.
	if _, err := await(t, b.Add(ctx, 3)); err != nil {
		t.Fatalf("Add after the refused one = %v", err)
	}
	if _, err := await(t, b.Close()); err != nil {
		t.Fatal(err)
	}
}
