package mailbox_test

import (
	"fmt"

	"github.com/ioloop/ioloop/internal/mailbox"
)

// Tasks posted from any goroutine run in order when the owner drains; only
// a consumer that announced a sleep is woken, once.
func ExampleMailbox() {
	wakes := 0
	m := mailbox.New(0, func() { wakes++ })
	fmt.Println("may sleep:", m.Sleep())
	for i := range 3 {
		m.Post(func() { fmt.Println("task", i) })
	}
	m.Awake()
	ran := m.Drain(0, nil)
	fmt.Println("ran", ran, "wakes", wakes)
	// Output:
	// may sleep: true
	// task 0
	// task 1
	// task 2
	// ran 3 wakes 1
}
