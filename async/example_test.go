package async_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ioloop/ioloop/async"
)

func ExampleFuture() {
	p := async.NewPromise[string](nil)
	f := p.Future()
	upper := async.Map(f, strings.ToUpper)
	go p.Resolve("hello")

	v, err := upper.Await(context.Background())
	fmt.Println(v, err)
	fmt.Println(p.Resolve("again")) // already settled
	// Output:
	// HELLO <nil>
	// false
}

func ExampleAll() {
	pool := async.NewPool(3, 3)
	defer pool.Close()
	fetch := func(name string) *async.Future[string] {
		return async.Go(context.Background(), pool, func(context.Context) (string, error) {
			return "data from " + name, nil
		})
	}
	all := async.All(fetch("a"), fetch("b"), fetch("c"))
	vals, err := async.WithTimeout(all, time.Second).Await(context.Background())
	fmt.Println(strings.Join(vals, ", "), err)
	// Output:
	// data from a, data from b, data from c <nil>
}

func ExampleAny() {
	first := async.Any(
		async.Failed[int](errors.New("backend down")),
		async.Resolved(42),
	)
	v, err := first.Await(context.Background())
	fmt.Println(v, err)
	// Output:
	// 42 <nil>
}

func ExampleCatch() {
	f := async.Catch(async.Failed[int](errors.New("miss")), func(err error) (int, error) {
		return -1, nil // fall back to a default
	})
	v, err := f.Await(context.Background())
	fmt.Println(v, err)
	// Output:
	// -1 <nil>
}

func ExampleBatcher() {
	b := async.NewBatcher(func(batch []string) error {
		fmt.Println("flush", batch)
		return nil
	}, async.BatcherOptions[string]{MaxItems: 2})
	ctx := context.Background()
	b.Add(ctx, "a")
	last := b.Add(ctx, "b") // fills the batch
	last.Await(ctx)
	b.Add(ctx, "c")
	b.Close().Await(ctx) // flushes the rest
	// Output:
	// flush [a b]
	// flush [c]
}

func ExampleQueue() {
	q := async.NewPriorityQueue(8, func(a, b int) bool { return a < b })
	for _, v := range []int{5, 2, 8} {
		q.TryPut(v)
	}
	q.Shutdown()
	ctx := context.Background()
	for {
		v, err := q.Get(ctx).Await(ctx)
		if errors.Is(err, async.ErrClosed) {
			break
		}
		fmt.Println(v)
	}
	// Output:
	// 2
	// 5
	// 8
}

func ExampleSemaphore() {
	s := async.NewSemaphore(2)
	ctx := context.Background()
	s.Acquire(ctx, 2).Await(ctx)
	third := s.Acquire(ctx, 1)
	_, _, ok := third.Result()
	fmt.Println("granted while full:", ok)
	s.Release(2)
	_, err := third.Await(ctx)
	fmt.Println("granted after release:", err == nil)
	// Output:
	// granted while full: false
	// granted after release: true
}

func ExampleGo() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := async.Go(ctx, nil, func(ctx context.Context) (int, error) {
		return 6 * 7, nil
	})
	v, err := f.Await(ctx)
	fmt.Println(v, err)
	// Output:
	// 42 <nil>
}

func ExampleMapOrdered() {
	in := func(yield func(int) bool) {
		for i := 1; i <= 4; i++ {
			if !yield(i) {
				return
			}
		}
	}
	square := func(_ context.Context, v int) (int, error) { return v * v, nil }
	for r, err := range async.MapOrdered(context.Background(), in, 2, square) {
		fmt.Println(r, err)
	}
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// 16 <nil>
}

func ExampleTaskGroup() {
	g := async.NewTaskGroup(context.Background(), 2)
	for i := range 3 {
		g.Go(func(ctx context.Context) error {
			if i == 1 {
				return errors.New("task 1 failed")
			}
			return nil
		})
	}
	_, err := g.Wait().Await(context.Background())
	fmt.Println(err)
	// Output:
	// task 1 failed
}
