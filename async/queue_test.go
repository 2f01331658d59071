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

func drainTry[T any](t *testing.T, q *Queue[T]) []T {
	t.Helper()
	var out []T
	for {
		v, err := q.TryGet()
		if err != nil {
			if err != ErrQueueEmpty && err != ErrClosed {
				t.Fatalf("TryGet: %v", err)
			}
			return out
		}
		out = append(out, v)
	}
}

func TestQueueOrders(t *testing.T) {
	in := []int{5, 1, 4, 2, 3, 9, 0, 7, 8, 6}
	cases := []struct {
		name string
		q    *Queue[int]
		want []int
	}{
		{name: "fifo", q: NewQueue[int](100), want: in},
		{name: "lifo", q: NewLIFOQueue[int](100), want: []int{6, 8, 7, 0, 9, 3, 2, 4, 1, 5}},
		{name: "priority", q: NewPriorityQueue(100, func(a, b int) bool { return a < b }), want: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range in {
				if err := c.q.TryPut(v); err != nil {
					t.Fatal(err)
				}
			}
			if c.q.Len() != len(in) {
				t.Fatalf("Len = %d", c.q.Len())
			}
			if got := drainTry(t, c.q); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestQueueFullPutWaitsAndIsAdmittedInOrder(t *testing.T) {
	checkGoroutines(t)
	q := NewQueue[int](2)
	ctx := context.Background()
	q.TryPut(1)
	q.TryPut(2)
	if err := q.TryPut(3); err != ErrQueueFull {
		t.Fatalf("TryPut on full = %v", err)
	}
	p3 := q.Put(ctx, 3)
	cctx, cancel := context.WithCancel(ctx)
	p4 := q.Put(cctx, 4)
	p5 := q.Put(ctx, 5)
	cancel()
	if _, err := await(t, p4); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put = %v", err)
	}
	if _, _, ok := p3.Result(); ok {
		t.Fatal("put admitted while full")
	}
	var got []int
	for range 4 {
		v, err := await(t, q.Get(ctx))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	await(t, p3)
	await(t, p5)
	if !slices.Equal(got, []int{1, 2, 3, 5}) {
		t.Fatalf("got %v: a withdrawn put leaked in or order broke", got)
	}
}

func TestQueueGetWaitsAndHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue[string](4)
		g1 := q.Get(context.Background())
		tctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		g2 := q.Get(tctx)
		g3 := q.Get(context.Background())
		if _, err := g2.Await(nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("timed get = %v", err)
		}
		q.Put(context.Background(), "a")
		q.TryPut("b")
		q.TryPut("c")
		if v, err := g1.Await(nil); v != "a" || err != nil {
			t.Fatalf("g1 = (%q, %v)", v, err)
		}
		if v, err := g3.Await(nil); v != "b" || err != nil {
			t.Fatalf("g3 = (%q, %v): the withdrawn getter took an item", v, err)
		}
		if v, err := q.TryGet(); v != "c" || err != nil {
			t.Fatalf("TryGet = (%q, %v)", v, err)
		}
	})
}

func TestQueueJoinTaskDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue[int](8)
		if _, err, ok := q.Join(context.Background()).Result(); !ok || err != nil {
			t.Fatal("Join on idle queue not resolved")
		}
		if err := q.TaskDone(); err != ErrTaskDone {
			t.Fatalf("TaskDone on idle = %v", err)
		}
		g := q.Get(context.Background()) // handed off directly, still counted
		for i := range 3 {
			q.TryPut(i)
		}
		j := q.Join(context.Background())
		await(t, g)
		// 0 went straight to the waiting getter; 1 and 2 are held. All three
		// count as unfinished.
		for range 2 {
			if _, err := q.TryGet(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			q.TaskDone()
			synctest.Wait()
			if _, _, ok := j.Result(); ok {
				t.Fatalf("Join resolved after %d of 3 TaskDone", i+1)
			}
		}
		q.TaskDone()
		if _, err := j.Await(nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestQueueShutdownWakesWaitersLosesNothing(t *testing.T) {
	checkGoroutines(t)
	ctx := context.Background()
	q := NewQueue[int](2)
	q.TryPut(1)
	q.TryPut(2)
	blockedPut := q.Put(ctx, 3)
	q.Shutdown()
	if _, err := await(t, blockedPut); err != ErrClosed {
		t.Fatalf("blocked put after Shutdown = %v", err)
	}
	if _, err := await(t, q.Put(ctx, 4)); err != ErrClosed {
		t.Fatalf("put after Shutdown = %v", err)
	}
	if err := q.TryPut(4); err != ErrClosed {
		t.Fatalf("TryPut after Shutdown = %v", err)
	}
	if v, err := await(t, q.Get(ctx)); v != 1 || err != nil {
		t.Fatalf("Get = (%d, %v)", v, err)
	}
	if v, err := q.TryGet(); v != 2 || err != nil {
		t.Fatalf("TryGet = (%d, %v)", v, err)
	}
	if _, err := await(t, q.Get(ctx)); err != ErrClosed {
		t.Fatalf("Get on drained shut queue = %v", err)
	}
	if _, err := q.TryGet(); err != ErrClosed {
		t.Fatalf("TryGet on drained shut queue = %v", err)
	}

	q2 := NewQueue[int](2)
	getters := []*Future[int]{q2.Get(ctx), q2.Get(ctx)}
	q2.Shutdown()
	q2.Shutdown()
	for _, g := range getters {
		if _, err := await(t, g); err != ErrClosed {
			t.Fatalf("waiting getter after Shutdown = %v", err)
		}
	}
}

func TestQueueMPMCNothingLostOrDuplicated(t *testing.T) {
	checkGoroutines(t)
	for _, q := range []*Queue[int]{NewQueue[int](8), NewLIFOQueue[int](8), NewPriorityQueue(8, func(a, b int) bool { return a > b })} {
		const producers, consumers, per = 8, 8, 300
		ctx := context.Background()
		var pw, cw sync.WaitGroup
		var mu sync.Mutex
		var got []int
		for c := range consumers {
			cw.Add(1)
			go func() {
				defer cw.Done()
				var mine []int
				for {
					var v int
					var err error
					if c%2 == 0 {
						v, err = q.Get(ctx).Await(nil)
					} else if v, err = q.TryGet(); err == ErrQueueEmpty {
						v, err = q.Get(ctx).Await(nil)
					}
					if err == ErrClosed {
						break
					}
					if err != nil {
						t.Errorf("get: %v", err)
						return
					}
					mine = append(mine, v)
				}
				mu.Lock()
				got = append(got, mine...)
				mu.Unlock()
			}()
		}
		for p := range producers {
			pw.Add(1)
			go func() {
				defer pw.Done()
				for i := range per {
					v := p*per + i
					if i%2 == 0 {
						if _, err := q.Put(ctx, v).Await(nil); err != nil {
							t.Errorf("put: %v", err)
						}
					} else if err := q.TryPut(v); err == ErrQueueFull {
						if _, err := q.Put(ctx, v).Await(nil); err != nil {
							t.Errorf("put: %v", err)
						}
					}
				}
			}()
		}
		pw.Wait()
		q.Shutdown()
		cw.Wait()
		sort.Ints(got)
		if len(got) != producers*per {
			t.Fatalf("%v: got %d items, want %d", q.Order(), len(got), producers*per)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("%v: item %d is %d: lost or duplicated", q.Order(), i, v)
			}
		}
	}
}

func TestQueueDefaults(t *testing.T) {
	q := NewQueue[int](0)
	if q.Cap() != DefaultQueueCapacity || q.Order() != FIFO {
		t.Fatalf("Cap=%d Order=%v", q.Cap(), q.Order())
	}
	for i := range DefaultQueueCapacity {
		if err := q.TryPut(i); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if err := q.TryPut(0); err != ErrQueueFull {
		t.Fatalf("past capacity: %v", err)
	}
	got := drainTry(t, q)
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d = %d after growth", i, v)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("nil less accepted")
		}
	}()
	NewPriorityQueue[int](1, nil)
}

// FuzzQueue drives a small queue with a sequence of operations and checks it
// against a plain slice model for every order.
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 200, 201, 4, 202, 203, 204, 205})
	f.Add([]byte{1, 0, 1, 0, 255, 9, 8, 7, 128, 129, 130, 131, 132})
	f.Add([]byte{2, 50, 40, 30, 20, 10, 140, 150, 160, 170, 180, 60})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		order := Order(ops[0] % 3)
		const capacity = 5
		var q *Queue[byte]
		switch order {
		case FIFO:
			q = NewQueue[byte](capacity)
		case LIFO:
			q = NewLIFOQueue[byte](capacity)
		default:
			q = NewPriorityQueue(capacity, func(a, b byte) bool { return a < b })
		}
		var model []byte
		for _, op := range ops[1:] {
			if op < 128 {
				err := q.TryPut(op)
				if len(model) == capacity {
					if err != ErrQueueFull {
						t.Fatalf("TryPut on full = %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("TryPut = %v", err)
				}
				model = append(model, op)
				continue
			}
			v, err := q.TryGet()
			if len(model) == 0 {
				if err != ErrQueueEmpty {
					t.Fatalf("TryGet on empty = (%d, %v)", v, err)
				}
				continue
			}
			var want byte
			switch order {
			case FIFO:
				want, model = model[0], model[1:]
			case LIFO:
				want, model = model[len(model)-1], model[:len(model)-1]
			default:
				i := 0
				for j := range model {
					if model[j] < model[i] {
						i = j
					}
				}
				want = model[i]
				model = slices.Delete(model, i, i+1)
			}
			if err != nil || v != want {
				t.Fatalf("%v: TryGet = (%d, %v), want %d", order, v, err, want)
			}
			if q.Len() != len(model) {
				t.Fatalf("Len = %d, model %d", q.Len(), len(model))
			}
		}
	})
}
