package timer_test

import (
	"fmt"

	"github.com/ioloop/ioloop/internal/timer"
)

// Timers fire in deadline order; a cancelled one never does.
func ExampleHeap() {
	var h timer.Heap
	for _, at := range []int64{30, 10, 20} {
		at := at
		h.Schedule(at, 0, func() { fmt.Println("fired", at) })
	}
	c := h.Schedule(15, 0, func() { fmt.Println("cancelled timer fired") })
	h.Cancel(c)
	for {
		t, ok := h.PopExpired(25)
		if !ok {
			break
		}
		t.Run()
	}
	fmt.Println("pending:", h.Len())
	// Output:
	// fired 10
	// fired 20
	// pending: 1
}
