package onloop

import (
	"sync"
	"testing"
)

func TestCurrent(t *testing.T) {
	if Current() {
		t.Fatal("Current is true before any Enter")
	}
	id := Enter()
	if id == 0 {
		t.Fatal("Enter returned 0")
	}
	if !Current() {
		t.Fatal("Current is false on the goroutine that entered")
	}
	var other bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		other = Current()
	}()
	wg.Wait()
	if other {
		t.Fatal("Current is true on another goroutine")
	}
	Leave(id)
	if Current() {
		t.Fatal("Current is true after Leave")
	}
	Leave(id) // a second Leave does nothing
	if count.Load() != 0 {
		t.Fatalf("count = %d after Leave, want 0", count.Load())
	}
}

func TestIDDistinct(t *testing.T) {
	ids := make(chan uint64, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); ids <- ID() }()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{ID(): true}
	for id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("goroutine id %d is zero or repeated", id)
		}
		seen[id] = true
	}
}

func TestIDAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = ID() }); n != 0 {
		t.Fatalf("ID allocates %v times, want 0", n)
	}
}

func TestSelfDistinctAndStable(t *testing.T) {
	me := Self()
	if me == 0 || Self() != me {
		t.Fatalf("Self %x, then %x: want a stable non-zero identity", me, Self())
	}
	const n = 8
	selves := make(chan uintptr, n)
	var wg, ready sync.WaitGroup
	ready.Add(n)
	hold := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			selves <- Self()
			ready.Done()
			<-hold // all alive at once: their identities must differ
		}()
	}
	ready.Wait()
	close(hold)
	wg.Wait()
	close(selves)
	seen := map[uintptr]bool{me: true}
	for s := range selves {
		if s == 0 || seen[s] {
			t.Fatalf("identity %x is zero or shared by two live goroutines", s)
		}
		seen[s] = true
	}
	if n := testing.AllocsPerRun(100, func() { _ = Current() }); n != 0 {
		t.Fatalf("Current allocates %v times", n)
	}
}
