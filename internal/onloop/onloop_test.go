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
		t.Fatal("ID returned 0")
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
